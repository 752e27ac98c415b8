"""Scoring throughput: the champion on Spark (``mlflow.pyfunc.spark_udf``, the inference pipeline's
path) vs in-process ``predict_proba`` of the same model on the same rows (the single-process limit).

Needs ``make run`` (gold tables and a champion in mlflow.db). The gold rows are repeated to the
requested sizes (new keys, same values). Prints a table; never asserts on time.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
SIZES = [int(s) for s in os.environ.get("BENCH_SCORING_ROWS", "100000,1000000").split(",")]


def main() -> int:
    import mlflow
    from pyspark.sql import functions as F

    from lakehouse_mlops.framework import model_registry as registry
    from lakehouse_mlops.pipelines.inference.scoring import positive_probability
    from lakehouse_mlops.platform.spark_session import build_spark_session

    conf = yaml.safe_load((ROOT / "conf/base/spark.yml").read_text())
    conf.update(yaml.safe_load((ROOT / "conf/local/spark.yml").read_text()))
    spark = build_spark_session(conf)
    mlflow.set_tracking_uri(f"sqlite:///{ROOT / 'mlflow.db'}")
    name = "flight_delay"
    version = registry.alias_version(name, registry.CHAMPION)
    if version is None:
        print("no champion: run `make run` first", file=sys.stderr)
        return 1
    uri = f"models:/{name}/{version}"
    gold = spark.read.format("delta").load(str(ROOT / "data/04_gold/features"))
    base_rows = gold.count()
    inputs, probability = positive_probability(uri)
    model = registry.load_model(name, version)
    print(f"champion version {version}; gold rows {base_rows}; cores {os.cpu_count()}")
    print(
        f"{'rows':>10} {'spark_udf s':>12} {'rows/s':>10} {'predict_proba s':>16} {'rows/s':>10} {'ratio':>6}"
    )
    for size in SIZES:
        copies = -(-size // base_rows)
        frame = (
            gold.crossJoin(spark.range(copies).withColumnRenamed("id", "_copy"))
            .withColumn("flight_key", F.concat_ws("#", "flight_key", "_copy"))
            .limit(size)
            .select("flight_key", *inputs)
            .persist()
        )
        frame.count()
        start = time.perf_counter()
        frame.withColumn("probability", probability(frame)).write.format("noop").mode("overwrite").save()
        spark_seconds = time.perf_counter() - start
        pandas_rows = frame.select(*inputs).toPandas()  # the limit needs the rows in one process
        start = time.perf_counter()
        model.predict_proba(pandas_rows)
        local_seconds = time.perf_counter() - start
        frame.unpersist()
        print(
            f"{size:>10} {spark_seconds:>12.1f} {size / spark_seconds:>10,.0f} {local_seconds:>16.1f} "
            f"{size / local_seconds:>10,.0f} {local_seconds / spark_seconds:>6.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
