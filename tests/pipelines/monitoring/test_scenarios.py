"""Synthetic drift scenarios (fixed seeds) through the real Spark statistics and the policy.

A fixed logistic "model" scores a reference window and a current window; each scenario changes the
current window in one way and expects the documented signals and decision.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pyspark.sql import functions as F

from lakehouse_mlops.pipelines.monitoring import decision as monitoring_decision
from lakehouse_mlops.pipelines.monitoring.config import parse_monitoring
from lakehouse_mlops.pipelines.monitoring.drift import (
    PREDICTION_DRIFT,
    categorical_drift_rows,
    numeric_drift_rows,
)
from lakehouse_mlops.pipelines.monitoring.estimated import estimated_rows, expected_bins
from lakehouse_mlops.pipelines.monitoring.estimation import Calibrator
from lakehouse_mlops.pipelines.monitoring.performance import performance_by_version, performance_rows
from lakehouse_mlops.pipelines.monitoring.policy import (
    ALERT,
    NONE,
    RETRAIN,
    History,
    WindowSignals,
    policy_decision,
)

NUMERIC, CATEGORICAL = ["x1", "x2", "x3"], ["c"]
MONITORING = {"min_reference_rows": 1000, "min_current_rows": 1000}
SPEC = parse_monitoring(MONITORING)
MONITORED = {"batch_id": "2013-06", "version": "1"}


def model_score(frame: pd.DataFrame) -> np.ndarray:
    """The deployed model: a fixed logistic function of the features."""
    logit = -1.2 + 0.9 * frame["x1"].fillna(0) - 0.5 * frame["x3"].fillna(0) + 0.6 * (frame["c"] == "a")
    return 1 / (1 + np.exp(-logit))


def window(
    rows: int,
    seed: int,
    *,
    shift=0.0,
    scale=1.0,
    categories=("a", "b", "c"),
    nulls=0.0,
    concept=1.0,
    prior=0.0,
) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "x1": rng.normal(shift, 1.0, rows),
            "x2": rng.normal(shift, scale, rows),
            "x3": rng.normal(shift, 1.0, rows),
            "c": rng.choice(list(categories), rows),
        }
    )
    truth = -1.2 + concept * (0.9 * frame["x1"] - 0.5 * frame["x3"] + 0.6 * (frame["c"] == "a")) + prior
    frame["is_late"] = (rng.uniform(size=rows) < 1 / (1 + np.exp(-truth))).astype(int)
    frame["probability"] = model_score(frame)
    if nulls:
        frame.loc[rng.uniform(size=rows) < nulls, "x1"] = np.nan
    frame["model_version"] = "1"
    return frame


@pytest.fixture(scope="module")
def reference(spark):
    """The reference window, on Spark (cached), with the model's baseline metrics on it."""
    from sklearn.metrics import brier_score_loss, roc_auc_score

    frame = window(20_000, seed=1)
    baseline = {
        "roc_auc": roc_auc_score(frame["is_late"], frame["probability"]),
        "brier": brier_score_loss(frame["is_late"], frame["probability"]),
    }
    cached = spark.createDataFrame(frame).cache()
    yield cached, baseline
    cached.unpersist()


def evaluate(reference, spark, current: pd.DataFrame, history: History | None = None):
    ref_df, baseline = reference
    cur_df = spark.createDataFrame(current).cache()
    rows = numeric_drift_rows(ref_df, cur_df, NUMERIC, SPEC)
    rows += categorical_drift_rows(ref_df, cur_df, CATEGORICAL, SPEC)
    rows += numeric_drift_rows(ref_df, cur_df, ["probability"], SPEC, kind=PREDICTION_DRIFT)
    rows = [{**r, "batch_id": MONITORED["batch_id"], "model_version": "1"} for r in rows]
    measured = performance_by_version(cur_df, "is_late", SPEC.performance)["1"]
    performance = [
        {**r, "batch_id": "2013-05", "model_version": "1"}
        for r in performance_rows(measured, baseline, SPEC.performance)
    ]
    signals = monitoring_decision.signals(rows, performance, MONITORED, MONITORING)
    decision, reasons = policy_decision(WindowSignals(**signals), history or History(), SPEC.policy)
    return signals, decision, reasons


