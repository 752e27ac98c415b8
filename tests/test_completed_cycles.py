"""A cycle of a batch whose inputs are those its completed cycle ended with does nothing
(ops/completed_cycles.py); anything different, and it runs. The loop's use of it, on a real
lakehouse: tests/test_loop.py::test_rerunning_a_cycle_changes_nothing."""

from __future__ import annotations

import json
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


def test_a_stage_is_done_while_what_it_depends_on_is_as_it_left_it(tmp_path):
    """A cycle cut short resumes, and a change re-runs only the stages it reaches: each stage is matched
    on its own inputs (scoped to it by the loop) and on the outcome of the stages before it."""
    catalog = catalog_at(tmp_path / "completed_cycles.json")
    start = replace(inputs(tmp_path / "landing"), aliases={})
    ingested = replace(start, tables={"silver_flights": 4})
    nothing = dict.fromkeys(OUTCOME, None) | {"promoted": False, "awaiting_approval": False}
    scored = {**nothing, "scored_by": "1", "deployed": "1"}
    cc.record_stage(catalog, "2013-05", "ingestion", ingested, nothing, nothing)
    scoring = replace(inputs(tmp_path / "landing"), tables={"gold_features": 1, "ml_predictions": 0})
    cc.record_stage(catalog, "2013-05", "inference", scoring, nothing, scored)

    assert cc.finished_stage(catalog, "2013-05", "ingestion", ingested, nothing)["outcome"] == nothing
    entry = cc.finished_stage(catalog, "2013-05", "inference", scoring, nothing)
    assert entry["outcome"] == scored and entry["finished_at"]
    assert cc.finished_stage(catalog, "2013-05", "features", ingested, nothing) is None  # never finished
    assert cc.finished_stage(catalog, "2013-06", "ingestion", ingested, nothing) is None  # another batch
    # anything it depends on changed since: it runs
    for changed in (
        start,  # its table written since (e.g. by a stage cut off after a commit)
        replace(scoring, tables={"gold_features": 1, "ml_predictions": 1}),
        replace(scoring, aliases={"champion": "3"}),
        replace(scoring, code="abc123 ffff"),
        replace(scoring, parameters=cc.parameters_digest({"monitoring": {"alpha": 0.05}})),
    ):
        stage = "ingestion" if changed is start else "inference"
        assert cc.finished_stage(catalog, "2013-05", stage, changed, nothing) is None, changed
    # the stages before it reached another outcome in this cycle (it is given that outcome): it runs
    assert (
        cc.finished_stage(catalog, "2013-05", "inference", scoring, {**nothing, "decision": "alert"}) is None
    )

    # a completed cycle keeps them: a later change re-runs only the stages it reaches
    cc.record(catalog, "2013-05", scoring, scored)
    assert cc.finished_stage(catalog, "2013-05", "ingestion", ingested, nothing) is not None
    # a stage run again replaces its record
    cc.record_stage(catalog, "2013-05", "ingestion", start, nothing, nothing)
    assert cc.finished_stage(catalog, "2013-05", "ingestion", ingested, nothing) is None
    assert cc.finished_stage(catalog, "2013-05", "ingestion", start, nothing) is not None


def test_a_record_of_the_older_form_only_means_every_stage_runs(tmp_path):
    path = tmp_path / "completed_cycles.json"
    old = {"stage": "ingestion", "finished_at": "x", "outcome": OUTCOME, "inputs": {}}
    path.write_text(json.dumps({"2013-05": {"stages": [old]}}))  # a list, before stages were by name
    catalog = catalog_at(path)
    assert cc.finished_stage(catalog, "2013-05", "ingestion", inputs(tmp_path / "landing"), OUTCOME) is None
    cc.record_stage(catalog, "2013-05", "features", inputs(tmp_path / "landing"), OUTCOME, OUTCOME)
    assert (
        cc.finished_stage(catalog, "2013-05", "features", inputs(tmp_path / "landing"), OUTCOME) is not None
    )
