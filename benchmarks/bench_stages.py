"""Per stage (ingestion, features, scoring, profile, monitoring): wall time, rows/s, peak RSS at N rows.

For each size (argv or ``BENCH_SIZES``, default ``100000,1000000``; the 10M run is opt-in:
``BENCH_SIZES=100000,1000000,10000000``) a fresh sandbox lakehouse in a temporary folder gets the
whole of 2013 scaled to N flight rows (``scale``), then:

- ingestion: the ``ingestion`` pipeline (Kedro run) over every landed file (flights, outcomes,
  weather, references); rows/s over all landed rows;
- features: the ``features`` pipeline (Kedro run) for every batch; rows/s over the gold rows;
- scoring: ``mlflow.pyfunc.spark_udf`` of a model (HistGradientBoosting fitted here on a sample of
  the labelled rows, logged to the sandbox store) over every gold row, to Spark's ``noop`` sink; and
  the limit: in-process ``predict_proba`` of the same model on the same rows (up to 2M rows);
- profile: the reference's profile (Jan–Jun; ``profiles.profile_reference``: moments, quantiles,
  bucket counts and sums, categories), which the monitoring computes once per model version and
  stores; the real pipeline also scores the reference once for its score profile (that cost is the
  scoring stage's rate);
- monitoring: the data drift and quality of every monitored feature of Jul–Dec against that profile
  (``drift.drift_rows``: what every monitoring run after a version's first does).

Peak RSS per stage (sampled every 0.2 s): the driver's Python, the local-mode JVM (driver and
executors are one JVM in local mode) and the sum of the Python workers. Prints tables; never asserts
on time. Set ``BENCH_TMP`` to put the sandboxes elsewhere than the system temp folder,
``BENCH_KEEP=1`` to keep them (e.g. for ``bench_drift.py``'s ``BENCH_GOLD``) and
``BENCH_DRIVER_MEMORY`` (e.g. ``12g``) for a larger local-mode heap than conf's 4g: 10M rows do not
fit in 4 GiB (the outcomes validation ran out of heap). ``BENCH_LIMIT_MAX_ROWS`` (default 2M) is the
largest size whose in-process limit is measured (10M needs ``BENCH_DRIVER_MEMORY=12g``).
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
from benchlib import ROOT, MemorySampler, load, project_parameters

os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "1")
os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
#: in-process predict_proba needs every row in one pandas frame (10M rows: 4.2 GiB, and a driver
#: result size above Spark's 1 GiB default, which BENCH_DRIVER_MEMORY lifts too)
LIMIT_MAX_ROWS = int(os.environ.get("BENCH_LIMIT_MAX_ROWS", "2000000"))
FIT_SAMPLE_ROWS = 100_000
SPLIT_DATE = "2013-07-01"


def sizes() -> list[int]:
    raw = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("BENCH_SIZES", "100000,1000000")
    return [int(s) for s in raw.split(",") if s]


def kedro_run(project: Path, pipeline: str) -> None:
    from kedro.framework.session import KedroSession

    from lakehouse_mlops.platform.tracking import end_leftover_runs

    end_leftover_runs()
    with KedroSession.create(project_path=ROOT, conf_source=str(project / "conf")) as session:
        session.run(pipeline_names=[pipeline])
    end_leftover_runs()


def fit_model(spark, project: Path, training: dict) -> str:
    """A HistGradientBoosting pipeline fitted on a sample of the labelled rows, logged to the sandbox."""
    import mlflow
    from mlflow.models import infer_signature

    from lakehouse_mlops.framework.usecase import parse_usecase
    from lakehouse_mlops.pipelines.training import nodes

    gold = project / "data/04_gold"
    features = spark.read.format("delta").load(str(gold / "features"))
    labels = spark.read.format("delta").load(str(gold / "labels"))
    fraction = min(1.0, FIT_SAMPLE_ROWS / features.count())
    examples = nodes.collect_examples(
        features.sample(False, fraction, seed=7), labels, project_parameters()["usecase"]
    )
    train, valid, *_ = nodes.split_windows(examples, training, project_parameters()["usecase"])
    best = {"learning_rate": 0.1, "max_iter": 100, "max_leaf_nodes": 31, "min_samples_leaf": 60}
    model = nodes.fit_final_model(train, valid, best, training, project_parameters()["usecase"])
    x = train[parse_usecase(project_parameters()["usecase"]).features.all]
    mlflow.set_tracking_uri(f"sqlite:///{project / 'mlflow.db'}")
    mlflow.set_experiment("bench_stages")
    with mlflow.start_run():
        info = mlflow.sklearn.log_model(
            model,
            name="model",
            signature=infer_signature(x.head(100), model.predict_proba(x.head(100))),
            serialization_format="cloudpickle",
            pyfunc_predict_fn="predict_proba",
        )
    return info.model_uri


def count_landed(landing: Path) -> dict[str, int]:
    counts: dict[str, int] = {}
    for path in landing.rglob("*.csv"):
        with open(path, "rb") as handle:
            counts[path.parent.parent.name] = (
                counts.get(path.parent.parent.name, 0) + sum(1 for _ in handle) - 1
            )
    return counts


def run_size(size: int, base: Path, memory: MemorySampler, results: list, limits: list) -> None:
    import scale
    from pyspark.sql import SparkSession
    from pyspark.sql import functions as F

    from lakehouse_mlops.framework.usecase import parse_usecase
    from lakehouse_mlops.ops.sandbox import make_sandbox
    from lakehouse_mlops.pipelines.inference.scoring import positive_probability
    from lakehouse_mlops.pipelines.monitoring.config import parse_monitoring
    from lakehouse_mlops.pipelines.monitoring.drift import drift_rows
    from lakehouse_mlops.pipelines.monitoring.profiles import profile_reference

    project = make_sandbox(ROOT, base / f"rows_{size}")
    if os.environ.get("BENCH_DRIVER_MEMORY"):  # read when the first size starts Spark
        local = project / "conf/local/spark.yml"
        spark_yml = yaml.safe_load(local.read_text())
        spark_yml["spark.driver.memory"] = os.environ["BENCH_DRIVER_MEMORY"]
        spark_yml["spark.driver.maxResultSize"] = os.environ["BENCH_DRIVER_MEMORY"]
        local.write_text(yaml.safe_dump(spark_yml))
    landing = project / "data/01_landing"

    def record(stage: str, seconds: float, rows: int, peak, note: str = "") -> None:
        results.append((size, stage, seconds, rows, peak, load(), note))
        driver, jvm, workers = peak.mib()
        print(
            f"  {size:>10,} {stage:<11} {seconds:8.1f} s {rows:>11,} rows  load {load()}  peak MiB: driver "
            f"python {driver:,.0f}, JVM {jvm:,.0f}, workers {workers:,.0f}  {note}",
            flush=True,
        )

    with memory.stage(f"{size}/land") as peak:
        start = time.perf_counter()
        scale.land_year(landing, size)
        landed = count_landed(landing)
    record("land", time.perf_counter() - start, sum(landed.values()), peak, f"flights {landed['flights']:,}")

    with memory.stage(f"{size}/ingestion") as peak:
        start = time.perf_counter()
        kedro_run(project, "ingestion")
    record("ingestion", time.perf_counter() - start, sum(landed.values()), peak, "all feeds")

    with memory.stage(f"{size}/features") as peak:
        start = time.perf_counter()
        kedro_run(project, "features")
    spark = SparkSession.builder.getOrCreate()
    gold = project / "data/04_gold"
    gold_rows = spark.read.format("delta").load(str(gold / "features")).count()
    record("features", time.perf_counter() - start, gold_rows, peak, "flight_features + labels")

    training = yaml.safe_load((ROOT / "conf/base/parameters_training.yml").read_text())["training"]
    start = time.perf_counter()
    model_uri = fit_model(spark, project, training)
    print(f"  (model fitted and logged in {time.perf_counter() - start:.1f} s, not a stage)", flush=True)

    with memory.stage(f"{size}/scoring") as peak:
        start = time.perf_counter()
        inputs, probability = positive_probability(model_uri)
        features = spark.read.format("delta").load(str(gold / "features"))
        scored = features.select("flight_key", probability(features).alias("probability"))
        scored.write.format("noop").mode("overwrite").save()
    spark_seconds = time.perf_counter() - start
    record("scoring", spark_seconds, gold_rows, peak, "spark_udf -> noop (incl. model load on workers)")
    # the same scoring again in the same application: the workers hold the model (steady state)
    start = time.perf_counter()
    scored.write.format("noop").mode("overwrite").save()
    warm_seconds = time.perf_counter() - start
    if gold_rows <= LIMIT_MAX_ROWS:
        import mlflow

        frame = features.select(*inputs).toPandas()  # the limit needs every row in one process
        model = mlflow.sklearn.load_model(model_uri)
        start = time.perf_counter()
        model.predict_proba(frame)
        local_seconds = time.perf_counter() - start
        limits.append((size, gold_rows, spark_seconds, warm_seconds, local_seconds, load()))
        del frame
    else:
        limits.append((size, gold_rows, spark_seconds, warm_seconds, None, load()))

    monitoring = yaml.safe_load((ROOT / "conf/base/parameters_monitoring.yml").read_text())["monitoring"]
    spec, usecase = parse_monitoring(monitoring), parse_usecase(project_parameters()["usecase"])
    numeric, categorical = usecase.monitored_numeric, usecase.monitored_categorical
    features = spark.read.format("delta").load(str(gold / "features"))
    reference = features.filter(F.col("flight_date") < F.lit(SPLIT_DATE))
    current = features.filter(F.col("flight_date") >= F.lit(SPLIT_DATE))
    settings = spec.numeric
    with memory.stage(f"{size}/profile") as peak:
        start = time.perf_counter()
        profile = profile_reference(
            reference, numeric, categorical, settings.quantiles, settings.quantile_relative_error
        )
    reference_rows = profile.categories[categorical[0]].rows
    record(
        "profile", time.perf_counter() - start, reference_rows, peak, "reference Jan-Jun, once per version"
    )
    with memory.stage(f"{size}/monitoring") as peak:
        start = time.perf_counter()
        rows = drift_rows(profile, current, spec)
    drifted = sum(1 for r in rows if r["metric"] == "drift_detected" and r["flagged"])
    record(
        "monitoring",
        time.perf_counter() - start,
        gold_rows - reference_rows,
        peak,
        f"Jul-Dec vs the profile: {len(numeric) + len(categorical)} features, {drifted} drifted",
    )


def main() -> int:
    from kedro.framework.startup import bootstrap_project

    bootstrap_project(ROOT)
    memory = MemorySampler()
    results: list = []
    limits: list = []
    base = Path(tempfile.mkdtemp(prefix="bench_stages_", dir=os.environ.get("BENCH_TMP")))
    print(f"sizes {sizes()}; sandboxes under {base}", flush=True)
    try:
        for size in sizes():
            run_size(size, base, memory, results, limits)
            if not os.environ.get("BENCH_KEEP"):
                shutil.rmtree(base / f"rows_{size}", ignore_errors=True)
    finally:
        marks = memory.high_water_marks()
        memory.close()
        if not os.environ.get("BENCH_KEEP"):
            shutil.rmtree(base, ignore_errors=True)
    print(f"\nmachine: {platform.machine()}, {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    print("load = 1/5/15-minute load averages at the end of the stage (shared machine)")
    header = f"{'flights':>10} {'stage':<11} {'seconds':>8} {'rows':>11} {'rows/s':>9}"
    print(f"{header} {'driver py MiB':>13} {'JVM MiB':>8} {'workers MiB':>11}  {'load':<15} note")
    for size, stage, seconds, rows, peak, at, note in results:
        driver, jvm, workers = peak.mib()
        print(
            f"{size:>10,} {stage:<11} {seconds:>8.1f} {rows:>11,} {rows / seconds:>9,.0f} "
            f"{driver:>13,.0f} {jvm:>8,.0f} {workers:>11,.0f}  {at:<15} {note}"
        )
    print("\nscoring: Spark (spark_udf) vs the single-process limit (predict_proba), same model, same rows")
    print("cold = first scoring of the application (starts the Python workers, loads the model in each);")
    print("warm = the same scoring again in that application")
    print(
        f"{'flights':>10} {'rows':>11} {'cold s':>7} {'warm s':>7} {'rows/s':>9} {'limit s':>8} {'rows/s':>9}"
        f" {'cold/limit':>10} {'warm/limit':>10}"
    )
    for size, rows, cold_s, warm_s, local_s, at in limits:
        line = f"{size:>10,} {rows:>11,} {cold_s:>7.1f} {warm_s:>7.1f} {rows / warm_s:>9,.0f}"
        if local_s is None:
            print(f"{line} (limit skipped) load {at}")
            continue
        print(
            f"{line} {local_s:>8.1f} {rows / local_s:>9,.0f} {local_s / cold_s:>10.2f} "
            f"{local_s / warm_s:>10.2f}  load {at}"
        )
    print(
        f"\nlifetime VmHWM: driver python {marks.get('driver_python', 0) / 1024:,.0f} MiB, "
        f"JVM {marks.get('jvm', 0) / 1024:,.0f} MiB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
