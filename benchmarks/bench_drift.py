"""Drift computation: the monitoring's Spark profiles + statistics vs one plain Spark scan of the same
columns (target ≤ 2×), and vs Evidently on pandas at equal decisions, at 1M rows.

Rows: the gold ``flight_features`` table of a lakehouse (``BENCH_GOLD``, e.g. a sandbox kept by
``BENCH_KEEP=1 bench_stages.py``; otherwise a sandbox of ``BENCH_DRIFT_BUILD_ROWS`` flights, default
100,000, is built here with ``lakehouse_mlops.scale``, ingestion and features), repeated (new keys,
same values) or cut (a uniform sample) to ``BENCH_DRIFT_ROWS`` rows (default 1,000,000) and written
once to a Delta table in a temporary folder, so every contender reads the same files. Reference =
flights before 2013-07-01, current = from 2013-07-01 (the seasons differ: weather features drift,
others do not).

- drift: ``drift.drift_rows`` over the monitored features
  (the monitoring's data drift and data quality: the reference's moments and 1,000 approximate
  quantiles, then both windows' counts and sums per reference-quantile bucket and category counts;
  KS, normalised Wasserstein, PSI, Jensen–Shannon, chi-square);
- plain scan: one ``agg`` of count and mean (numeric) / count and max (categorical) of the same
  columns over the same rows (one Spark job; the floor for anything that reads them);
- Evidently (when importable; it is not a project dependency): ``DataDriftPreset`` with normalised
  Wasserstein (numeric) and Jensen–Shannon (categorical), threshold 0.1 as ours, on pandas frames of
  the same rows (the conversion to pandas is timed separately). Verdicts are compared per feature.

Each Spark contender runs twice (alternating) and the lower time counts; the machine is shared, the
1-minute load average is printed with each figure. Prints tables; never asserts on time.
"""

from __future__ import annotations

import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import yaml
from benchlib import ROOT, load, spark_conf

os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "1")
os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
ROWS = int(os.environ.get("BENCH_DRIFT_ROWS", "1000000"))
BUILD_ROWS = int(os.environ.get("BENCH_DRIFT_BUILD_ROWS", "100000"))
SPLIT_DATE = "2013-07-01"
EVIDENTLY_THRESHOLD = 0.1


def build_gold(base: Path) -> Path:
    """A sandbox with the year scaled to BUILD_ROWS flights: ingestion and features (minutes)."""
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project

    from lakehouse_mlops import scale
    from lakehouse_mlops.sandbox import make_sandbox

    bootstrap_project(ROOT)
    project = make_sandbox(ROOT, base / "lakehouse")
    scale.land_year(project / "data/01_landing", BUILD_ROWS)
    for pipeline in ("ingestion", "features"):
        with KedroSession.create(project_path=ROOT, conf_source=str(project / "conf")) as session:
            session.run(pipeline_names=[pipeline])
    return project / "data/04_gold/flight_features"


def timed(function, repeats: int = 1) -> tuple[float, object, str]:
    best, result = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - start)
    return best, result, load()


