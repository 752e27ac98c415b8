"""Ingestion of the Jan–Apr 2013 history: wall time after Spark is up, and of a no-op re-run.

Run with ``make bench`` (or ``.venv/bin/python benchmarks/bench_ingestion.py``). Uses a fresh
lakehouse in a temporary folder; prints a table; never asserts on time. ``BENCH_PROFILE=1`` adds
where the time goes: wall seconds per node and per dataset load/save (of the first run).
``BENCH_REPEAT=N`` ingests a fresh copy N times in the same Spark application (the machine is shared
and single runs vary by several seconds).
"""

from __future__ import annotations

import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import benchlib
from benchlib import StageTimer

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "1")
os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")


def runner():
    """The runner the project's commands use for ingestion, or the one named by BENCH_RUNNER."""
    from kedro.runner import SequentialRunner, ThreadRunner

    from lakehouse_mlops.ops.loop import runner_for

    chosen = os.environ.get("BENCH_RUNNER")
    if chosen is None:
        return runner_for("ingestion")
    return ThreadRunner() if chosen == "ThreadRunner" else SequentialRunner()


def session_run(session, timer: StageTimer | None) -> None:
    if timer is not None:
        session._hook_manager.register(timer)
    session.run(pipeline_names=["ingestion"], runner=runner())


def main() -> int:
    from kedro.framework.project import pipelines
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project

    from lakehouse_mlops.ops.sandbox import make_sandbox
    from lakehouse_mlops.usecases.flights import source as simulator

    bootstrap_project(ROOT)
    results = []
    profile = os.environ.get("BENCH_PROFILE") == "1"
    repeat = int(os.environ.get("BENCH_REPEAT", "1"))
    first, rerun = (StageTimer(), StageTimer()) if profile else (None, None)
    for attempt in range(1, repeat + 1):
        suffix = f" #{attempt}" if repeat > 1 else ""
        with tempfile.TemporaryDirectory() as tmp:
            project = make_sandbox(ROOT, Path(tmp))
            start = time.perf_counter()
            paths = simulator.land_months(simulator.months("2013-01", "2013-04"), project / "data/01_landing")
            results.append((f"land Jan-Apr (simulator){suffix}", time.perf_counter() - start))
            rows = sum(sum(1 for _ in open(p)) - 1 for p in paths)
            start = time.perf_counter()
            with KedroSession.create(project_path=ROOT, conf_source=str(project / "conf")) as session:
                session.load_context()  # starts Spark through the project hook (once per process)
                if attempt == 1:
                    results.append(("Spark + Delta start", time.perf_counter() - start))
                    start = time.perf_counter()
                    pipelines.keys()  # imports every pipeline's code (sklearn, hyperopt, ...) once
                    results.append(("load the project's pipelines", time.perf_counter() - start))
                start = time.perf_counter()
                session_run(session, first if attempt == 1 else None)
                results.append((f"ingestion of the history{suffix}", time.perf_counter() - start))
            start = time.perf_counter()
            with KedroSession.create(project_path=ROOT, conf_source=str(project / "conf")) as session:
                session_run(session, rerun if attempt == 1 else None)
            results.append((f"re-run (no-op){suffix}", time.perf_counter() - start))
    print(f"\nmachine: {platform.machine()}, {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    print(f"landed rows (all feeds): {rows}; runner: {type(runner()).__name__}; load {benchlib.load()}")
    print(f"{'stage':<32} {'seconds':>8} {'rows/s':>9}")
    for stage, seconds in results:
        rate = f"{rows / seconds:>9.0f}" if "ingestion" in stage else f"{'':>9}"
        print(f"{stage:<32} {seconds:>8.1f} {rate}")
    if profile:
        first.report("ingestion of the history")
        rerun.report("re-run (no-op)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
