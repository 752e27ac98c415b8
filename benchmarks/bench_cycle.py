"""Where a monthly cycle's time goes (issue 18): per stage, the Spark jobs, the time spent in the JVM,
Delta commits, MLflow calls and Kedro session set-up, on the reference data.

1. a sandbox lakehouse gets the history (``kedro history`` of the use case's demo span: Jan–Apr 2013
   for flights) and its first champion, in this process (``BENCH_CYCLE_DIR`` keeps it and reuses a
   built one);
2. the cycles ``BENCH_CYCLE_MONTHS`` (default 2013-05,2013-06) run one after the other in the same
   process, with the project's policy (a cycle may retrain) — the first pays the process's warm-up;
3. the last cycle runs again: nothing new (every file already in bronze, every row already scored).

Per stage, printed as a table:

- ``wall``: the stage's seconds, as the cycle's own summary line gives them;
- ``jvm``/``calls``: seconds inside py4j calls into the JVM and their number (Spark jobs, query
  planning, Delta log reads and commits, all of Spark's driver work; the Python side of a call
  that returns at once is in ``calls``, not in ``jvm``);
- ``jobs``: Spark jobs started (the status tracker's job ids);
- ``commits``: Delta commits (table versions added, over every table of the catalog);
- ``mlflow``/``mcalls``: seconds and number of MLflow client calls (tracking and registry), model
  loads and artifact downloads;
- ``kedro``: seconds of Kedro set-up — sessions created, contexts loaded (configuration read and
  merged, hooks: kedro-mlflow's set-up), catalogs built;
- ``python``: the rest (pandas, scikit-learn, hyperopt, plotting, our code).

Nested calls are counted once per category (a call inside a call of the same category adds nothing),
and the categories overlap where one calls the other (an MLflow model load that starts a Spark job is
in both). ``BENCH_PROFILE=1`` also prints the slowest nodes and dataset loads/saves. The machine is
shared: load averages are printed. Never asserts on time.
"""

from __future__ import annotations

import functools
import os
import platform
import shutil
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

from benchlib import ROOT, StageTimer, load

os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "1")
os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
MONTHS = os.environ.get("BENCH_CYCLE_MONTHS", "2013-05,2013-06").split(",")
CATEGORIES = ("jvm", "mlflow", "kedro")


class Probe:
    """Seconds and calls per category, summed over threads; a call nested in a call of the same
    category (in the same thread) is not counted again."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self._depth = threading.local()
        self._lock = threading.Lock()

    def wrap(self, owner, attribute: str, category: str) -> None:
        original = getattr(owner, attribute)
        if getattr(original, "_bench_probe", False):
            return
        probe = self

        @functools.wraps(original)
        def probed(*args, **kwargs):
            depth = getattr(probe._depth, category, 0)
            if depth:
                return original(*args, **kwargs)
            setattr(probe._depth, category, 1)
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                elapsed = time.perf_counter() - start
                setattr(probe._depth, category, 0)
                with probe._lock:
                    probe.seconds[category] += elapsed
                    probe.calls[category] += 1

        probed._bench_probe = True
        setattr(owner, attribute, probed)

    def snapshot(self) -> dict[str, tuple[float, int]]:
        with self._lock:
            return {c: (self.seconds[c], self.calls[c]) for c in CATEGORIES}


def instrument(probe: Probe) -> None:
    """Wrap the chokepoints: py4j's send_command, MLflow's clients and model loads, Kedro's set-up."""
    import mlflow.artifacts
    import mlflow.pyfunc
    from kedro.framework.context import KedroContext
    from kedro.framework.session import KedroSession
    from mlflow.tracking._model_registry.client import ModelRegistryClient
    from mlflow.tracking._tracking_service.client import TrackingServiceClient
    from py4j.clientserver import ClientServerConnection
    from py4j.java_gateway import GatewayConnection

    probe.wrap(ClientServerConnection, "send_command", "jvm")
    probe.wrap(GatewayConnection, "send_command", "jvm")
    for client in (TrackingServiceClient, ModelRegistryClient):
        for attribute, value in list(vars(client).items()):
            if callable(value) and not attribute.startswith("_"):
                probe.wrap(client, attribute, "mlflow")
    probe.wrap(mlflow.pyfunc, "load_model", "mlflow")
    probe.wrap(mlflow.artifacts, "download_artifacts", "mlflow")
    probe.wrap(KedroSession, "create", "kedro")
    probe.wrap(KedroSession, "load_context", "kedro")
    probe.wrap(KedroContext, "_get_catalog", "kedro")


def spark_jobs() -> int:
    """Jobs started so far in this Spark application (0 before it starts), in every job group (the
    profile's per-step groups, hyperopt's trials): the scheduler's next job id."""
    from pyspark import SparkContext

    context = SparkContext._active_spark_context  # noqa: SLF001 - no public "is it running" call
    if context is None:
        return 0
    return int(context._jsc.sc().dagScheduler().nextJobId())  # noqa: SLF001 - no public counter


@functools.cache
def stage_rows() -> dict[str, list[dict]]:
    """cycle label -> one row per stage (filled by the patched loop)."""
    return defaultdict(list)


