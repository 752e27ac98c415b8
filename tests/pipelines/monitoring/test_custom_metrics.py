"""Custom metrics (``usecase.monitoring.custom_metrics``): the use case's Spark SQL aggregates over the
scored batch and over the windows whose labels landed, on real Spark, checked against pandas; a wrong
expression is named by its key before any job runs; a metric out of its bounds alerts, never retrains."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lakehouse_mlops.framework.errors import ConfigError
from lakehouse_mlops.pipelines.monitoring import decision as monitoring_decision
from lakehouse_mlops.pipelines.monitoring import report
from lakehouse_mlops.pipelines.monitoring.config import parse_monitoring
from lakehouse_mlops.pipelines.monitoring.nodes import custom_metrics, labelled_batches
from lakehouse_mlops.pipelines.monitoring.policy import ALERT, History, WindowSignals, policy_decision

MONITORED = {"name": "loans", "batch_id": "2018-09", "version": "2"}
METRICS = {
    "expected_loss": {
        "sql": "sum(CASE WHEN predicted_repaid THEN (1 - probability) * amount ELSE 0 END)",
        "max": 100.0,
    },
    "approval_rate": {"sql": "avg(CAST(predicted_repaid AS INT))", "min": 0.1},
    "default_loss": {
        "sql": "sum(CASE WHEN predicted_repaid AND NOT repaid THEN amount ELSE 0 END)",
        "over": "labelled",
    },
}


def usecase(metrics: dict) -> dict:
    return {
        "name": "loans",
        "package": "lakehouse_mlops.usecases.car_loans",
        "entity_key": "loan_id",
        "event_time": "applied_at",
        "label": {"column": "repaid"},
        "features": {"numeric": ["amount"], "categorical": []},
        "model": {"registered_name": "loans", "predicted_label": "predicted_repaid"},
        "monitoring": {"custom_metrics": metrics},
    }


@pytest.fixture(scope="module")
def tables(spark):
    """Predictions of 2018-07 (versions 1 and 2, labels landed with 2018-09) and of 2018-09 (version 2,
    no labels yet), their features, the labels."""
    rng = np.random.default_rng(3)
    rows = 600
    ids = np.arange(rows)
    batch = np.where(ids < 400, "2018-07", "2018-09")
    features = pd.DataFrame(
        {"loan_id": ids, "batch_id": batch, "applied_at": "2018-07-01", "amount": rng.uniform(1, 20, rows)}
    )
    probability = rng.uniform(size=rows)
    predictions = pd.DataFrame(
        {
            "loan_id": ids,
            "batch_id": batch,
            "model_version": np.where(ids % 2 == 0, "1", "2"),
            "probability": probability,
            "predicted_repaid": probability >= 0.5,
        }
    )
    predictions.loc[predictions["batch_id"] == "2018-09", "model_version"] = "2"
    labelled = features[features["batch_id"] == "2018-07"]
    labels = pd.DataFrame(
        {
            "loan_id": labelled["loan_id"],
            "repaid": rng.uniform(size=len(labelled)) < 0.8,
            "label_batch_id": "2018-09",
        }
    )
    frames = {"features": features, "predictions": predictions, "labels": labels}
    return frames, {name: spark.createDataFrame(frame) for name, frame in frames.items()}


def measure(spark_frames: dict, monitored: dict, metrics: dict) -> list[dict]:
    """The node on the test's Spark tables."""
    contract = usecase(metrics)
    predictions, labels = spark_frames["predictions"], spark_frames["labels"]
    windows = labelled_batches(predictions, labels, monitored, contract)
    return custom_metrics(predictions, labels, spark_frames["features"], windows, monitored, contract)


