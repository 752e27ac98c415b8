"""`kedro maintain`: compaction and VACUUM never break lineage (the guard), and what the catalog
declares for it is checked when the catalog loads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from kedro.io.core import DatasetError
from mlflow.tracking import MlflowClient

from lakehouse_mlops.framework import model_registry as registry
from lakehouse_mlops.framework.datasets import DeltaSparkDataset
from lakehouse_mlops.framework.maintenance import RETENTION_CHECK, guard_hours, guarded_properties
from lakehouse_mlops.framework.usecase import parse_usecase
from lakehouse_mlops.ops import operations
from lakehouse_mlops.ops.cli import cli
from lakehouse_mlops.pipelines.monitoring.nodes import reference_profiles, reference_window
from tests.conftest import PROJECT_ROOT, project_parameters
from tests.small_lakehouse import copy_own_lakehouse, make_loop

PARAMS = project_parameters()
MODEL = parse_usecase(PARAMS["usecase"]).model.registered_name
USECASE = parse_usecase(PARAMS["usecase"]).name


# -- what the catalog declares -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("entry", "match"),
    [
        ({"maintenance": {"optimise_min_small_files": 3}}, r"key\(s\) \['optimise_min_small_files'\]"),
        ({"maintenance": {"optimize_min_small_files": 0}}, "optimize_min_small_files must be an integer"),
        ({"maintenance": {"small_file_mb": -1}}, "small_file_mb must be a positive number"),
        ({"maintenance": {"vacuum": "no"}}, "maintenance.vacuum must be true or false"),
        (
            {"table_properties": {"delta.deletedFileRetentionDuration": "7 days"}},
            r"delta.deletedFileRetentionDuration is '7 days'; write it as 'interval <N> hours\|days\|weeks'",
        ),
        ({"table_properties": {"delta.checkpointInterval": "ten"}}, "checkpointInterval is 'ten'"),
        ({"table_properties": {"delta.x": "a' b"}}, "values hold no quote"),
    ],
)
def test_bad_maintenance_entries_fail_when_the_catalog_loads(entry, match):
    with pytest.raises(DatasetError, match=match):
        DeltaSparkDataset(filepath="/tmp/table_x", **entry)


def test_guard_widens_retention_properties_to_the_oldest_pinned_version():
    now = datetime(2026, 1, 31, tzinfo=UTC)
    floor = guard_hours(now - timedelta(days=40, minutes=1), now)
    assert floor == 40 * 24 + 1 + 1  # the age rounded up to whole hours, plus the margin
    declared = {"delta.deletedFileRetentionDuration": "interval 7 days", "delta.checkpointInterval": "10"}
    changes = guarded_properties(declared, {}, floor)
    assert changes == {
        "delta.deletedFileRetentionDuration": "interval 48 days",  # floor (40 d 2 h) + declared 7 d, up
        "delta.logRetentionDuration": "interval 71 days",  # floor + Delta's default 30 d, up
        "delta.checkpointInterval": "10",
    }
    assert guarded_properties(declared, {}, None) == declared  # nothing pinned: the catalog's values
    assert guarded_properties(declared, changes, floor) == {}  # already wide enough: no commit


# -- the lineage guard, for real -----------------------------------------------------------------
@pytest.fixture
def unchecked_retention(spark):
    spark.conf.set(RETENTION_CHECK, "false")
    yield
    spark.conf.set(RETENTION_CHECK, "true")


def registered_versions() -> list[str]:
    return sorted((v.version for v in MlflowClient().search_model_versions(f"name='{MODEL}'")), key=int)


#: the tables the model versions pin (lineage) and read back (reproduce, the monitoring reference)
PINNED_TABLES = ["gold_features", "gold_labels"]


def own_small_lakehouse(template: Path, target: Path) -> Path:
    """A copy to vacuum, whose pinned tables are compacted from 2 small files on (catalog override)."""
    project = copy_own_lakehouse(template, target, MODEL)
    catalog = yaml.safe_load((PROJECT_ROOT / f"conf/base/usecases/{USECASE}/catalog.yml").read_text())
    entries = {n: {**catalog[n], "maintenance": {"optimize_min_small_files": 2}} for n in PINNED_TABLES}
    (project / "conf" / "local" / "catalog_maintenance.yml").write_text(yaml.safe_dump(entries))
    return project


@pytest.mark.integration
def test_reproduce_and_monitoring_after_vacuum_with_zero_retention(
    replayed_lakehouse, tmp_path, unchecked_retention
):
    project = own_small_lakehouse(replayed_lakehouse[0], tmp_path)
    versions = registered_versions()
    assert len(versions) >= 2, versions
    args = ["maintain", *PINNED_TABLES, "--retain-hours", "0", "--conf-source", str(project / "conf")]
    result = CliRunner().invoke(cli, args)
    print(result.output)
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line.split(" ")[0] in PINNED_TABLES]
    assert len(lines) == 2, result.output
    assert all("optimized, vacuum" in line and "guard: v0 pinned" in line for line in lines), lines
    for version in versions:
        reproduced = operations.reproduce(MODEL, version, PARAMS["training"], PARAMS["usecase"])
        print(reproduced)
        assert abs(reproduced["difference"]) < 0.005, reproduced
    oldest = versions[0]
    tags = registry.version_tags(MODEL, oldest)
    monitored = {"name": MODEL, "version": oldest, "batch_id": "x", "tags": tags}
    assert reference_window(monitored, parse_usecase(PARAMS["usecase"])).count() > 0
    profiles, rows = reference_profiles(None, monitored, PARAMS["usecase"], PARAMS["monitoring"])
    assert rows.count() > 0 and profiles.data


@pytest.mark.integration
def test_without_the_guard_the_same_vacuum_breaks_reproduce(
    replayed_lakehouse, tmp_path, unchecked_retention, monkeypatch
):
    project = own_small_lakehouse(replayed_lakehouse[0], tmp_path)
    monkeypatch.setattr("lakehouse_mlops.ops.maintain.pinned_versions", lambda *_: {})
    reports = make_loop(project).maintain(retain_hours=0, tables=PINNED_TABLES)
    assert all(r.optimized and r.pinned_version is None for r in reports) and len(reports) == 2
    assert sum(r.bytes_freed for r in reports) > 0
    with pytest.raises(Exception, match=r"FileNotFound|FILE_NOT_EXIST|does not exist") as failure:
        operations.reproduce(MODEL, registered_versions()[0], PARAMS["training"], PARAMS["usecase"])
    print(str(failure.value)[:1500])


@pytest.mark.parametrize("after_cycle", [False, True])
def test_the_cycle_ends_with_maintenance_only_when_conf_says_so(after_cycle, monkeypatch):
    from types import SimpleNamespace

    from lakehouse_mlops.framework.maintenance import TableReport
    from lakehouse_mlops.ops.loop import Loop

    done = []
    report = TableReport("gold_x", 12, 1, 24, 1, 2048, True, 168.0, 3)
    monkeypatch.setattr(
        "lakehouse_mlops.ops.maintain.maintain_lakehouse",
        lambda catalog, names, **_: done.append(names) or [report],
    )
    context = SimpleNamespace(catalog=None, params={"maintenance": {"after_cycle": after_cycle}})
    note = Loop._maintain(None, context, MODEL)
    if after_cycle:
        assert done == [[MODEL]] and note == "1 table(s): data files on disk 24 -> 1, 2048 bytes freed"
    else:
        assert done == [] and note == "skipped: maintenance.after_cycle is false"
    assert report.line().startswith("gold_x") and "guard: v3 pinned" in report.line()


@pytest.mark.parametrize("checked", ["true", "false"])
def test_a_retention_below_the_declared_one_needs_deltas_check_off(checked):
    from types import SimpleNamespace

    from lakehouse_mlops.framework.maintenance import MaintenanceError, _check_retention

    spark = SimpleNamespace(conf=SimpleNamespace(get=lambda key, default: checked))
    if checked == "true":
        with pytest.raises(MaintenanceError, match=r"VACUUM retention 0h is below .* \(168h\)"):
            _check_retention(spark, "gold_x", 0, 168)
    else:
        _check_retention(spark, "gold_x", 0, 168)
    _check_retention(spark, "gold_x", 168, 168)