def test_no_drift_raises_no_alarm(reference, spark):
    signals, decision, _ = evaluate(reference, spark, window(8000, seed=2))
    assert signals["drifted_features"] == [] and not signals["quality_alarms"]
    assert signals["performance_breaches"] == {"2013-05": False}
    assert decision == NONE


def test_mean_shift_is_drift_without_a_performance_alarm(reference, spark):
    signals, decision, reasons = evaluate(reference, spark, window(8000, seed=3, shift=0.8))
    assert {"x1", "x2", "x3"} <= set(signals["drifted_features"])
    assert signals["dataset_drift"] and signals["prediction_drift"]
    assert signals["performance_breaches"] == {"2013-05": False}
    assert decision == ALERT and any("dataset drift" in r for r in reasons)


def test_variance_change_is_detected_on_that_feature_only(reference, spark):
    signals, decision, _ = evaluate(reference, spark, window(8000, seed=4, scale=1.8))
    assert signals["drifted_features"] == ["x2"]
    assert not signals["dataset_drift"]  # one feature of four is below the dataset drift share
    assert decision == NONE or decision == ALERT


def test_new_category_is_counted_as_unseen(reference, spark):
    signals, decision, _ = evaluate(reference, spark, window(8000, seed=5, categories=("a", "b", "c", "z")))
    assert "c.unseen_share" in signals["quality_alarms"]
    assert "c" in signals["drifted_features"]
    assert decision == ALERT


def test_missing_value_spike_is_a_data_quality_alarm(reference, spark):
    signals, decision, reasons = evaluate(reference, spark, window(8000, seed=6, nulls=0.3))
    assert signals["quality_alarms"] == ["x1.null_share"]
    assert "x1" not in signals["drifted_features"]  # the values that are present did not move
    assert decision == ALERT and any("data quality" in r for r in reasons)


def test_label_shift_shows_as_a_calibration_breach(reference, spark):
    signals, decision, _ = evaluate(reference, spark, window(8000, seed=7, prior=0.8))
    assert signals["drifted_features"] == []
    assert signals["performance_breaches"] == {"2013-05": True}
    assert decision == ALERT


def test_concept_drift_is_invisible_to_drift_tests_but_breaches_performance(reference, spark):
    signals, decision, _ = evaluate(reference, spark, window(8000, seed=8, concept=-0.3))
    assert signals["drifted_features"] == [] and not signals["dataset_drift"]
    assert signals["performance_breaches"] == {"2013-05": True}
    assert decision == ALERT
    # a second breach within the policy's window (2 of 3) triggers retraining
    history = History(performance_breaches={"2013-04": True}, monitored_batches=["2013-05"])
    _, decision, reasons = evaluate(reference, spark, window(8000, seed=8, concept=-0.3), history)
    assert decision == RETRAIN and any("2 of the last 2" in r for r in reasons)


def test_window_too_small_is_insufficient_never_drift(reference, spark):
    signals, decision, reasons = evaluate(reference, spark, window(300, seed=9, shift=1.5))
    assert signals["insufficient"] and signals["dataset_drift"] is None
    assert signals["drifted_features"] == [] and signals["performance_breaches"] == {}
    assert decision == NONE and any("minimum size" in r for r in reasons)


def test_cooldown_holds_back_a_retrain():
    policy = SPEC.policy
    signals = WindowSignals(batch_id="2013-07", performance_breaches={"2013-06": True})
    history = History(
        performance_breaches={"2013-05": True}, monitored_batches=["2013-06"], retrain_batches=["2013-06"]
    )
    decision, reasons = policy_decision(signals, history, policy)
    assert decision == ALERT and "cooldown" in reasons[-1]
    later = History(
        performance_breaches={"2013-05": True},
        monitored_batches=["2013-05", "2013-06"],
        retrain_batches=["2013-05"],
    )
    assert policy_decision(signals, later, policy)[0] == RETRAIN


def test_dataset_drift_in_consecutive_windows_triggers_retraining():
    signals = WindowSignals(batch_id="2013-07", dataset_drift=True, drift_share=0.5, drifted_features=["x"])
    assert policy_decision(signals, History(), SPEC.policy)[0] == ALERT
    history = History(dataset_drift={"2013-06": True}, monitored_batches=["2013-06"])
    assert policy_decision(signals, history, SPEC.policy)[0] == RETRAIN


