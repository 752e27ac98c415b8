"""Ingestion of the Jan–Apr 2013 history: wall time after Spark is up, and of a no-op re-run.

Run with ``make bench`` (or ``.venv/bin/python benchmarks/bench_ingestion.py``). Uses a fresh
lakehouse in a temporary folder; prints a table; never asserts on time.
"""

from __future__ import annotations

import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "1")
os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")


def runner():
    """The runner named by BENCH_RUNNER (SequentialRunner by default, or ThreadRunner)."""
    from kedro.runner import SequentialRunner, ThreadRunner

    return ThreadRunner() if os.environ.get("BENCH_RUNNER") == "ThreadRunner" else SequentialRunner()


def main() -> int:
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project

    from lakehouse_mlops import simulator
    from lakehouse_mlops.sandbox import make_sandbox

    bootstrap_project(ROOT)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        project = make_sandbox(ROOT, Path(tmp))
        start = time.perf_counter()
        paths = simulator.land_months(simulator.months("2013-01", "2013-04"), project / "data/01_landing")
        results.append(("land Jan-Apr (simulator)", time.perf_counter() - start))
        rows = sum(sum(1 for _ in open(p)) - 1 for p in paths)
        start = time.perf_counter()
        with KedroSession.create(project_path=ROOT, conf_source=str(project / "conf")) as session:
            session.load_context()  # starts Spark through the project hook
            results.append(("Spark + Delta start", time.perf_counter() - start))
            start = time.perf_counter()
            session.run(pipeline_names=["ingestion"], runner=runner())
            results.append(("ingestion of the history", time.perf_counter() - start))
        start = time.perf_counter()
        with KedroSession.create(project_path=ROOT, conf_source=str(project / "conf")) as session:
            session.run(pipeline_names=["ingestion"], runner=runner())
        results.append(("re-run (no-op)", time.perf_counter() - start))
    print(f"\nmachine: {platform.machine()}, {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    print(f"landed rows (all feeds): {rows}; runner: {type(runner()).__name__}")
    print(f"{'stage':<28} {'seconds':>8} {'rows/s':>9}")
    for stage, seconds in results:
        rate = f"{rows / seconds:>9.0f}" if "ingestion" in stage else f"{'':>9}"
        print(f"{stage:<28} {seconds:>8.1f} {rate}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
