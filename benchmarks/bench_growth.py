"""How the cost of a cycle grows with history: the cycle of month 12 vs month 2 (target ≤ 1.2×).

The loop (``lakehouse_mlops.ops.loop.Loop``) runs on the small lakehouse of the tests (United flights
from EWR, ~3,700 flights a month), with retraining disabled so that every cycle does the same work
(land → ingestion → features → inference → monitoring):

1. a template lakehouse builds the first champion (Jan–Apr, fast search), as ``tests/small_lakehouse``;
2. a second, empty lakehouse gets a copy of the template's MLflow store (the champion; its
   monitoring reference is the template's gold table at the version it trained on, so the
   reference is the same for every month) and runs the cycles of 2013-01 and 2013-02;
3. months 3–11 are caught up in bulk (``BENCH_GROWTH_CATCHUP=1``, the default: landed, one ingestion
   and one features run, then inference of each batch, so bronze, silver, gold and the predictions
   hold the whole year; only their monitoring runs are skipped), or as full cycles
   (``BENCH_GROWTH_CATCHUP=0``, ~12 cycles: an hour or more on a loaded 2-core machine);
4. the cycle of 2013-12;
5. after the cycles of months 2 and 12, a no-op ingestion run (every file already in bronze) is timed:
   the part of ingestion that depends only on the accumulated files and tables.

Per stage: seconds of month 12 / month 2. The machine is shared: the 1/5/15-minute load averages are
printed with every cycle. ``BENCH_GROWTH_DIR`` reuses (or keeps) the lakehouses in that folder: a
built template is not rebuilt, and ``BENCH_GROWTH_FROM=2013-03`` resumes after cycles already run
there. Prints tables; never asserts on time.
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


CATCHUP = os.environ.get("BENCH_GROWTH_CATCHUP", "1") != "0"


def months() -> list[str]:
    from lakehouse_mlops.usecases.flights import source as simulator

    return simulator.months("2013-01", "2013-12")


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


def main() -> int:  # noqa: PLR0915 - one linear benchmark
    from tests.small_lakehouse import build_history_and_champion, land_small_month, make_loop

    from lakehouse_mlops.ops.sandbox import make_sandbox

    kept = os.environ.get("BENCH_GROWTH_DIR")
    base = (
        Path(kept)
        if kept
        else Path(tempfile.mkdtemp(prefix="bench_growth_", dir=os.environ.get("BENCH_TMP")))
    )
    resume_from = os.environ.get("BENCH_GROWTH_FROM", "2013-01")
    cycles: dict[str, dict] = {}
    probes: dict[str, tuple[float, str]] = {}
    try:
        template = base / "template"
        if not (template / "mlflow.db").exists():
            start = time.perf_counter()
            build_history_and_champion(make_sandbox(ROOT, template))
            print(
                f"template champion built in {time.perf_counter() - start:.0f} s (load {load()})", flush=True
            )
        project = base / "loop"
        if not (project / "mlflow.db").exists():
            make_sandbox(ROOT, project)
            shutil.copy(template / "mlflow.db", project / "mlflow.db")
        loop = make_loop(project, NO_RETRAIN)
        caught_up = False
        for month in months():
            if month < resume_from:
                continue
            if CATCHUP and "2013-03" <= month <= "2013-11":
                if not caught_up:
                    catch_up(loop, project, land_small_month)
                    caught_up = True
                continue
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
                print(f"no-op ingestion after {month}: {probes[month][0]:.1f} s, load {load()}", flush=True)
        sizes = table_sizes(project)
    finally:
        if not kept and not os.environ.get("BENCH_KEEP"):
            shutil.rmtree(base, ignore_errors=True)
    report(cycles, probes, sizes)
    return 0


def catch_up(loop, project: Path, lander) -> None:
    """Months 3–11 in bulk: land, one ingestion and one features run, inference of each batch."""
    from lakehouse_mlops.usecases.flights import source as simulator

    batches = simulator.months("2013-03", "2013-11")
    start = time.perf_counter()
    for month in batches:
        lander(month, project / "data/01_landing", ".csv")
    loop.run("ingestion")
    loop.run("features")
    for month in batches:
        loop.run("inference", {"inference": {"batch_id": month}})
    print(
        f"caught up {batches[0]}..{batches[-1]} in {time.perf_counter() - start:.0f} s, load {load()}",
        flush=True,
    )


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