def test_scored_and_labelled_metrics_equal_pandas_and_bounds_flag(tables):
    frames, spark_frames = tables
    rows = measure(spark_frames, MONITORED, METRICS)
    by_key = {(r["metric"], r["batch_id"], r["model_version"]): r for r in rows}
    scored = frames["predictions"].merge(frames["features"][["loan_id", "amount"]], on="loan_id")
    september = scored[scored["batch_id"] == "2018-09"]
    expected_loss = ((1 - september["probability"]) * september["amount"])[
        september["predicted_repaid"]
    ].sum()
    loss = by_key[("expected_loss", "2018-09", "2")]
    assert loss["value"] == pytest.approx(expected_loss) and loss["current_rows"] == len(september)
    assert (loss["feature"], loss["threshold"], loss["flagged"], loss["status"]) == (
        "scored",
        100.0,
        True,
        "flagged",
    )
    rate = by_key[("approval_rate", "2018-09", "2")]
    assert rate["value"] == pytest.approx(september["predicted_repaid"].mean())
    assert (rate["threshold"], rate["flagged"], rate["status"]) == (0.1, False, "ok")
    july = scored[scored["batch_id"] == "2018-07"].merge(frames["labels"], on="loan_id")
    for version in ("1", "2"):
        mine = july[july["model_version"] == version]
        realised = mine["amount"][mine["predicted_repaid"] & ~mine["repaid"]].sum()
        row = by_key[("default_loss", "2018-07", version)]
        assert row["value"] == pytest.approx(realised) and row["feature"] == "labelled"
        assert row["current_rows"] == len(mine) and row["status"] == "ok"
    assert len(rows) == 4


def test_a_metric_out_of_bounds_alerts_and_is_reported_never_retrains(tables):
    _, spark_frames = tables
    rows = measure(spark_frames, MONITORED, METRICS)
    signals = monitoring_decision.signals([], [], MONITORED, {}, custom_rows=rows)
    [alarm] = signals["custom_alarms"]
    assert alarm.startswith("expected_loss on the scored batch 2018-09: ") and alarm.endswith(
        "above its max 100"
    )
    decision, reasons = policy_decision(WindowSignals(**signals), History(), parse_monitoring({}).policy)
    assert decision == ALERT and f"custom metrics: {alarm}" in reasons
    # an alarm of another version (an older one, measured on its labelled window) is not this model's
    older = [{**r, "flagged": True, "threshold": 0.0} for r in rows if r["model_version"] == "1"]
    assert monitoring_decision.signals([], [], MONITORED, {}, custom_rows=older)["custom_alarms"] == []
    table = report.custom_table(rows)
    assert list(table.columns) == list(report.CUSTOM_COLUMNS.values()) and len(table) == 4


def test_the_labelled_windows_are_the_batches_of_the_rows_whose_labels_landed(tables):
    _, spark_frames = tables
    predictions, labels = spark_frames["predictions"], spark_frames["labels"]
    assert labelled_batches(predictions, labels, MONITORED, usecase(METRICS)) == ["2018-07"]
    earlier = {**MONITORED, "batch_id": "2018-08"}  # no label landed with it
    assert labelled_batches(predictions, labels, earlier, usecase(METRICS)) == []
    # with no labelled window the labelled metrics' expressions are still checked
    with pytest.raises(ConfigError, match="default_loss.sql"):
        measure(spark_frames, earlier, {"default_loss": {"sql": "sum(amont)", "over": "labelled"}})


def test_a_window_without_rows_is_insufficient(tables, spark):
    _, spark_frames = tables
    empty = {**MONITORED, "batch_id": "2018-10"}
    rows = measure(spark_frames, empty, METRICS)
    assert [
        (r["metric"], r["status"], r["current_rows"]) for r in rows if r["metric"] != "approval_rate"
    ] == [("expected_loss", "insufficient", 0)]


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("sum(amount", r"expected_loss.sql: `sum\(amount` is not an aggregate"),
        (
            "sum(amont)",
            r"expected_loss.sql: `sum\(amont\)` is not an aggregate .*columns there are \[.*'amount'",
        ),
        ("probability", r"expected_loss.sql: `probability` is not an aggregate"),
        ("max(batch_id)", r"expected_loss.sql: `max\(batch_id\)` gives string, not a number"),
    ],
)
def test_a_wrong_expression_is_named_by_its_key(tables, sql, message):
    _, spark_frames = tables
    with pytest.raises(ConfigError, match=message):
        measure(spark_frames, MONITORED, {"expected_loss": {"sql": sql}})
