"""The stages of a cycle: their results, how they run in order (one summary line each, with the tables
each one changed), and the outcome reported when a cycle has nothing new to do."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from lakehouse_mlops.platform.tracking import check_tracking_server


@dataclass
class StageResult:
    stage: str
    status: str  # done | skipped | failed | not run
    seconds: float = 0.0
    summary: str = ""

    def line(self) -> str:
        return f"{self.stage:<11} {self.status:<8} {self.seconds:6.1f}s  {self.summary}"


@dataclass
class CycleResult:
    batch_id: str
    stages: list[StageResult] = field(default_factory=list)
    decision: str | None = None
    scored_by: str | None = None  # the version that first scored the batch (monitored on it)
    deployed: str | None = None  # the version whose scores stand at the end of the cycle
    retrained_version: str | None = None
    promoted: bool = False
    awaiting_approval: bool = False  # passed the gate, waits for `kedro approve` (require_approval)

    @property
    def ok(self) -> bool:
        return all(s.status != "failed" for s in self.stages)

    def headline(self) -> str:
        if not self.ok:
            failed = next(s for s in self.stages if s.status == "failed")
            return f"cycle {self.batch_id}: FAILED at {failed.stage}: {failed.summary}"
        action = f"decision {self.decision}"
        if self.retrained_version:
            action += f", retrained version {self.retrained_version}"
            if self.promoted:
                action += ", promoted to champion"
            elif self.awaiting_approval:
                action += f", awaiting approval (kedro approve {self.retrained_version} --reason ...)"
            else:
                action += ", not promoted"
        scored = f"scored by version {self.scored_by}"
        if self.deployed != self.scored_by:
            scored += f", re-scored by version {self.deployed}"
        return f"cycle {self.batch_id}: completed ({action}; {scored})"


def run_stages(
    steps: list[tuple[str, Callable[[], str | None]]],
    tables: dict,
    stages: list[StageResult],
    echo: Callable[[str], None],
    finished: Callable[[str], None] = lambda stage: None,
    resumed: Callable[[str], str | None] = lambda stage: None,
) -> None:
    """Run ``steps`` in order, one summary line each (status, seconds, note, tables changed), calling
    ``finished`` after each one that did not fail; after a failure the remaining steps are reported as
    not run. A step for which ``resumed`` gives a note (its work is there already) is reported as
    skipped with it, not run."""
    for stage, step in steps:
        if any(s.status == "failed" for s in stages):
            stages.append(StageResult(stage, "not run"))
            echo(stages[-1].line())
            continue
        note = resumed(stage)
        if note is not None:
            stages.append(StageResult(stage, "skipped", 0.0, note))
            echo(stages[-1].line())
            continue
        before = table_versions(tables)
        start = time.perf_counter()
        try:
            note = step()
            status = "skipped" if note and note.startswith("skipped") else "done"
        except Exception as exc:  # noqa: BLE001 - reported in the summary, the run stops
            note, status = f"{type(exc).__name__}: {exc}".splitlines()[0][:300], "failed"
        changed = changes(before, table_versions(tables))
        summary = "; ".join(p for p in [note, changed] if p)
        stages.append(StageResult(stage, status, time.perf_counter() - start, summary))
        echo(stages[-1].line())
        if status != "failed":
            finished(stage)


def report_recorded(recorded: dict, stages: list[str], result: CycleResult, echo) -> None:
    """A cycle that found the inputs its batch's completed cycle ended with: that cycle's outcome,
    every stage after landing skipped."""
    note = f"skipped: nothing new since this batch's cycle completed at {recorded['completed_at']}"
    for stage in stages:
        result.stages.append(StageResult(stage, "skipped", 0.0, note))
        echo(result.stages[-1].line())
    for key, value in recorded["outcome"].items():
        setattr(result, key, value)


def tracking_checked(steps: list[tuple[str, Callable[[], str | None]]], uri: str) -> list:
    """Each step preceded by the tracking server's check. Every stage opens a Kedro session, whose
    kedro-mlflow hook calls the server at once: a server gone since the cycle started would cost each
    stage ~4 minutes of MLflow's retries before it failed; this way the stage fails at once, naming it.
    """

    def checked(step: Callable[[], str | None]) -> Callable[[], str | None]:
        def run() -> str | None:
            check_tracking_server(uri)
            return step()

        return run

    return [(stage, checked(step)) for stage, step in steps]


def table_versions(tables: dict) -> dict[str, int | None]:
    return {name: dataset.current_version() for name, dataset in tables.items()}


def changes(before: dict, after: dict) -> str:
    def shown(version: int | None) -> str:
        return "new" if version is None else f"v{version}"

    changed = [f"{n} {shown(before.get(n))}→{shown(after[n])}" for n in after if after[n] != before.get(n)]
    return f"tables changed: {', '.join(changed)}" if changed else "no table changed"
