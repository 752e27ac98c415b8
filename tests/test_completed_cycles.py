"""A cycle of a batch whose inputs are those its completed cycle ended with does nothing
(ops/completed_cycles.py); anything different, and it runs. The loop's use of it, on a real
lakehouse: tests/test_loop.py::test_rerunning_a_cycle_changes_nothing."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pandas as pd
from click.testing import CliRunner
from kedro.io import DataCatalog
from kedro_datasets.json import JSONDataset

from lakehouse_mlops.framework.landing import write_landing_file
from lakehouse_mlops.ops import completed_cycles as cc

OUTCOME = {
    "decision": "retrain",
    "scored_by": "1",
    "deployed": "2",
    "retrained_version": "2",
    "promoted": True,
    "awaiting_approval": False,
}


def catalog_at(path: Path) -> DataCatalog:
    return DataCatalog({"loop_completed_cycles": JSONDataset(filepath=str(path))})


def inputs(landing: Path) -> cc.CycleInputs:
    return cc.CycleInputs(
        landing=cc.landing_listing(str(landing)),
        tables={"silver_flights": 3, "ml_predictions": None},
        parameters=cc.parameters_digest({"monitoring": {"alpha": 0.01}, "batch": ["2013-05"]}),
        aliases={"champion": "2"},
        code="abc123 0000",
    )


def test_the_same_inputs_give_the_recorded_outcome_and_any_change_runs_the_cycle(tmp_path):
    landing = tmp_path / "landing"
    frame = pd.DataFrame({"a": [1, 2]})
    write_landing_file(frame, landing / "flights/2013-05/flights_2013-05.csv")
    catalog = catalog_at(tmp_path / "completed_cycles.json")
    assert cc.recorded_outcome(catalog, "2013-05", inputs(landing)) is None  # nothing recorded yet

    cc.record(catalog, "2013-05", inputs(landing), OUTCOME)
    found = cc.recorded_outcome(catalog, "2013-05", inputs(landing))
    assert found["outcome"] == OUTCOME and found["completed_at"]
    assert cc.recorded_outcome(catalog, "2013-06", inputs(landing)) is None  # another batch

    # landing the same bytes again leaves the file (and its time) as it was: still nothing new
    os.utime(landing / "flights/2013-05/flights_2013-05.csv", (1_000_000_000, 1_000_000_000))
    cc.record(catalog, "2013-05", inputs(landing), OUTCOME)
    write_landing_file(frame, landing / "flights/2013-05/flights_2013-05.csv")
    assert cc.recorded_outcome(catalog, "2013-05", inputs(landing)) is not None

    same = inputs(landing)
    changed = [
        replace(same, tables={**same.tables, "silver_flights": 4}),
        replace(same, tables={**same.tables, "ml_predictions": 0}),
        replace(same, parameters=cc.parameters_digest({"monitoring": {"alpha": 0.05}, "batch": ["2013-05"]})),
        replace(same, aliases={"champion": "1"}),
        replace(same, code="abc123 ffff"),
    ]
    for different in changed:
        assert cc.recorded_outcome(catalog, "2013-05", different) is None, different
    write_landing_file(frame.assign(a=[1, 3]), landing / "flights/2013-05/flights_2013-05.csv")
    assert cc.recorded_outcome(catalog, "2013-05", inputs(landing)) is None  # rewritten
    cc.record(catalog, "2013-05", inputs(landing), OUTCOME)
    write_landing_file(frame, landing / "weather/2013-05/late.csv")
    assert cc.recorded_outcome(catalog, "2013-05", inputs(landing)) is None  # a new file anywhere


def test_an_unreadable_record_only_means_the_cycle_runs(tmp_path):
    path = tmp_path / "completed_cycles.json"
    path.write_text('{"2013-05": {"completed_at": ')  # a write cut short
    catalog = catalog_at(path)
    assert cc.recorded_outcome(catalog, "2013-05", inputs(tmp_path / "landing")) is None
    cc.record(catalog, "2013-05", inputs(tmp_path / "landing"), OUTCOME)  # and the next one rewrites it
    assert cc.recorded_outcome(catalog, "2013-05", inputs(tmp_path / "landing"))["outcome"] == OUTCOME


def test_kedro_cycle_full_runs_every_stage(monkeypatch):
    from lakehouse_mlops.ops import cli as commands
    from lakehouse_mlops.ops.loop import CycleResult, Loop

    seen = {}

    def cycle(self, batch_id, echo=print):
        seen[batch_id] = self.full
        return CycleResult(batch_id)

    monkeypatch.setattr(Loop, "cycle", cycle)
    for args, full in ((["2013-05"], False), (["2013-06", "--full"], True)):
        result = CliRunner().invoke(commands.cli, ["cycle", *args, "--no-land"])
        assert result.exit_code == 0, result.output
    assert seen == {"2013-05": False, "2013-06": True}


STAGES = ["ingestion", "features", "inference", "monitoring"]


def test_a_cycle_cut_short_resumes_after_the_last_stage_that_left_things_as_they_are(tmp_path):
    catalog = catalog_at(tmp_path / "completed_cycles.json")
    start = inputs(tmp_path / "landing")
    after_ingestion = replace(start, tables={**start.tables, "silver_flights": 4})
    after_features = replace(after_ingestion, tables={**after_ingestion.tables, "gold_features": 0})
    scored = {**OUTCOME, "scored_by": "1"}
    done = cc.record_stage(catalog, "2013-05", [], "ingestion", after_ingestion, OUTCOME)
    done = cc.record_stage(catalog, "2013-05", done, "features", after_features, scored)
    assert [e["stage"] for e in done] == ["ingestion", "features"]

    def resumed(batch: str, found: cc.CycleInputs, stages: list[str] = STAGES) -> list[str]:
        return [e["stage"] for e in cc.finished_stages(catalog, batch, stages, found)]

    assert resumed("2013-05", after_features) == ["ingestion", "features"]
    assert cc.finished_stages(catalog, "2013-05", STAGES, after_features)[-1]["outcome"] == scored
    assert resumed("2013-05", after_ingestion) == ["ingestion"]
    # a stage cut off after a commit, or anything changed since: every stage runs
    for changed in (
        start,
        replace(after_features, tables={**after_features.tables, "ml_predictions": 0}),
        replace(after_features, aliases={"champion": "3"}),
        replace(after_features, code="abc123 ffff"),
    ):
        assert resumed("2013-05", changed) == [], changed
    assert resumed("2013-06", after_features) == []  # another batch
    assert resumed("2013-05", after_features, ["features", "ingestion"]) == []  # stages reordered

    # a cycle that starts over replaces them; a completed cycle leaves none to resume from
    cc.record_stage(catalog, "2013-05", [], "ingestion", after_features, OUTCOME)
    assert resumed("2013-05", after_features) == ["ingestion"]
    cc.record(catalog, "2013-05", after_features, OUTCOME)
    assert resumed("2013-05", after_features) == []
