"""Features → training (hyperopt on SparkTrials) → promotion → rollback → reproduce, for real.

One small lakehouse (United Airlines flights from EWR, Jan–Apr 2013) is built once for the module;
the tests then exercise the life cycle on it in order.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml
from mlflow.tracking import MlflowClient
from pyspark.sql import functions as F

from lakehouse_mlops.framework import model_registry as registry
from lakehouse_mlops.framework.datasets import DeltaSparkDataset
from lakehouse_mlops.ops import operations
from lakehouse_mlops.usecases.flights.nodes import build_flight_features
from tests.conftest import PROJECT_ROOT, project_parameters, run_pipeline
from tests.small_lakehouse import PROMOTION_BARS, copy_lakehouse

pytestmark = pytest.mark.integration
USECASE = project_parameters()["usecase"]
MODEL = "flight_delay"
WEAK_TRAINING = {  # the same model family, blind to almost everything
    "usecase": {
        "features": {"categorical": ["origin"], "numeric": ["dep_weekday"]},
        "monitoring": {"exclude": []},
    },
    "training": {
        "search": {"max_evals": 2, "parallelism": 1, "use_spark_trials": False},
        "profile_sample_rows": 500,
    },
}


@pytest.fixture(scope="module")
def lakehouse(tmp_path_factory, small_champion_lakehouse) -> Path:
    return copy_lakehouse(small_champion_lakehouse, tmp_path_factory.mktemp("lifecycle"))


def table(spark, project: Path, layer: str, name: str):
    return spark.read.format("delta").load(str(project / "data" / layer / name))


def test_first_model_passing_the_bars_becomes_champion(lakehouse):
    assert registry.aliases(MODEL) == {"champion": "1", "challenger": "1"}
    tags = registry.version_tags(MODEL, "1")
    assert tags["gate.decision"] == "promote"
    assert float(tags["test_roc_auc"]) > 0.6


def test_hyperopt_ran_on_spark_trials_and_every_trial_was_logged(lakehouse):
    trials = pd.read_csv(lakehouse / "data/08_reporting/training/hyperopt_trials.csv")
    assert len(trials) >= 2 and (trials["status"] == "ok").sum() >= 2
    run_id = registry.version_tags(MODEL, "1")["run_id"]
    history = MlflowClient().get_metric_history(run_id, "trial_loss_history.trial_loss")
    assert len(history) == (trials["status"] == "ok").sum()
    artifacts = {a.path for a in MlflowClient().list_artifacts(run_id, "plots")}
    assert {"plots/roc_curve.png", "plots/shap_summary.png", "plots/feature_importance.png"} <= artifacts


def test_lineage_points_to_readable_delta_versions(lakehouse, spark):
    tags = registry.version_tags(MODEL, "1")
    for name in ("gold_features", "gold_labels"):
        path, version = tags[f"lineage.{name}.path"], int(tags[f"lineage.{name}.version"])
        assert DeltaSparkDataset(filepath=path, version=version).load().count() > 0
    assert len(tags["git_commit"]) in (40, 7) or tags["git_commit"] == "unknown"
    run = MlflowClient().get_run(tags["run_id"])
    sources = [d.dataset.source for d in run.inputs.dataset_inputs]
    assert any("/04_gold/features" in s and '"delta_table_version": "' in s for s in sources), sources


def test_gold_columns_document_themselves(lakehouse, spark):
    fields = {
        f.name: f.metadata.get("comment")
        for f in table(spark, lakehouse, "04_gold", "features").schema.fields
    }
    assert "late-arrival rate of the route" in fields["route_late_rate_30d"]


def test_gate_rejects_a_weaker_model(lakehouse, spark):
    run_pipeline(lakehouse, "training", WEAK_TRAINING)
    assert registry.alias_version(MODEL, "challenger") == "2"
    run_pipeline(lakehouse, "promotion", PROMOTION_BARS)
    assert registry.alias_version(MODEL, "champion") == "1"
    rejected = (
        table(spark, lakehouse, "05_ml", "decisions")
        .filter((F.col("candidate_version") == "2") & (F.col("kind") == "promotion"))
        .collect()
    )
    assert [r["decision"] for r in rejected] == ["reject"]
    assert any("champion" in reason or "baseline" in reason for reason in rejected[0]["reasons"])
    # the paired comparison with the champion on the same rows is recorded, and cited as evidence
    metrics = json.loads(rejected[0]["metrics"])
    auc = metrics["champion_comparison"]["roc_auc"]
    assert auc["method"] == "DeLong" and auc["rows"] == metrics["candidate"]["rows"]
    assert auc["improvement"] == pytest.approx(
        metrics["candidate"]["roc_auc"] - metrics["champion"]["roc_auc"]
    )
    assert auc["lower_bound"] < auc["improvement"] and auc["std_error"] > 0
    assert any("lower bound" in reason for reason in rejected[0]["reasons"])
    print(rejected[0]["reasons"])


def test_forced_promotion_then_rollback_restores_the_previous_champion(lakehouse):
    operations.force_promote(MODEL, "2", "test: operator override")
    assert registry.alias_version(MODEL, "champion") == "2"
    move, _ = operations.rollback(MODEL, "test: override was a mistake")
    assert registry.alias_version(MODEL, "champion") == "1"
    assert move["reason"] == "rollback: test: override was a mistake"
    history = registry.champion_history(MODEL)
    assert [m["version"] for m in history][-3:] == ["1", "2", "1"]


def test_reproduce_gives_the_same_test_auc(lakehouse):
    training = yaml.safe_load((PROJECT_ROOT / "conf/base/parameters_training.yml").read_text())
    result = operations.reproduce(MODEL, "1", training["training"], project_parameters()["usecase"])
    assert abs(result["difference"]) < 0.005, result


def test_no_feature_uses_information_from_after_the_scheduled_departure(lakehouse, spark):
    params = project_parameters()["features"]
    flights = table(spark, lakehouse, "03_silver", "flights")
    weather = table(spark, lakehouse, "03_silver", "weather")
    planes = table(spark, lakehouse, "03_silver", "planes")
    labels = table(spark, lakehouse, "04_gold", "labels")
    cutoff = "2013-03-10 12:00:00"
    departing = (F.col("scheduled_departure") >= F.lit(cutoff).cast("timestamp")) & (
        F.col("scheduled_departure") < F.lit("2013-03-10 13:00:00").cast("timestamp")
    )
    full = build_flight_features(flights, weather, planes, labels, params, USECASE).filter(departing)
    known = build_flight_features(
        flights,
        weather.filter(F.col("time_hour") <= F.lit(cutoff).cast("timestamp")),
        planes,
        labels.filter(F.col("label_known_at") <= F.lit(cutoff).cast("timestamp")),
        params,
        USECASE,
    ).filter(departing)
    full_rows = {r["flight_key"]: r.asDict() for r in full.collect()}
    known_rows = {r["flight_key"]: r.asDict() for r in known.collect()}
    assert full_rows and full_rows == known_rows
    assert all(r["route_late_rate_30d"] is not None for r in full_rows.values())
    outcome_columns = {"dep_time", "dep_delay", "arr_time", "arr_delay", "air_time", "is_late"}
    assert not outcome_columns & set(full.columns)


def test_building_one_batch_gives_the_same_rows_as_building_all(lakehouse, spark):
    params = project_parameters()["features"]
    inputs = [table(spark, lakehouse, "03_silver", name) for name in ("flights", "weather", "planes")]
    labels = table(spark, lakehouse, "04_gold", "labels")
    every = build_flight_features(*inputs, labels, params, USECASE).filter(F.col("batch_id") == "2013-03")
    one = build_flight_features(*inputs, labels, {**params, "batch_id": "2013-03"}, USECASE)
    assert one.count() == every.count() > 1000
    assert (
        one.select("flight_key", "_feature_hash")
        .exceptAll(every.select("flight_key", "_feature_hash"))
        .isEmpty()
    )
