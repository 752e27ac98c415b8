"""Warm the Delta JAR cache once at setup: resolve the JARs through Spark's package mechanism
(``spark.jars.packages``, cached by Ivy), then remember the resolved files so that later starts use
them directly (no resolver output, no network).

``python -m lakehouse_mlops.platform.jars [conf/base/spark.yml]`` exits 0 when Spark + Delta start, else
prints what to do.
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

from lakehouse_mlops.framework.errors import SparkStartupError
from lakehouse_mlops.platform.spark_session import (
    build_spark_session,
    cached_delta_jars,
    remember_delta_jars,
)


def main(argv: list[str]) -> int:
    if cached_delta_jars() is not None:
        return 0
    spark_yml = Path(argv[0] if argv else "conf/base/spark.yml")
    conf = yaml.safe_load(spark_yml.read_text()) if spark_yml.exists() else {}
    conf.update({"spark.master": "local[1]", "spark.ui.enabled": "false"})
    try:
        spark = build_spark_session(conf, use_cached_jars=False)
        spark.range(1).collect()
        resolved = spark.sparkContext.getConf().get("spark.jars", "")
        spark.stop()
    except SparkStartupError as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return 1
    remember_delta_jars(resolved.split(","))
    print(f"Delta Lake JARs ready ({len(resolved.split(','))} files cached)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