def estimate(spark, current: pd.DataFrame) -> dict[str, float]:
    """CBPE of the window from its scores alone (the scenario's model is calibrated on the reference)."""
    scored = spark.createDataFrame(current.assign(predicted=(current["probability"] >= 0.5).astype(int)))
    bins, confusion = expected_bins(scored, "predicted", Calibrator(), SPEC.performance.score_bins)
    return {r["metric"]: r["value"] for r in estimated_rows(bins, confusion, SPEC.performance)}


def test_covariate_shift_is_estimated_before_labels_but_concept_drift_is_not(reference, spark):
    from sklearn.metrics import roc_auc_score

    _, baseline = reference
    shifted = window(8000, seed=10, shift=0.8)  # new inputs, the same P(y | x): scores stay calibrated
    estimated, realised = estimate(spark, shifted), roc_auc_score(shifted["is_late"], shifted["probability"])
    assert abs(estimated["roc_auc"] - realised) < 3 * estimated["roc_auc_band"]
    assert estimated["positive_rate"] == pytest.approx(shifted["is_late"].mean(), abs=0.02)
    assert estimated["positive_rate"] > window(20_000, seed=1)["is_late"].mean() + 0.03  # seen before labels
    # P(y | x) changed: the scores look as before, so does the estimate; only the labels show the drop
    concept = window(8000, seed=8, concept=-0.3)
    estimated, realised = estimate(spark, concept), roc_auc_score(concept["is_late"], concept["probability"])
    assert realised < baseline["roc_auc"] - 0.2
    assert estimated["roc_auc"] == pytest.approx(baseline["roc_auc"], abs=0.02)


def test_realised_precision_and_recall_are_those_of_the_predicted_labels(spark):
    """At the version's threshold (its predicted-label column), as sklearn computes them; the
    estimates of the same metrics are compared with these once labels land."""
    from sklearn.metrics import precision_score, recall_score

    current = window(6000, seed=11, shift=0.3)
    current["predicted"] = (current["probability"] >= 0.4).astype(int)
    frame = spark.createDataFrame(current)
    measured = performance_by_version(frame, "is_late", SPEC.performance, "predicted")["1"]
    assert measured["precision"] == pytest.approx(precision_score(current["is_late"], current["predicted"]))
    assert measured["recall"] == pytest.approx(recall_score(current["is_late"], current["predicted"]))
    rows = {
        r["metric"]: r["value"]
        for r in performance_rows(measured, {"roc_auc": 0.7, "brier": 0.2}, SPEC.performance)
    }
    assert rows["precision"] == pytest.approx(measured["precision"]) and "recall" in rows
    assert "precision" not in performance_by_version(frame, "is_late", SPEC.performance)["1"]
    # nothing predicted positive: precision is undefined (stored as null), recall 0
    none = performance_by_version(
        frame.withColumn("predicted", F.lit(0)), "is_late", SPEC.performance, "predicted"
    )
    assert np.isnan(none["1"]["precision"]) and none["1"]["recall"] == 0.0


def drift_against(reference, spark, current: pd.DataFrame, comparisons: list[tuple[str, pd.DataFrame]]):
    """Drift of ``current`` with x1, x2, x3 measured against the previous window and c against the
    seasonal one (each given as (batch id, rows)), through the real Spark pass."""
    from lakehouse_mlops.pipelines.monitoring.drift import ComparisonWindow, measure_window
    from lakehouse_mlops.pipelines.monitoring.profiles import profile_reference

    ref_df, _ = reference
    profile = profile_reference(ref_df, NUMERIC, CATEGORICAL, 1000, 0.001)
    windows = tuple(
        ComparisonWindow(name, batch, features, spark.createDataFrame(current).limit(0))
        if frame.empty  # a batch not in the history: no rows at all
        else ComparisonWindow(name, batch, features, spark.createDataFrame(frame))
        for name, features, (batch, frame) in zip(
            ("previous", "seasonal"), (tuple(NUMERIC), ("c",)), comparisons, strict=True
        )
    )
    rows, _ = measure_window(profile, spark.createDataFrame(current), SPEC, comparisons=windows)
    return rows


