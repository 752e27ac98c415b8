"""`promotion.require_approval`: a passing candidate waits in `approved_pending`; `kedro approve` (after
the gate's re-check against the champion of now) or `kedro reject` decide, recorded in decisions.
Against the team server: tests/test_team_server.py (only ops may)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from mlflow.tracking import MlflowClient
from pyspark.sql import functions as F

from lakehouse_mlops.framework import model_registry as registry
from lakehouse_mlops.ops.cli import cli
from lakehouse_mlops.ops.loop import CycleResult, Loop
from lakehouse_mlops.ops.status import status_lines
from tests.conftest import project_parameters, run_pipeline
from tests.small_lakehouse import PROMOTION_BARS, copy_lakehouse

MODEL = project_parameters()["usecase"]["model"]["registered_name"]


def test_the_cycle_reports_a_candidate_awaiting_approval_and_does_not_rescore():
    result = CycleResult("2013-06", decision="retrain", scored_by="1", deployed="1", retrained_version="2")
    result.awaiting_approval = True
    assert "retrained version 2, awaiting approval (kedro approve 2 --reason ...)" in result.headline()
    assert "not promoted" not in result.headline()

    # no re-scoring: the loop's inference runs only for a new champion (Loop.run is never reached)
    assert Loop._rescore(None, "2013-06", result) == "skipped: version 2 is awaiting approval"


@pytest.mark.parametrize(("env", "required"), [("local", False), ("staging", True), ("prod", True)])
def test_approval_is_required_in_staging_and_prod_only(env, required):
    from lakehouse_mlops.platform.kedro_project import config_loader
    from tests.conftest import PROJECT_ROOT

    assert config_loader(PROJECT_ROOT, env)["parameters"]["promotion"]["require_approval"] is required


def register_copy_of(version: str) -> str:
    """A new version of the same model, with the same tags (lineage, windows): a candidate in seconds."""
    client = MlflowClient()
    source = client.get_model_version(MODEL, version)
    copy = client.create_model_version(MODEL, source.source, source.run_id)
    for key, value in source.tags.items():
        if not key.startswith(("gate.", "champion_since")):
            client.set_model_version_tag(MODEL, copy.version, key, value)
    return str(copy.version)


def write_gate(project: Path, beat_champion_by: float) -> None:
    gate = {**PROMOTION_BARS["usecase"]["gate"], "beat_champion_by": beat_champion_by}
    params = {"promotion": {"require_approval": True}, "usecase": {"gate": gate}}
    (project / "conf" / "local" / "parameters_approval.yml").write_text(yaml.safe_dump(params))


def kedro(project: Path, *args: str) -> str:
    result = CliRunner().invoke(cli, [*args, "--conf-source", str(project / "conf")])
    assert result.exit_code == 0, result.output
    return result.output


def approval_rows(spark, project: Path) -> list[dict]:
    decisions = spark.read.format("delta").load(str(project / "data" / "05_ml" / "decisions"))
    rows = decisions.filter(F.col("kind") == "approval").orderBy("decided_at").collect()
    return [r.asDict() for r in rows]


@pytest.mark.integration
def test_approve_and_reject_record_who_when_why_and_recheck_the_gate(
    small_champion_lakehouse, tmp_path, spark
):
    project = copy_lakehouse(small_champion_lakehouse, tmp_path)
    write_gate(project, beat_champion_by=-1.0)  # a tie with the champion passes
    candidate = register_copy_of("1")
    run_pipeline(project, "promotion", {"promotion": {"candidate_version": candidate}})
    assert registry.aliases(MODEL)[registry.PENDING] == candidate
    assert registry.alias_version(MODEL, registry.CHAMPION) == "1"
    assert registry.version_tags(MODEL, candidate)["gate.decision"] == "awaiting_approval"

    conf = ["--conf-source", str(project / "conf")]
    refused = CliRunner().invoke(cli, ["approve", "1", "--reason", "x", *conf])
    assert refused.exit_code == 1 and "version 1 is not awaiting approval" in refused.output

    kedro(project, "reject", candidate, "--reason", "release freeze")
    assert registry.PENDING not in registry.aliases(MODEL)
    run_pipeline(project, "promotion", {"promotion": {"candidate_version": candidate}})
    output = kedro(project, "approve", candidate, "--reason", "reviewed the gate report")
    assert f"champion 1 -> {candidate}" in output
    assert registry.alias_version(MODEL, registry.CHAMPION) == candidate
    assert registry.champion_history(MODEL)[-1]["reason"] == "approved: reviewed the gate report"

    # the re-check is against the champion of now: an identical model does not beat it by 0.01
    second = register_copy_of("1")
    run_pipeline(project, "promotion", {"promotion": {"candidate_version": second}})
    write_gate(project, beat_champion_by=0.01)
    kedro(project, "approve", second, "--reason", "looks fine")
    assert registry.alias_version(MODEL, registry.CHAMPION) == candidate
    assert registry.version_tags(MODEL, second)["gate.decision"] == "reject"

    rows = approval_rows(spark, project)
    assert [(r["candidate_version"], r["decision"]) for r in rows] == [
        (candidate, "reject"), (candidate, "promote"), (second, "reject"),
    ]
    assert rows[0]["reasons"] == ["rejected: release freeze"] and rows[0]["champion_version"] == "1"
    assert rows[1]["reasons"][0] == "approved: reviewed the gate report"
    assert rows[2]["reasons"][0] == "approved (looks fine) but the re-check rejects it"
    assert any("does not improve on the champion" in reason for reason in rows[2]["reasons"])
    assert all(r["decided_by"] == registry.actor() and r["decided_at"] is not None for r in rows)
    for row in rows:
        print(row["candidate_version"], row["champion_version"], row["decision"], row["decided_by"],
              row["decided_at"], row["reasons"])


def test_status_shows_the_version_awaiting_approval(monkeypatch):
    held = {registry.CHAMPION: "1", registry.CHALLENGER: "2", registry.PENDING: "2"}
    monkeypatch.setattr(registry, "aliases", lambda name: held)
    tags = {"gate.decision": "awaiting_approval"}
    monkeypatch.setattr(registry, "version_tags", lambda name, version: tags)
    monkeypatch.setattr(registry, "champion_history", lambda name: [])
    lines = list(status_lines(MODEL))
    assert f"approved_pending {MODEL} version 2" in lines
    assert "    gate.decision          awaiting_approval" in lines
