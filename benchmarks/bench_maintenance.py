"""`kedro maintain` on a year of monthly batches: files and bytes per table before and after, the
time of a cycle before and after, and the cost of the lineage guard.

On the small lakehouse of the tests (United flights from EWR):

1. the history (Jan–Apr 2013, one monthly batch each) and the first champion, then the cycles of
   May..``BENCH_MAINT_LAST`` (default 2013-11) with the tests' eager policy (it retrains, so several
   model versions pin older table versions);
2. three copies whose model versions pin the copy's own tables: ``before`` (not maintained),
   ``guarded`` (`maintain`) and ``unguarded`` (`maintain` of the pinned tables with the guard switched
   off, only to measure what the guard keeps; the other tables are maintained alike either way);
3. every file was written minutes ago, so the declared retention (7 days) would remove nothing: both
   maintenance runs use a zero retention (``--retain-hours 0``, Delta's retention check off), which is
   the guard's worst case;
4. the cycle of the next month (default 2013-12): first on ``unguarded`` (the process's warm-up), then
   on ``before`` and ``guarded`` twice each (before, guarded, guarded, before), each on a fresh copy
   of the same state (``BENCH_MAINT_CYCLES_ONLY=1`` with ``BENCH_MAINT_DIR`` repeats only this step).

Prints data files and MiB per table, seconds, and the 1/5/15-min load averages (the machine is
shared). ``BENCH_MAINT_DIR`` keeps the lakehouses there (a built one is reused).
``BENCH_MAINT_BUILT=<project>`` starts from a lakehouse built elsewhere (e.g. the tests' replayed one,
history + May–July) and runs only the cycles ``BENCH_MAINT_FIRST``..``BENCH_MAINT_LAST`` on a copy of
it. Never asserts on time.
"""

from __future__ import annotations

import os
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
FIRST = os.environ.get("BENCH_MAINT_FIRST", "2013-05")
LAST = os.environ.get("BENCH_MAINT_LAST", "2013-11")
NEXT = os.environ.get("BENCH_MAINT_NEXT", "2013-12")


def table_sizes(project: Path) -> dict[str, tuple[int, int]]:
    """(data files, bytes) of each Delta table, from the file system (live or not)."""
    sizes = {}
    for log in sorted((project / "data").glob("*/**/_delta_log")):
        table = log.parent
        files = [p for p in table.rglob("*.parquet") if "_delta_log" not in p.parts]
        everything = [p for p in table.rglob("*") if p.is_file()]
        size = sum(p.stat().st_size for p in everything)
        sizes[str(table.relative_to(project / "data"))] = (len(files), size)
    return sizes


def build(base: Path, model: str) -> Path:
    from tests.small_lakehouse import EAGER_POLICY, build_history_and_champion, copy_own_lakehouse, make_loop

    from lakehouse_mlops.ops.sandbox import make_sandbox
    from lakehouse_mlops.usecases.flights import source as simulator

    project = base / "built"
    if (project / "done").exists():
        return project
    start = time.perf_counter()
    if os.environ.get("BENCH_MAINT_BUILT"):
        shutil.rmtree(project, ignore_errors=True)
        copy_own_lakehouse(Path(os.environ["BENCH_MAINT_BUILT"]), project, model)
    else:
        build_history_and_champion(make_sandbox(ROOT, project))
        print(f"history Jan–Apr + champion: {time.perf_counter() - start:.0f} s, load {load()}", flush=True)
    loop = make_loop(project, EAGER_POLICY)
    for month in simulator.months(FIRST, LAST) if FIRST <= LAST else []:
        start = time.perf_counter()
        result = loop.cycle(month, echo=lambda _: None)
        took = time.perf_counter() - start
        print(f"cycle {month}: {took:.0f} s, {result.headline()}, load {load()}", flush=True)
        if not result.ok:
            raise SystemExit(1)
    (project / "done").write_text(model)
    return project


def timed_cycle(project: Path, month: str) -> float:
    from tests.small_lakehouse import EAGER_POLICY, make_loop

    start = time.perf_counter()
    result = make_loop(project, EAGER_POLICY).cycle(month, echo=lambda _: None)
    seconds = time.perf_counter() - start
    print(f"    cycle {month}: {seconds:.1f} s ({result.headline()}), load {load()}", flush=True)
    return seconds


def maintained(project: Path, guard: bool) -> tuple[float, float]:
    """Seconds of `maintain` (zero retention), and of collecting the guard's pins alone."""
    from contextlib import nullcontext
    from unittest import mock

    from pyspark.sql import SparkSession
    from tests.small_lakehouse import make_loop

    from lakehouse_mlops.framework.maintenance import RETENTION_CHECK, pinned_versions
    from lakehouse_mlops.ops.tables import delta_datasets

    loop = make_loop(project)
    session, context = loop.context()  # starts Spark with Delta (the project's hook)
    SparkSession.builder.getOrCreate().conf.set(RETENTION_CHECK, "false")
    with session:
        start = time.perf_counter()
        name = context.params["usecase"]["model"]["registered_name"]
        pins = pinned_versions([name], context.catalog.load("stored_reference_profiles"))
        pin_seconds = time.perf_counter() - start
        pinned = [n for n, d in delta_datasets(context.catalog).items() if d.filepath in pins]
    print(f"    pins: {pins}", flush=True)
    start = time.perf_counter()
    unguarded = mock.patch("lakehouse_mlops.ops.maintain.pinned_versions", lambda *_: {})
    # without the guard only the pinned tables differ: the others are maintained alike either way
    with unguarded if not guard else nullcontext():
        loop.maintain(0, None if guard else pinned, echo=lambda line: print("    ", line, flush=True))
    return time.perf_counter() - start, pin_seconds