def verdicts(rows: list[dict]) -> dict[str, tuple[bool, str, str | None]]:
    return {
        r["feature"]: (r["flagged"], r["reference"], r.get("reference_batch_id"))
        for r in rows
        if r["kind"] == "data_drift" and r["metric"] == "drift_detected"
    }


def test_a_feature_that_moved_last_batch_does_not_drift_against_the_previous_batch(reference, spark):
    """Training window unshifted; the previous and the current batch both shifted by 0.8 and with a new
    category mix: against the training window everything drifts (scenario above), against the batches
    the use case names nothing does. Quality stays judged against the training window."""
    moved = window(8000, seed=12, shift=0.8, categories=("a", "b"))
    previous = window(8000, seed=13, shift=0.8, categories=("a", "b"))
    rows = drift_against(reference, spark, moved, [("2013-06", previous), ("2012-07", previous)])
    assert verdicts(rows) == {
        "x1": (False, "previous", "2013-06"),
        "x2": (False, "previous", "2013-06"),
        "x3": (False, "previous", "2013-06"),
        "c": (False, "seasonal", "2012-07"),
    }
    quality = [r for r in rows if r["kind"] == "data_quality"]
    assert quality and {r["reference"] for r in quality} == {"training"}
    # PSI's bins stay the training window's deciles; the effect sizes are small against the previous batch
    psi = {r["feature"]: r["value"] for r in rows if r["metric"] == "psi"}
    assert max(psi.values()) < SPEC.numeric.psi_threshold / 4
    # the same current batch against a previous batch that did not move: drift, named as such
    still = window(8000, seed=14, categories=("a", "b"))
    against_still = verdicts(drift_against(reference, spark, moved, [("2013-06", still), ("2012-07", still)]))
    assert against_still["x1"] == (True, "previous", "2013-06")


def test_a_reference_batch_not_in_the_history_falls_back_to_the_training_window(reference, spark):
    moved = window(8000, seed=15, shift=0.8)
    rows = drift_against(
        reference, spark, moved, [("2013-06", window(200, seed=16)), ("2012-07", moved.iloc[:0])]
    )
    assert verdicts(rows)["x1"] == (True, "training", None)
    assert verdicts(rows)["c"][1:] == ("training", None)
    signals = monitoring_decision.signals(rows, [], MONITORED, MONITORING)
    assert signals["reference_fallbacks"] == ["previous 2013-06: x1, x2, x3", "seasonal 2012-07: c"]
    decision, reasons = policy_decision(WindowSignals(**signals), History(), SPEC.policy)
    assert (
        "drift measured against the training window instead of previous 2013-06: x1, x2, x3 "
        "(that batch is not in the history or has too few rows)" in reasons
    )


def test_the_compared_batches_are_read_from_the_gold_features_by_the_use_case_cadence(spark):
    from lakehouse_mlops.framework.usecase import parse_usecase
    from lakehouse_mlops.pipelines.monitoring.nodes import comparison_windows

    raw = {
        "name": "scenario",
        "package": "lakehouse_mlops.usecases.flights",
        "entity_key": "row_id",
        "event_time": "at",
        "label": {"column": "is_late"},
        "features": {"numeric": NUMERIC, "categorical": CATEGORICAL},
        "model": {"registered_name": "scenario"},
        "monitoring": {"reference": {"previous": ["x1"], "seasonal": ["c"]}},
    }
    contract = parse_usecase(raw)
    gold = spark.createDataFrame(
        [(batch, float(i)) for i, batch in enumerate(["2012-07", "2013-05", "2013-06", "2013-07"])],
        "batch_id string, x1 double",
    )
    windows = comparison_windows(gold, {"batch_id": "2013-07"}, contract)
    assert [(w.reference, w.batch_id, w.features) for w in windows] == [
        ("previous", "2013-06", ("x1",)),
        ("seasonal", "2012-07", ("c",)),
    ]
    assert [[r.x1 for r in w.frame.collect()] for w in windows] == [[2.0], [0.0]]
    # nothing named: no window, so no scan of the gold table
    plain = parse_usecase({**raw, "monitoring": {}})
    assert comparison_windows(gold, {"batch_id": "2013-07"}, plain) == ()