def profile_loop(probe: Probe, timer: StageTimer | None, label: list[str]) -> None:
    """Make every cycle of this process record its stages' probes (the loop's own functions wrapped)."""
    from lakehouse_mlops.ops import loop as loop_module
    from lakehouse_mlops.ops import stages as stages_module

    original_checked, original_run_stages = loop_module.tracking_checked, loop_module.run_stages
    original_session = loop_module.Loop.session
    cycle_tables: dict = {}

    def measured(stage: str, step):
        def run():
            versions = stages_module.table_versions(cycle_tables)
            before, jobs = probe.snapshot(), spark_jobs()
            start = time.perf_counter()
            try:
                return step()
            finally:
                wall = time.perf_counter() - start
                after, now = probe.snapshot(), stages_module.table_versions(cycle_tables)
                commits = sum(
                    v - (versions[t] if versions.get(t) is not None else -1)
                    for t, v in now.items()
                    if v is not None
                )
                row = {"stage": stage, "wall": wall, "jobs": spark_jobs() - jobs, "commits": commits}
                for category in CATEGORIES:
                    row[category] = after[category][0] - before[category][0]
                    row[f"{category}_calls"] = after[category][1] - before[category][1]
                stage_rows()[label[0]].append(row)

        return run

    def tracking_checked(steps, uri):
        return [(stage, measured(stage, step)) for stage, step in original_checked(steps, uri)]

    def run_stages(steps, tables, *rest):
        cycle_tables.clear()
        cycle_tables.update(tables)
        return original_run_stages(steps, tables, *rest)

    def session(self, params=None):
        created = original_session(self, params)
        if timer is not None:
            created._hook_manager.register(timer)
        return created

    loop_module.tracking_checked, loop_module.run_stages = tracking_checked, run_stages
    loop_module.Loop.session = session


def build_history(project: Path, loop) -> None:
    from lakehouse_mlops.framework.batches import batch_range
    from lakehouse_mlops.framework.usecase import parse_usecase
    from lakehouse_mlops.platform.kedro_project import config_loader

    if (project / "history.done").exists():
        return
    usecase = parse_usecase(config_loader(ROOT, None, str(project / "conf")).usecase_contract())
    first, last = usecase.demo.history
    start = time.perf_counter()
    stages = loop.history(
        batch_range(first, last, usecase.batch.cadence), echo=lambda line: print("   ", line)
    )
    if any(stage.status == "failed" for stage in stages):
        raise SystemExit("the history failed")
    print(f"history {first}..{last}: {time.perf_counter() - start:.0f} s, load {load()}", flush=True)
    (project / "history.done").write_text("")


def main() -> int:
    from lakehouse_mlops.ops.loop import USECASE_SOURCE, Loop
    from lakehouse_mlops.ops.sandbox import make_sandbox

    kept = os.environ.get("BENCH_CYCLE_DIR")
    base = (
        Path(kept) if kept else Path(tempfile.mkdtemp(prefix="bench_cycle_", dir=os.environ.get("BENCH_TMP")))
    )
    project = base / "lakehouse"
    if not (project / "conf").exists():
        make_sandbox(ROOT, project)
    probe, label = Probe(), ["history"]
    timer = StageTimer() if os.environ.get("BENCH_PROFILE") == "1" else None
    instrument(probe)
    profile_loop(probe, timer, label)
    loop = Loop(ROOT, conf_source=str(project / "conf"), lander=USECASE_SOURCE)
    totals = {}
    try:
        build_history(project, loop)
        runs = [(month, month) for month in MONTHS] + [(f"{MONTHS[-1]} again", MONTHS[-1])]
        for name, month in runs:
            label[0] = name
            if timer is not None:
                timer.clear()
            start = time.perf_counter()
            result = loop.cycle(month, echo=lambda line: print("   ", line, flush=True))
            totals[name] = (time.perf_counter() - start, load())
            print(f"cycle {name}: {totals[name][0]:.1f} s, load {totals[name][1]}", flush=True)
            if timer is not None:
                timer.report(f"cycle {name}", top=15)
            if not result.ok:
                return 1
    finally:
        if not kept:
            shutil.rmtree(base, ignore_errors=True)
    report(totals)
    return 0


def report(totals: dict[str, tuple[float, str]]) -> None:
    print(f"\nmachine: {platform.machine()}, {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    header = ["wall", "jvm", "calls", "jobs", "commits", "mlflow", "mcalls", "kedro", "python"]
    for name, (total, at_load) in totals.items():
        rows = stage_rows()[name]
        print(
            f"\ncycle {name}: {total:.1f} s in all (load {at_load}); outside the stages "
            f"{total - sum(r['wall'] for r in rows):.1f} s"
        )
        print(f"{'stage':<11} " + " ".join(f"{h:>7}" for h in header))
        for row in [*rows, summed(rows)]:
            python = row["wall"] - row["jvm"] - row["mlflow"] - row["kedro"]
            cells = [
                row["wall"],
                row["jvm"],
                row["jvm_calls"],
                row["jobs"],
                row["commits"],
                row["mlflow"],
                row["mlflow_calls"],
                row["kedro"],
                python,
            ]
            print(
                f"{row['stage']:<11} "
                + " ".join(f"{c:>7.1f}" if isinstance(c, float) else f"{c:>7d}" for c in cells)
            )


def summed(rows: list[dict]) -> dict:
    total = {"stage": "total"}
    for key in rows[0]:
        if key != "stage":
            total[key] = sum(r[key] for r in rows)
    return total


if __name__ == "__main__":
    sys.exit(main())
