"""Drift computation: the monitoring's Spark profiles + statistics vs one plain Spark scan of the same
columns (target ≤ 2×), and vs Evidently on pandas at equal decisions, at 1M rows.

Rows: the gold ``flight_features`` table of a lakehouse (``BENCH_GOLD``, e.g. a sandbox kept by
``BENCH_KEEP=1 bench_stages.py``; otherwise a sandbox of ``BENCH_DRIFT_BUILD_ROWS`` flights, default
100,000, is built here with ``benchmarks/scale.py``, ingestion and features), repeated (new keys,
same values) or cut (a uniform sample) to ``BENCH_DRIFT_ROWS`` rows (default 1,000,000) and written
once to a Delta table in a temporary folder, so every contender reads the same files. Reference =
flights before 2013-07-01, current = from 2013-07-01 (the seasons differ: weather features drift,
others do not).

- drift of a window: ``drift.drift_rows`` of the current window against the reference's stored
  profile (what every monitoring run of a model version does after its first: one Spark job, each
  partition's counts and sums per reference-quantile bucket and category counts by numpy on the
  executors; then KS, normalised Wasserstein, PSI, Jensen–Shannon, chi-square and the quality checks),
  against a plain scan of the same window;
- first window of a version: ``drift.compare_windows`` (the reference profiled first: moments and
  1,000 approximate quantiles, its bucket counts; then the window), against a plain scan of both;
- a window monitored with estimation and slices on (issue 16's goal: ≤ 1.5× a plain scan): the
  drift above, then the window's estimated performance (CBPE) and that of each of the use case's
  slices, and realised performance of the window and of each slice (a stand-in score and a label
  drawn from it are added to the rows: ``with_scores_and_labels``), against a plain scan of the same
  columns plus the score and the label;
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
from benchlib import ROOT, load, project_parameters, spark_conf

os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "1")
os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
ROWS = int(os.environ.get("BENCH_DRIFT_ROWS", "1000000"))
BUILD_ROWS = int(os.environ.get("BENCH_DRIFT_BUILD_ROWS", "100000"))
SPLIT_DATE = "2013-07-01"
EVIDENTLY_THRESHOLD = 0.1


def build_gold(base: Path) -> Path:
    """A sandbox with the year scaled to BUILD_ROWS flights: ingestion and features (minutes)."""
    import scale
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project

    from lakehouse_mlops.ops.sandbox import make_sandbox

    bootstrap_project(ROOT)
    project = make_sandbox(ROOT, base / "lakehouse")
    scale.land_year(project / "data/01_landing", BUILD_ROWS)
    for pipeline in ("ingestion", "features"):
        with KedroSession.create(project_path=ROOT, conf_source=str(project / "conf")) as session:
            session.run(pipeline_names=[pipeline])
    return project / "data/04_gold/features"


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

    from lakehouse_mlops.framework.usecase import parse_usecase
    from lakehouse_mlops.pipelines.monitoring import slices
    from lakehouse_mlops.pipelines.monitoring.config import parse_monitoring
    from lakehouse_mlops.pipelines.monitoring.drift import compare_windows, drift_rows
    from lakehouse_mlops.pipelines.monitoring.estimated import estimated_rows, expected_bins
    from lakehouse_mlops.pipelines.monitoring.estimation import Calibrator
    from lakehouse_mlops.pipelines.monitoring.performance import performance_by_version, performance_rows
    from lakehouse_mlops.pipelines.monitoring.profiles import profile_reference
    from lakehouse_mlops.pipelines.monitoring.reference import profiles_from_rows
    from lakehouse_mlops.platform.spark_session import build_spark_session

    base = Path(tempfile.mkdtemp(prefix="bench_drift_", dir=os.environ.get("BENCH_TMP")))
    try:
        gold_path = os.environ.get("BENCH_GOLD") or str(build_gold(base))
        spark = SparkSession.getActiveSession() or build_spark_session(spark_conf())
        monitoring = yaml.safe_load((ROOT / "conf/base/parameters_monitoring.yml").read_text())["monitoring"]
        spec, usecase = parse_monitoring(monitoring), parse_usecase(project_parameters()["usecase"])
        numeric, categorical = usecase.monitored_numeric, usecase.monitored_categorical

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
            .transform(with_scores_and_labels)
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

        settings = spec.numeric
        profile = profile_reference(
            reference, numeric, categorical, settings.quantiles, settings.quantile_relative_error
        )
        profiles = str(base / "reference_profiles")
        store_profile(profile, profiles)

        def window_drift():
            """As a monitoring run after a version's first: read its stored profile, count the window."""
            stored = [r.asDict() for r in spark.read.format("delta").load(profiles).collect()]
            return drift_rows(profiles_from_rows(stored).data, current, spec)

        def scan(rows, extra=()):
            aggregates = [F.count(F.lit(1))]
            for c in [*numeric, *extra]:
                aggregates += [F.count(c), F.avg(c)]
            for c in categorical:
                aggregates += [F.count(c), F.max(c)]
            return rows.agg(*aggregates).collect()

        def estimated():
            bins, confusion = expected_bins(current, "predicted", Calibrator(), spec.performance.score_bins)
            return estimated_rows(bins, confusion, spec.performance)

        def estimated_slices():
            return slices.estimated_slice_rows(
                current, usecase.monitoring.slices, "predicted", Calibrator(), spec.performance, spec.slices
            )

        def realised():
            measured = performance_by_version(current, "is_late", spec.performance, "predicted")
            return performance_rows(measured["1"], {"roc_auc": 0.7, "brier": 0.2}, spec.performance)

        def realised_slices():
            return slices.realised_slice_rows(
                current,
                usecase.monitoring.slices,
                "is_late",
                "predicted",
                spec.performance,
                spec.slices,
                "_batch",
            )

        monitored_parts = {
            "estimated performance (CBPE)": estimated,
            "estimated performance per slice": estimated_slices,
            "realised performance": realised,
            "realised performance per slice": realised_slices,
        }

        def monitored_window():
            """What a monitoring run computes over its rows with estimation and slices on: the drift of
            the window, its estimated performance and that of each slice, and (as for the window whose
            labels landed) realised performance of the window and of each slice."""
            rows = window_drift()
            for part in monitored_parts.values():
                rows += part()
            return rows

        contenders = {
            "window": window_drift,
            "window_scan": lambda: scan(current),
            "monitored": monitored_window,
            "scored_scan": lambda: scan(current, SCORE_COLUMNS),
            "first": lambda: compare_windows(reference, current, numeric, categorical, spec),
            "both_scan": lambda: scan(frame),
        }
        timings = {name: [] for name in contenders}
        results = {}
        for _ in range(2):
            for name, contender in contenders.items():
                seconds, results[name], at = timed(contender)
                timings[name].append((seconds, at))
        best = {name: min(s for s, _ in runs) for name, runs in timings.items()}
        found = results["window"]
        same = _verdicts(found) == _verdicts(results["first"])
        parts = breakdown(reference, current, numeric, categorical, spec)
        for name, part in monitored_parts.items():
            seconds, _, at = timed(part)
            parts[f"window: {name}"] = (seconds, at)
        ours = _verdicts(found)
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
    print(f"{'contender':<52} {'seconds':>8} {'rows/s':>10} {'vs scan':>8}  load (per run)")
    windows = {"window": len(cur_pd), "window_scan": len(cur_pd), "first": rows, "both_scan": rows}
    windows.update(monitored=len(cur_pd), scored_scan=len(cur_pd))
    for name, label, scan_name in [
        ("window", "drift of a window (stored reference profile)", "window_scan"),
        ("window_scan", "plain Spark scan of the window (one agg)", "window_scan"),
        ("monitored", "drift + estimation + slices + realised, the window", "scored_scan"),
        ("scored_scan", "plain scan of the window with score and label", "scored_scan"),
        ("first", "first window of a version: profile + drift", "both_scan"),
        ("both_scan", "plain Spark scan of both windows (one agg)", "both_scan"),
    ]:
        runs = ", ".join(f"{s:.1f} s @ {at}" for s, at in timings[name])
        print(
            f"{label:<52} {best[name]:>8.1f} {windows[name] / best[name]:>10,.0f} "
            f"{best[name] / best[scan_name]:>8.2f}  {runs}"
        )
    print(f"same verdicts from the stored profile and from profiling anew: {same}")
    print("where the time goes (each part once):")
    for name, (seconds, at) in parts.items():
        print(f"  {name:<50} {seconds:>8.1f} {'':>20}  {at}")
    print(f"{'toPandas of the same rows (for Evidently)':<52} {to_pandas_s:>8.1f} {'':>20}  {to_pandas_load}")
    if evidently is None:
        print("Evidently: skipped (not importable in this environment)")
    else:
        seconds, verdicts, scores, version, at = evidently
        print(
            f"{'Evidently ' + version + ' DataDriftPreset (pandas)':<52} {seconds:>8.1f} "
            f"{rows / seconds:>10,.0f} {seconds / best['both_scan']:>8.2f}  {at}"
        )
        print(f"Evidently / first window: {seconds / best['first']:.2f}x (pandas conversion not included)")
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