def main() -> int:  # noqa: PLR0915 - one linear benchmark
    from pyspark.sql import SparkSession
    from pyspark.sql import functions as F

    from lakehouse_mlops.pipelines.monitoring.config import parse_monitoring
    from lakehouse_mlops.pipelines.monitoring.drift import drift_rows
    from lakehouse_mlops.pipelines.training.config import parse_training
    from lakehouse_mlops.spark_session import build_spark_session

    base = Path(tempfile.mkdtemp(prefix="bench_drift_", dir=os.environ.get("BENCH_TMP")))
    try:
        gold_path = os.environ.get("BENCH_GOLD") or str(build_gold(base))
        spark = SparkSession.getActiveSession() or build_spark_session(spark_conf())
        training = yaml.safe_load((ROOT / "conf/base/parameters_training.yml").read_text())["training"]
        monitoring = yaml.safe_load((ROOT / "conf/base/parameters_monitoring.yml").read_text())["monitoring"]
        spec, columns = parse_monitoring(monitoring), parse_training(training).features
        numeric = [c for c in columns.numeric if c not in spec.exclude_features]
        categorical = [c for c in columns.categorical if c not in spec.exclude_features]

        gold = spark.read.format("delta").load(gold_path)
        base_rows = gold.count()
        copies = -(-ROWS // base_rows)
        if copies == 1:  # a larger table is cut by a uniform sample, not by its first files
            gold = gold.sample(False, min(1.0, 1.02 * ROWS / base_rows), seed=13)
        table = str(base / "rows")
        (
            gold.crossJoin(spark.range(copies).withColumnRenamed("id", "_copy"))
            .withColumn("flight_key", F.concat_ws("#", "flight_key", "_copy"))
            .limit(ROWS)
            .select("flight_key", "flight_date", *numeric, *categorical)
            .write.format("delta")
            .save(table)
        )
        frame = spark.read.format("delta").load(table)
        reference = frame.filter(F.col("flight_date") < F.lit(SPLIT_DATE))
        current = frame.filter(F.col("flight_date") >= F.lit(SPLIT_DATE))
        rows = frame.count()
        print(
            f"{rows:,} rows ({base_rows:,} gold rows x {copies}); {len(numeric)} numeric + "
            f"{len(categorical)} categorical features; load {load()}",
            flush=True,
        )

        def drift():
            return drift_rows(reference, current, numeric, categorical, spec)

        def scan():
            aggregates = [F.count(F.lit(1))]
            for c in numeric:
                aggregates += [F.count(c), F.avg(c)]
            for c in categorical:
                aggregates += [F.count(c), F.max(c)]
            return frame.agg(*aggregates).collect()

        timings = {"drift": [], "scan": []}
        found = []
        for _ in range(2):
            seconds, found, at = timed(drift)
            timings["drift"].append((seconds, at))
            seconds, _, at = timed(scan)
            timings["scan"].append((seconds, at))
        drift_s = min(s for s, _ in timings["drift"])
        scan_s = min(s for s, _ in timings["scan"])
        parts = breakdown(reference, current, numeric, categorical, spec)
        ours = {
            r["feature"]: bool(r["flagged"])
            for r in found
            if r["kind"] == "data_drift" and r["metric"] == "drift_detected"
        }
        values = {
            (r["feature"], r["metric"]): r["value"]
            for r in found
            if r["metric"] in ("wasserstein_norm", "psi", "jensen_shannon")
        }

        start = time.perf_counter()
        ref_pd = reference.select(*numeric, *categorical).toPandas()
        cur_pd = current.select(*numeric, *categorical).toPandas()
        to_pandas_s, to_pandas_load = time.perf_counter() - start, load()
        evidently = evidently_drift(ref_pd, cur_pd, numeric, categorical)
    finally:
        shutil.rmtree(base, ignore_errors=True)

    print(f"\nmachine: {platform.machine()}, {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    print(f"{rows:,} rows: reference {len(ref_pd):,} (Jan-Jun), current {len(cur_pd):,} (Jul-Dec)")
    print(f"{'contender':<44} {'seconds':>8} {'rows/s':>10} {'vs scan':>8}  load (per run)")
    for name, label in [
        ("drift", "drift: Spark profiles + statistics"),
        ("scan", "plain Spark scan (one agg)"),
    ]:
        best = min(s for s, _ in timings[name])
        runs = ", ".join(f"{s:.1f} s @ {at}" for s, at in timings[name])
        print(f"{label:<44} {best:>8.1f} {rows / best:>10,.0f} {best / scan_s:>8.2f}  {runs}")
    print("where the drift time goes (each part once):")
    for name, (seconds, at) in parts.items():
        print(f"  {name:<42} {seconds:>8.1f} {'':>20}  {at}")
    print(f"{'toPandas of the same rows (for Evidently)':<44} {to_pandas_s:>8.1f} {'':>20}  {to_pandas_load}")
    if evidently is None:
        print("Evidently: skipped (not importable in this environment)")
    else:
        seconds, verdicts, scores, version, at = evidently
        print(
            f"{'Evidently ' + version + ' DataDriftPreset (pandas)':<44} {seconds:>8.1f} "
            f"{rows / seconds:>10,.0f} {seconds / scan_s:>8.2f}  {at}"
        )
        print(f"Evidently / Spark drift: {seconds / drift_s:.2f}x (pandas conversion not included)")
    print("\nper feature: our verdict (Wasserstein/PSI or JS, with significance) vs Evidently's")
    print(
        f"{'feature':<24} {'W norm':>7} {'PSI':>7} {'JS(b2)':>7} {'ours':>6} {'evid. score':>11} {'evid.':>6}"
    )
    agree = 0
    for feature, flagged in ours.items():
        w, p = values.get((feature, "wasserstein_norm")), values.get((feature, "psi"))
        js = values.get((feature, "jensen_shannon"))
        line = f"{feature:<24} {_f(w):>7} {_f(p):>7} {_f(js):>7} {str(flagged):>6}"
        if evidently is not None:
            theirs = evidently[1].get(feature)
            agree += theirs == flagged
            line += f" {_f(evidently[2].get(feature)):>11} {str(theirs):>6}"
        print(line)
    if evidently is not None:
        print(f"equal decisions: {agree} of {len(ours)} features")
    return 0


def breakdown(reference, current, numeric: list[str], categorical: list[str], spec) -> dict:
    """The drift computation's two Spark jobs, each timed once."""
    from lakehouse_mlops.pipelines.monitoring.profiles import bucket_splits, numeric_profiles, window_counts

    settings = spec.numeric
    profiles = numeric_profiles(reference, numeric, settings.quantiles, settings.quantile_relative_error)
    splits = {c: bucket_splits(p) for c, p in profiles.items()}
    steps = {
        f"reference profile: moments + {settings.quantiles} quantiles": lambda: numeric_profiles(
            reference, numeric, settings.quantiles, settings.quantile_relative_error
        ),
        "both windows: bucket counts and sums + categories (explode + aggregate)": lambda: window_counts(
            [reference, current], splits, categorical
        ),
    }
    parts = {}
    for name, step in steps.items():
        seconds, _, at = timed(step)
        parts[name] = (seconds, at)
    return parts


def _f(value) -> str:
    return "" if value is None else f"{value:.3f}"


def evidently_drift(reference, current, numeric: list[str], categorical: list[str]):
    """(seconds, verdict per column, score per column, version, load) or None when not importable.

    Evidently's report API of 0.4.x (``evidently.legacy`` in 0.7.x): 0.4.36 is the newest release
    that installs with the project's pins (0.7.x needs plotly < 6; the project pins plotly 7).
    """
    try:
        import evidently
    except ImportError:
        return None
    try:
        from evidently.legacy.metric_preset import DataDriftPreset
        from evidently.legacy.pipeline.column_mapping import ColumnMapping
        from evidently.legacy.report import Report
    except ImportError:
        from evidently.metric_preset import DataDriftPreset
        from evidently.pipeline.column_mapping import ColumnMapping
        from evidently.report import Report
    start = time.perf_counter()
    report = Report(
        [
            DataDriftPreset(
                num_stattest="wasserstein",
                cat_stattest="jensenshannon",
                num_stattest_threshold=EVIDENTLY_THRESHOLD,
                cat_stattest_threshold=EVIDENTLY_THRESHOLD,
            )
        ]
    )
    mapping = ColumnMapping(numerical_features=numeric, categorical_features=categorical)
    report.run(reference_data=reference, current_data=current, column_mapping=mapping)
    result = report.as_dict()
    seconds = time.perf_counter() - start
    table = next(m["result"] for m in result["metrics"] if m["metric"] == "DataDriftTable")
    by_column = table["drift_by_columns"]
    verdicts = {c: bool(v["drift_detected"]) for c, v in by_column.items()}
    scores = {c: float(v["drift_score"]) for c, v in by_column.items()}
    return seconds, verdicts, scores, evidently.__version__, load()


if __name__ == "__main__":
    sys.exit(main())