def main() -> int:
    from tests.conftest import project_parameters
    from tests.small_lakehouse import copy_own_lakehouse

    model = project_parameters()["usecase"]["model"]["registered_name"]
    kept = os.environ.get("BENCH_MAINT_DIR")
    base = Path(kept or tempfile.mkdtemp(prefix="bench_maint_", dir=os.environ.get("BENCH_TMP")))
    if kept and os.environ.get("BENCH_MAINT_CYCLES_ONLY") == "1":
        return cycles_only(base, model)
    try:
        built = build(base, model)
        copies = {}
        for name in ("before", "guarded", "unguarded"):
            shutil.rmtree(base / name, ignore_errors=True)
            copies[name] = copy_own_lakehouse(built, base / name, model)
        sizes = {"before": table_sizes(copies["before"])}
        seconds = {}
        for name, guard in (("guarded", True), ("unguarded", False)):
            print(f"maintain ({name}):", flush=True)
            seconds[name] = maintained(activate(copies[name]), guard)
            sizes[name] = table_sizes(copies[name])
        cycle = next_cycles(base, copies, model)
    finally:
        if not kept:
            shutil.rmtree(base, ignore_errors=True)
    report(sizes, seconds, cycle)
    return 0


def next_cycles(base: Path, copies: dict[str, Path], model: str) -> dict[str, list[float]]:
    """The next month's cycle: a warm-up on ``unguarded`` (the process's first cycle pays the JVM's
    and the libraries' warm-up), then ``before`` and ``guarded`` twice each in alternating order, each
    on a fresh copy of the maintained state (kept in ``<name>.kept``). A fresh path each time: MLflow
    keeps its SQLite connections per URI, and a store replaced under the same path reads as read-only."""
    from tests.small_lakehouse import copy_own_lakehouse

    print("cycle of the next month:", flush=True)
    for name in ("before", "guarded"):
        if copies.get(name) is not None:
            shutil.rmtree(base / f"{name}.kept", ignore_errors=True)
            copy_own_lakehouse(copies[name], base / f"{name}.kept", model)
    warm_up = copies.get("unguarded") or copy_own_lakehouse(base / "before.kept", base / "warm-up", model)
    timed_cycle(activate(warm_up), NEXT)
    cycle: dict[str, list[float]] = {"before": [], "guarded": []}
    for round_, name in enumerate(("before", "guarded", "guarded", "before")):
        fresh = base / f"{name}.cycle{round_}"
        shutil.rmtree(fresh, ignore_errors=True)
        cycle[name].append(
            timed_cycle(activate(copy_own_lakehouse(base / f"{name}.kept", fresh, model)), NEXT)
        )
    return cycle


def cycles_only(base: Path, model: str) -> int:
    """``BENCH_MAINT_CYCLES_ONLY=1``: only the cycle timings, from the ``.kept`` copies of an earlier run."""
    shutil.rmtree(base / "warm-up", ignore_errors=True)
    cycle = next_cycles(base, {}, model)
    shown = {name: ", ".join(f"{t:.1f}" for t in times) for name, times in cycle.items()}
    print(f"cycle {NEXT}: not maintained {shown['before']} s, maintained {shown['guarded']} s")
    return 0


def activate(project: Path) -> Path:
    """Point MLflow at ``project``'s store (what a session of its conf does too)."""
    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{project / 'mlflow.db'}")
    return project


def report(sizes: dict, seconds: dict, cycle: dict) -> None:
    print(f"\nDelta tables after the history and the cycles to {LAST}: data files, MiB (all files)")
    print(f"{'table':<34} {'before':>14} {'maintained':>14} {'no guard':>14}")
    total = {k: [0, 0] for k in sizes}
    for table in sizes["before"]:
        cells = []
        for key in ("before", "guarded", "unguarded"):
            files, size = sizes[key].get(table, (0, 0))
            total[key][0] += files
            total[key][1] += size
            cells.append(f"{files:>5} {size / 2**20:>7.2f}")
        print(f"{table:<34} " + " ".join(f"{c:>14}" for c in cells))
    print(f"{'total':<34} " + " ".join(f"{t[0]:>5} {t[1] / 2**20:>7.2f}" for t in total.values()))
    for name, (total_s, pins_s) in seconds.items():
        print(f"maintain {name}: {total_s:.1f} s (collecting the pins: {pins_s:.2f} s)")
    shown = {name: ", ".join(f"{t:.1f}" for t in times) for name, times in cycle.items()}
    print(
        f"cycle {NEXT} (after a warm-up cycle; order before, maintained, maintained, before): "
        f"not maintained {shown['before']} s, maintained {shown['guarded']} s"
    )


if __name__ == "__main__":
    sys.exit(main())