#: the columns a scored, labelled window adds to its features (see ``with_scores_and_labels``)
SCORE_COLUMNS = ("probability", "predicted", "is_late")


def with_scores_and_labels(frame):
    """A stand-in model's score (a logistic function of the departure hour and distance plus noise from
    the key's hash: the same on every run), its predicted label, a label drawn from the score, the
    model version and one batch: what the predictions joined with their labels hold."""
    from pyspark.sql import functions as F

    def uniform(salt: str):
        return (F.abs(F.xxhash64("flight_key", F.lit(salt))) % 1_000_000) / 1_000_000

    logit = (F.col("dep_hour") - 14) / 4 + (F.col("distance") - 1000) / 2000 + (uniform("noise") - 0.5) * 2
    probability = 1 / (1 + F.exp(-logit))
    return (
        frame.withColumn("probability", probability)
        .withColumn("predicted", (F.col("probability") >= 0.5).cast("int"))
        .withColumn("is_late", (uniform("label") < F.col("probability")).cast("int"))
        .withColumn("model_version", F.lit("1"))
        .withColumn("_batch", F.lit("window"))
    )


def store_profile(profile, path: str) -> None:
    """The data profile as rows of a ``reference_profiles`` table (no score profile here)."""
    from datetime import datetime

    import numpy as np

    from lakehouse_mlops.pipelines.monitoring.profiles import ReferenceProfile
    from lakehouse_mlops.pipelines.monitoring.reference import ReferenceProfiles, profile_frame, profile_rows

    no_scores = ReferenceProfile({}, {}, {}, {})
    identity = {
        "model_name": "bench",
        "model_version": "1",
        "settings_key": "bench",
        "computed_at": datetime.now(),
    }
    rows = profile_rows(ReferenceProfiles(profile, no_scores, np.array([0.0, 1.0]), np.zeros(1)), identity)
    profile_frame(rows).write.format("delta").save(path)


def breakdown(reference, current, numeric: list[str], categorical: list[str], spec) -> dict:
    """The three Spark jobs of a version's first window, each timed once (later windows: the last)."""
    from lakehouse_mlops.pipelines.monitoring.profiles import bucket_splits, numeric_profiles, window_counts

    settings = spec.numeric
    profiles = numeric_profiles(reference, numeric, settings.quantiles, settings.quantile_relative_error)
    splits = {c: bucket_splits(p) for c, p in profiles.items()}
    steps = {
        f"reference: moments + {settings.quantiles} quantiles": lambda: numeric_profiles(
            reference, numeric, settings.quantiles, settings.quantile_relative_error
        ),
        "reference: bucket counts and sums + categories": lambda: window_counts(
            [reference], splits, categorical
        ),
        "window: bucket counts and sums + categories": lambda: window_counts([current], splits, categorical),
    }
    parts = {}
    for name, step in steps.items():
        seconds, _, at = timed(step)
        parts[name] = (seconds, at)
    return parts


def _verdicts(rows: list[dict]) -> dict[str, bool]:
    return {
        r["feature"]: bool(r["flagged"])
        for r in rows
        if r["kind"] == "data_drift" and r["metric"] == "drift_detected"
    }


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
