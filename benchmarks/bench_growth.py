"""How the cost of a cycle grows with history: the cycle of month 12 vs month 2 (target ≤ 1.2×).

The loop (``lakehouse_mlops.loop.Loop``) runs all 12 months of 2013 on the small lakehouse of the
tests (United flights from EWR, ~1,000 flights a month), with retraining disabled so that every
cycle does the same work (land → ingestion → features → inference → monitoring):

1. a template lakehouse builds the first champion (Jan–Apr, fast search), as ``tests/small_lakehouse``;
2. a second, empty lakehouse gets a copy of the template's MLflow store (the champion; its
   monitoring reference is the template's gold table at the version it trained on, so the
   reference is the same for every month) and runs the cycles 2013-01 … 2013-12, one after the other;
3. after the cycles of months 2 and 12, a no-op ingestion run (every file already in bronze) is timed:
   the part of ingestion that depends only on the accumulated files and tables.

Per stage: seconds of month 12 / month 2, and of months 11–12 / 2–3 (less noise). The machine is
shared: the 1-minute load average is printed with every cycle. Prints tables; never asserts on time.
Set ``BENCH_GROWTH_MONTHS`` (e.g. ``2013-01,2013-02,2013-03``) to run fewer cycles.
"""

from __future__ import annotations

import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

from benchlib import ROOT, load

sys.path.insert(0, str(ROOT))  # tests.small_lakehouse
os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "1")
os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
#: the policy never asks for a retrain: every cycle does the same stages
NO_RETRAIN = {
    "monitoring": {
        "policy": {
            "drift_share_threshold": 2.0,
            "drift_consecutive_windows": 99,
            "performance_breaches": 99,
            "retrain_on_quality_alarm": False,
        }
    }
}
STAGES = ("land", "ingestion", "features", "inference", "monitoring")
PROBE_MONTHS = ("2013-02", "2013-12")


def months() -> list[str]:
    from lakehouse_mlops import simulator

    raw = os.environ.get("BENCH_GROWTH_MONTHS")
    return raw.split(",") if raw else simulator.months("2013-01", "2013-12")


def table_sizes(project: Path) -> dict[str, tuple[int, int]]:
    """(data files, MiB) of each Delta table of the lakehouse, from the file system."""
    sizes = {}
    for log in sorted((project / "data").glob("*/**/_delta_log")):
        table = log.parent
        files = [p for p in table.rglob("*.parquet") if "_delta_log" not in p.parts]
        sizes[str(table.relative_to(project / "data"))] = (
            len(files),
            sum(p.stat().st_size for p in files) >> 20,
        )
    return sizes


def main() -> int:
    from tests.small_lakehouse import build_history_and_champion, land_small_month, make_loop

    from lakehouse_mlops.sandbox import make_sandbox

    base = Path(tempfile.mkdtemp(prefix="bench_growth_", dir=os.environ.get("BENCH_TMP")))
    cycles: dict[str, dict] = {}
    probes: dict[str, tuple[float, str]] = {}
    try:
        start = time.perf_counter()
        template = build_history_and_champion(make_sandbox(ROOT, base / "template"))
        print(f"template champion built in {time.perf_counter() - start:.0f} s (load {load()})", flush=True)
        project = make_sandbox(ROOT, base / "loop")
        shutil.copy(template / "mlflow.db", project / "mlflow.db")
        loop = make_loop(project, NO_RETRAIN)
        assert loop.lander is land_small_month
        for month in months():
            start = time.perf_counter()
            result = loop.cycle(month, echo=lambda line: print("   ", line, flush=True))
            total = time.perf_counter() - start
            if not result.ok:
                print(f"cycle {month} failed: {result.headline()}", flush=True)
                return 1
            seconds = {s.stage: s.seconds for s in result.stages}
            cycles[month] = {"total": total, "load": load(), "decision": result.decision, **seconds}
            print(f"cycle {month}: {total:.1f} s, decision {result.decision}, load {load()}", flush=True)
            if month in PROBE_MONTHS:
                start = time.perf_counter()
                loop.run("ingestion")
                probes[month] = (time.perf_counter() - start, load())
                print(f"no-op ingestion after {month}: {probes[month][0]:.1f} s", flush=True)
        sizes = table_sizes(project)
    finally:
        if not os.environ.get("BENCH_KEEP"):
            shutil.rmtree(base, ignore_errors=True)
    report(cycles, probes, sizes)
    return 0


def report(cycles: dict[str, dict], probes: dict, sizes: dict) -> None:
    columns = [*STAGES, "training", "promotion", "rescoring", "total"]
    print(f"\nmachine: {platform.machine()}, {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    print("cycle seconds per stage (small lakehouse, retraining disabled); load = 1/5/15-min averages")
    print(f"{'month':<8} " + " ".join(f"{c:>10}" for c in columns) + "  load")
    for month, row in cycles.items():
        print(f"{month:<8} " + " ".join(f"{row.get(c, 0.0):>10.1f}" for c in columns) + f"  {row['load']}")

    def ratio(late: list[str], early: list[str], column: str) -> str:
        if not all(m in cycles for m in late + early):
            return f"{'n/a':>10}"
        a = sum(cycles[m].get(column, 0.0) for m in late)
        b = sum(cycles[m].get(column, 0.0) for m in early)
        return f"{a / b:>10.2f}" if b > 0 else f"{'n/a':>10}"

    for label, late, early in [
        ("12 / 2", ["2013-12"], ["2013-02"]),
        ("11-12/2-3", ["2013-11", "2013-12"], ["2013-02", "2013-03"]),
    ]:
        print(f"{label:<8} " + " ".join(ratio(late, early, c) for c in columns))
    for month, (seconds, at) in probes.items():
        print(f"no-op ingestion (all files already in bronze) after {month}: {seconds:.1f} s, load {at}")
    print("\nDelta tables after the last cycle (data files, MiB):")
    for table, (files, mib) in sizes.items():
        print(f"  {table:<40} {files:>6} {mib:>6}")


if __name__ == "__main__":
    sys.exit(main())
