"""The driver's cost of ingestion's validation plans: classify + dispose + the silver and quarantine
selections of every feed of the selected use case (``LAKEHOUSE_USECASE``, default flights), built on
empty bronze frames, so only plan construction and Spark's analysis are timed, not data.

Before issue 18's change every rule was built with the Column API (each ``F.col``, ``F.lit``,
``F.when``, ``alias`` a py4j round trip into the JVM); now the rules are Spark SQL text handed over in
a few ``selectExpr`` calls. Per repetition it prints the wall time, the Python process's CPU time and
the py4j calls (``BENCH_REPEAT``, default 4; the first includes warm-up). Never asserts on time.
"""

from __future__ import annotations

import os
import time

from bench_cycle import Probe
from benchlib import load, project_parameters, spark_conf
from py4j.clientserver import ClientServerConnection

from lakehouse_mlops.pipelines.ingestion import bronze, silver
from lakehouse_mlops.pipelines.ingestion.rules import parse_rules
from lakehouse_mlops.pipelines.ingestion.validation import classify
from lakehouse_mlops.platform.spark_session import build_spark_session


def build_plans(rules, frames: dict) -> None:
    for name, feed in rules.feeds.items():
        disposed = silver.dispose(classify(frames[name], feed, frames, rules.null_tokens), feed)
        silver.silver_rows(disposed, feed)
        silver.quarantine_rows(disposed, name)


def main() -> None:
    rules = parse_rules(project_parameters()["ingestion"])
    spark = build_spark_session(spark_conf(**{"spark.master": "local[2]"}))
    feeds = rules.feeds.items()
    frames = {name: spark.createDataFrame([], bronze.bronze_schema(feed)) for name, feed in feeds}
    probe = Probe()  # bench_cycle's: py4j round trips counted as "jvm"
    probe.wrap(ClientServerConnection, "send_command", "jvm")
    print(f"{len(rules.feeds)} feeds, {sum(len(f.columns) for f in rules.feeds.values())} columns")
    print("| repetition | wall s | Python CPU s | py4j calls | load |")
    print("|---|---|---|---|---|")
    for repetition in range(int(os.environ.get("BENCH_REPEAT", "4"))):
        calls, wall, cpu = probe.calls["jvm"], time.perf_counter(), time.process_time()
        build_plans(rules, frames)
        wall, cpu, calls = time.perf_counter() - wall, time.process_time() - cpu, probe.calls["jvm"] - calls
        print(f"| {repetition + 1} | {wall:.2f} | {cpu:.2f} | {calls:,} | {load()} |", flush=True)
    spark.stop()


if __name__ == "__main__":
    main()
