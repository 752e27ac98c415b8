"""The continuous-training loop for real: cycles and a replay on a small lakehouse (UA flights from
EWR), with real Spark, Delta, MLflow and the installed pipelines."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from pyspark.sql import functions as F

from lakehouse_mlops import registry
from lakehouse_mlops.loop import Loop
from lakehouse_mlops.replay import replay
from tests.conftest import PROJECT_ROOT, make_project
from tests.small_lakehouse import FAST_TRAINING, PROMOTION_BARS, build_history_and_champion, land_small_month

pytestmark = pytest.mark.integration
MODEL = "flight_delay"
#: a hair-trigger policy, so that the replay exercises retraining and the gate
EAGER_POLICY = {
    "monitoring": {
        "policy": {
            "drift_share_threshold": 0.1,
            "drift_consecutive_windows": 1,
            "cooldown_windows": 2,
        }
    }
}


@pytest.fixture(scope="module")
def lakehouse(tmp_path_factory, spark) -> Path:
    return build_history_and_champion(make_project(tmp_path_factory.mktemp("loop")))


def make_loop(project: Path, extra: dict | None = None) -> Loop:
    params = {**FAST_TRAINING, **PROMOTION_BARS, **(extra or {})}
    return Loop(PROJECT_ROOT, conf_source=str(project / "conf"), params=params, lander=land_small_month)


def table(spark, project: Path, name: str):
    return spark.read.format("delta").load(str(project / "data" / "05_ml" / name))


def test_a_cycle_scores_monitors_and_decides(lakehouse, spark):
    result = make_loop(lakehouse).cycle("2013-05", echo=lambda _: None)
    assert result.ok, [s.line() for s in result.stages]
    assert [s.stage for s in result.stages] == [
        "land",
        "ingestion",
        "features",
        "inference",
        "monitoring",
        "training",
        "promotion",
    ]
    assert result.scored_by == registry.alias_version(MODEL, "champion") == "1"
    assert result.decision in ("none", "alert", "retrain")
    predictions = table(spark, lakehouse, "predictions").filter(F.col("batch_id") == "2013-05")
    gold = spark.read.format("delta").load(str(lakehouse / "data/04_gold/flight_features"))
    assert predictions.count() == gold.filter(F.col("batch_id") == "2013-05").count() > 1000
    assert predictions.filter((F.col("probability") < 0) | (F.col("probability") > 1)).isEmpty()
    metrics = table(spark, lakehouse, "monitoring_metrics").filter(F.col("monitored_batch_id") == "2013-05")
    kinds = {r["kind"] for r in metrics.select("kind").distinct().collect()}
    assert {"data_drift", "data_quality", "prediction_drift", "summary"} <= kinds
    # the labels of April landed with May, but April was never scored: no performance yet
    assert "performance" not in kinds
    decisions = table(spark, lakehouse, "decisions").filter(
        (F.col("kind") == "monitoring") & (F.col("batch_id") == "2013-05")
    )
    assert [r["decision"] for r in decisions.collect()] == [result.decision]
    report = (lakehouse / "data/08_reporting/monitoring/batches/2013-05.html").read_text()
    assert "Monitoring — batch 2013-05" in report and "data:image/png;base64," in report


def test_rerunning_a_cycle_changes_nothing(lakehouse, spark):
    before = table(spark, lakehouse, "predictions").count()
    result = make_loop(lakehouse).cycle("2013-05", echo=lambda _: None)
    assert result.ok
    for stage in result.stages:
        assert "tables changed" not in stage.summary, stage.line()
    assert table(spark, lakehouse, "predictions").count() == before
    decisions = table(spark, lakehouse, "decisions").filter(F.col("kind") == "monitoring")
    assert decisions.count() == 1


def test_replay_writes_the_timeline_and_retrains_on_trigger(lakehouse, spark):
    frame, summary = replay(make_loop(lakehouse, EAGER_POLICY), ["2013-06", "2013-07", "2013-08"])
    assert list(frame["batch_id"]) == ["2013-06", "2013-07", "2013-08"]
    # June's labels land with July, July's with August; August has none yet
    labelled = frame.dropna(subset=["auc_deployed", "auc_static", "auc_always_retrain"])
    assert list(labelled["batch_id"]) == ["2013-06", "2013-07"]
    assert labelled[["auc_deployed", "auc_static", "auc_always_retrain"]].gt(0.5).all().all()
    assert summary["retrains"] >= 1 and summary["always_retrain_retrains"] == 3
    retrained = frame.dropna(subset=["retrained_version"])
    for version in retrained["retrained_version"]:
        assert registry.version_tags(MODEL, version)["gate.decision"] in ("promote", "reject")
    # performance on late labels was measured per batch and model version
    performance = table(spark, lakehouse, "monitoring_metrics").filter(
        (F.col("kind") == "performance") & (F.col("metric") == "roc_auc")
    )
    assert {r["batch_id"] for r in performance.collect()} >= {"2013-05", "2013-06", "2013-07"}
    saved = pd.read_csv(lakehouse / "data/08_reporting/replay/timeline.csv")
    assert len(saved) == 3
    assert (lakehouse / "data/08_reporting/replay/timeline.png").stat().st_size > 10_000
