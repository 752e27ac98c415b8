"""`kedro maintain`: compaction and VACUUM never break lineage (the guard), and what the catalog
declares for it is checked when the catalog loads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from kedro.io.core import DatasetError
from mlflow.tracking import MlflowClient

from lakehouse_mlops.framework import model_registry as registry
from lakehouse_mlops.framework.datasets import DeltaSparkDataset
from lakehouse_mlops.framework.maintenance import RETENTION_CHECK, guard_hours, guarded_properties
from lakehouse_mlops.framework.usecase import parse_usecase
from lakehouse_mlops.ops import operations
from lakehouse_mlops.pipelines.monitoring.nodes import reference_profiles, reference_window
from tests.conftest import project_parameters
from tests.small_lakehouse import copy_own_lakehouse, make_loop

PARAMS = project_parameters()
MODEL = parse_usecase(PARAMS["usecase"]).model.registered_name


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


def maintain_with_zero_retention(project: Path) -> list:
    reports = make_loop(project).maintain(retain_hours=0, echo=print)
    assert any(r.optimized for r in reports) and sum(r.bytes_freed for r in reports) > 0, reports
    return reports


@pytest.mark.integration
def test_reproduce_and_monitoring_after_vacuum_with_zero_retention(
    replayed_lakehouse, tmp_path, unchecked_retention
):
    project = copy_own_lakehouse(replayed_lakehouse[0], tmp_path, MODEL)
    versions = registered_versions()
    assert len(versions) >= 2, versions
    reports = maintain_with_zero_retention(project)
    assert any(r.pinned_version is not None for r in reports)
    for version in versions:
        result = operations.reproduce(MODEL, version, PARAMS["training"], PARAMS["usecase"])
        assert abs(result["difference"]) < 0.005, result
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
    project = copy_own_lakehouse(replayed_lakehouse[0], tmp_path, MODEL)
    monkeypatch.setattr("lakehouse_mlops.ops.maintain.pinned_versions", lambda *_: {})
    maintain_with_zero_retention(project)
    with pytest.raises(Exception, match=r"FileNotFound|FILE_NOT_EXIST|does not exist"):
        operations.reproduce(MODEL, registered_versions()[0], PARAMS["training"], PARAMS["usecase"])


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
        assert done == [[MODEL]] and note == "1 table(s): files on disk 24 -> 1, 2048 bytes freed"
    else:
        assert done == [] and note == "skipped: maintenance.after_cycle is false"
    assert report.line().startswith("gold_x") and "guard: v3 pinned" in report.line()
