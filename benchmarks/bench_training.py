"""Training: hyperopt trials per minute with SparkTrials parallelism 2 vs 1, and the refit/evaluation.

Needs the gold tables of ``make run`` (data/04_gold). Calls the training nodes directly (no MLflow
run is created); prints a table; never asserts on time.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")


def main() -> int:
    from benchlib import project_parameters

    from lakehouse_mlops.framework.usecase import parse_usecase
    from lakehouse_mlops.pipelines.training import nodes, tuning
    from lakehouse_mlops.pipelines.training.config import parse_training
    from lakehouse_mlops.platform.spark_session import build_spark_session

    conf = yaml.safe_load((ROOT / "conf/base/spark.yml").read_text())
    conf.update(yaml.safe_load((ROOT / "conf/local/spark.yml").read_text()))
    spark = build_spark_session(conf)
    training = yaml.safe_load((ROOT / "conf/base/parameters_training.yml").read_text())["training"]
    gold = ROOT / "data/04_gold"
    features = spark.read.format("delta").load(str(gold / "features"))
    labels = spark.read.format("delta").load(str(gold / "labels"))
    examples = nodes.collect_examples(features, labels, project_parameters()["usecase"])
    train, valid, test, windows = nodes.split_windows(examples, training, project_parameters()["usecase"])
    rows = []
    evals = 8
    for parallelism in (1, 2):
        search = {
            **training["search"],
            "parallelism": parallelism,
            "max_evals": evals,
            "early_stop_rounds": evals,
        }
        spec = parse_training({**training, "search": search})
        start = time.perf_counter()
        _, trials = tuning.tune(spec, parse_usecase(project_parameters()["usecase"]), train, valid)
        seconds = time.perf_counter() - start
        done = int((trials["status"] == "ok").sum())
        rows.append((f"SparkTrials parallelism {parallelism}", done, seconds, 60 * done / seconds))
    start = time.perf_counter()
    best = {
        "learning_rate": 0.1,
        "max_iter": 200,
        "max_leaf_nodes": 31,
        "min_samples_leaf": 60,
        "l2_regularization": 0.01,
    }
    model = nodes.fit_final_model(train, valid, best, training, project_parameters()["usecase"])
    fit_seconds = time.perf_counter() - start
    start = time.perf_counter()
    metrics, *_ = nodes.evaluate_on_test(model, test, training)
    eval_seconds = time.perf_counter() - start
    print(f"\ntrain {len(train)} rows, validation {len(valid)}, test {len(test)}; windows {windows}")
    print(f"{'hyperopt':<28} {'trials':>6} {'seconds':>8} {'trials/min':>10}")
    for name, done, seconds, rate in rows:
        print(f"{name:<28} {done:>6} {seconds:>8.1f} {rate:>10.1f}")
    print(f"speed-up 2 vs 1: {rows[1][3] / rows[0][3]:.2f}x")
    print(
        f"refit (2 fits incl. threshold probe): {fit_seconds:.1f} s; evaluation + plots + SHAP: "
        f"{eval_seconds:.1f} s; test ROC AUC {metrics['roc_auc']['value']:.4f}"
    )
    spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
