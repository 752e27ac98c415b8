"""The continuous-training loop for real: cycles and a replay on a small lakehouse (UA flights from
EWR), with real Spark, Delta, MLflow and the installed pipelines."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pyspark.sql import functions as F

from lakehouse_mlops.framework import model_registry as registry
from lakehouse_mlops.framework.examples import TimeWindows
from lakehouse_mlops.framework.lineage import load_pinned
from lakehouse_mlops.pipelines.monitoring.reference import SCORE_CALIBRATION
from tests.small_lakehouse import EAGER_POLICY, REPLAYED_MONTHS, make_loop

pytestmark = pytest.mark.integration
MODEL = "flight_delay"


@pytest.fixture(scope="module")
def lakehouse(replayed_lakehouse) -> Path:
    return replayed_lakehouse[0]


@pytest.fixture(scope="module")
def replayed(replayed_lakehouse):
    return replayed_lakehouse[1:]


def table(spark, project: Path, name: str):
    return spark.read.format("delta").load(str(project / "data" / "05_ml" / name))


def test_each_cycle_scores_the_batch_on_spark(lakehouse, replayed, spark):
    frame, _ = replayed
    assert frame.loc[0, "scored_version"] == "1"
    gold = spark.read.format("delta").load(str(lakehouse / "data/04_gold/features"))
    predictions = table(spark, lakehouse, "predictions")
    for row in frame.itertuples():
        for version in {row.scored_version, row.deployed_version}:
            scored = predictions.filter(
                (F.col("batch_id") == row.batch_id) & (F.col("model_version") == version)
            )
            assert scored.count() == gold.filter(F.col("batch_id") == row.batch_id).count() > 1000
    assert predictions.filter((F.col("probability") < 0) | (F.col("probability") > 1)).isEmpty()


def test_each_cycle_monitors_and_records_one_decision(lakehouse, replayed, spark):
    frame, _ = replayed
    metrics = table(spark, lakehouse, "monitoring_metrics")
    may = {r["kind"] for r in metrics.filter(F.col("monitored_batch_id") == "2013-05").collect()}
    # April's labels land with May, but April was never scored: no performance yet
    assert may == {
        "data_drift",
        "data_quality",
        "feed_quality",
        "prediction_drift",
        "estimated_performance",
        "custom_metric",
        "slice_estimated_performance",
        "summary",
    }
    # every feed landed each month; the reference feeds once, in January: no freshness or completeness alarm
    feeds = metrics.filter(F.col("kind") == "feed_quality").collect()
    assert {(r["monitored_batch_id"], r["feature"]) for r in feeds if r["metric"] == "feed_missing"} == {
        (b, f)
        for b in REPLAYED_MONTHS
        for f in ("airlines", "airports", "planes", "weather", "flights", "outcomes")
    }
    assert not any(r["flagged"] for r in feeds)
    assert {r["status"] for r in feeds if r["metric"] == "feed_incomplete"} == {"ok"}
    june = metrics.filter((F.col("monitored_batch_id") == "2013-06") & (F.col("kind") == "performance"))
    assert {(r["batch_id"], r["metric"]) for r in june.collect()} >= {
        ("2013-05", "roc_auc"),
        ("2013-05", "precision"),
        ("2013-05", "recall"),
        ("2013-05", "breach"),
    }
    # May's performance was estimated in May from its scores; June's run puts the realised value next to it
    estimated = metrics.filter((F.col("kind") == "estimated_performance") & (F.col("batch_id") == "2013-05"))
    by_metric = {(r["monitored_batch_id"], r["metric"]): r["value"] for r in estimated.collect()}
    may_auc = by_metric[("2013-05", "roc_auc")]
    assert 0.5 < may_auc < 1 and 0 < by_metric[("2013-05", "roc_auc_band")] < 0.05
    realised = {r["model_version"]: r["value"] for r in june.filter(F.col("metric") == "roc_auc").collect()}
    assert by_metric[("2013-06", "estimation_error.roc_auc")] == pytest.approx(realised["1"] - may_auc)
    # precision and recall at the version's threshold: estimated in May, realised and compared in June
    assert {"estimation_error.precision", "estimation_error.recall"} <= {m for _, m in by_metric}
    # the shipped custom metrics: the expected missed-delay rate from May's scores, the realised one
    # once May's labels land with June, on the same rows
    custom = metrics.filter((F.col("kind") == "custom_metric") & (F.col("batch_id") == "2013-05")).collect()
    rates = {(r["monitored_batch_id"], r["metric"], r["model_version"]): r for r in custom}
    expected = rates[("2013-05", "expected_missed_delay_rate", "1")]
    missed = rates[("2013-06", "missed_delay_rate", "1")]
    assert 0 < expected["value"] < 0.5 and 0 <= missed["value"] < 0.5
    assert 1000 < missed["current_rows"] <= expected["current_rows"]  # flights without a label left out
    assert not any(r["flagged"] for r in custom)
    decisions = table(spark, lakehouse, "decisions").filter(F.col("kind") == "monitoring")
    recorded = {r["batch_id"]: r["decision"] for r in decisions.collect()}
    assert recorded == dict(zip(frame["batch_id"], frame["decision"], strict=True))
    assert decisions.count() == 3
    report = (lakehouse / "data/08_reporting/monitoring/batches/2013-06.html").read_text()
    drifted = metrics.filter(
        (F.col("monitored_batch_id") == "2013-06")
        & (F.col("kind") == "data_drift")
        & (F.col("metric") == "drift_detected")
        & F.col("flagged")
    ).count()
    # estimates, the most drifted features (up to three), scores; folded: drift, performance over time
    assert "Monitoring — batch 2013-06" in report
    assert report.count("data:image/png;base64,") == 4 + min(drifted, 3)


def test_estimates_add_the_versions_mean_error_on_its_earlier_labelled_windows(lakehouse, replayed, spark):
    """July's version has labelled windows before July (June's labels land with July): July's estimates
    add its mean uncorrected error on them, recorded as ``<metric>_bias``."""
    rows = table(spark, lakehouse, "monitoring_metrics").filter(F.col("kind") == "estimated_performance")
    values = {(r["batch_id"], r["model_version"], r["metric"]): r["value"] for r in rows.collect()}
    corrected = {(b, v) for b, v, m in values if m == "roc_auc_bias"}
    assert ("2013-07", replayed[0].loc[2, "scored_version"]) in corrected, sorted(values)
    for batch, version in corrected:
        earlier = sorted(
            (b, value + values.get((b, version, "roc_auc_bias"), 0.0))
            for (b, v, m), value in values.items()
            if v == version and m == "estimation_error.roc_auc" and b < batch
        )
        expected = np.mean([error for _, error in earlier[-6:]])
        assert values[(batch, version, "roc_auc_bias")] == pytest.approx(expected), (batch, earlier)
    assert ("2013-05", "1") not in corrected  # the first month: no labelled window before it


def test_each_slice_is_estimated_with_its_batch_and_realised_when_its_labels_land(lakehouse, replayed, spark):
    """The shipped slices (origin, long_haul) on the real loop: May's slices estimated in May, their
    realised values and the estimates' errors in June; one origin here, so its slice is the window."""
    metrics = table(spark, lakehouse, "monitoring_metrics").filter(F.col("batch_id") == "2013-05")
    rows = {
        (r["monitored_batch_id"], r["kind"], r["model_version"], r["feature"], r["metric"]): r
        for r in metrics.collect()
    }
    estimated = {k[3]: r for k, r in rows.items() if k[:2] == ("2013-05", "slice_estimated_performance")}
    assert set(estimated) == {"origin=EWR", "long_haul=true", "long_haul=false"}
    window = rows[("2013-05", "estimated_performance", "1", "model", "roc_auc")]
    sizes = {
        k[3]: r["current_rows"]
        for k, r in rows.items()
        if k[:2] == ("2013-05", "slice_estimated_performance")
    }
    assert sizes["long_haul=true"] + sizes["long_haul=false"] == sizes["origin=EWR"] == window["current_rows"]
    realised = {
        (k[3], k[4]): r["value"] for k, r in rows.items() if k[:3] == ("2013-06", "slice_performance", "1")
    }
    whole = rows[("2013-06", "performance", "1", "model", "roc_auc")]["value"]
    assert realised[("origin=EWR", "roc_auc")] == pytest.approx(whole)
    assert {f for f, _ in realised} == {"origin=EWR", "long_haul=true", "long_haul=false"}
    for feature in ("long_haul=true", "long_haul=false"):
        may_estimate = rows[("2013-05", "slice_estimated_performance", "1", feature, "roc_auc")]["value"]
        error = rows[("2013-06", "slice_estimated_performance", "1", feature, "estimation_error.roc_auc")]
        assert error["value"] == pytest.approx(realised[(feature, "roc_auc")] - may_estimate)
    june = (lakehouse / "data/08_reporting/monitoring/batches/2013-06.html").read_text()
    summary, details = june.split('<section id="details">')
    assert "Slices: estimated performance of this batch" in summary and "long_haul=true" in summary
    assert "Slices: realised performance" in details and "2013-05" in details


def test_each_monitored_version_is_profiled_once_and_then_read(lakehouse, replayed, spark):
    drift = table(spark, lakehouse, "monitoring_metrics").filter(F.col("kind") == "data_drift")
    monitored = {r[0] for r in drift.select("model_version").distinct().collect()}
    profiles = table(spark, lakehouse, "reference_profiles")
    stored = {(r[0], r[1]) for r in profiles.select("model_version", "settings_key").distinct().collect()}
    assert {version for version, _ in stored} == monitored and len(stored) == len(monitored)
    features = drift.filter(F.col("metric") == "drift_detected").select("feature").distinct().count()
    # per version: every monitored feature, the score, the score histogram and the score calibrator
    assert profiles.count() == len(monitored) * (features + 3)
    calibrated = {
        r["model_version"]: r["rows"] for r in profiles.filter(F.col("kind") == SCORE_CALIBRATION).collect()
    }
    assert calibrated.keys() == monitored
    for version, rows in calibrated.items():
        tags = registry.version_tags(MODEL, version)
        unseen = TimeWindows.from_tags(tags).test(load_pinned(tags, "gold_features"), "flight_date")
        labels = load_pinned(tags, "gold_labels").filter(F.col("is_late").isNotNull())
        # fitted on the labelled rows of the version's test window, the ones its final model never saw
        assert rows == unseen.join(labels, "flight_key").count() > 0, version
    history = spark.sql(f"DESCRIBE HISTORY delta.`{lakehouse / 'data/05_ml/reference_profiles'}`")
    writes = history.filter(F.col("operation").isin("WRITE", "MERGE", "CREATE TABLE AS SELECT"))
    # three windows monitored, but each version's profile written once
    assert writes.count() == len(monitored)


def test_replay_writes_the_timeline_and_retrains_on_trigger(lakehouse, replayed):
    frame, summary = replayed
    assert list(frame["batch_id"]) == REPLAYED_MONTHS
    # May's labels land with June, June's with July; July has none yet
    labelled = frame.dropna(subset=["auc_deployed", "auc_static", "auc_always_retrain"])
    assert list(labelled["batch_id"]) == ["2013-05", "2013-06"]
    assert labelled[["auc_deployed", "auc_static", "auc_always_retrain"]].gt(0.5).all().all()
    # a promoted model re-scores its batch at once; otherwise the batch keeps the static model's scores
    first = frame.loc[0]
    assert first["deployed_version"] == (first["retrained_version"] if first["promoted"] else "1")
    if not first["promoted"]:
        assert first["auc_deployed"] == pytest.approx(first["auc_static"])
    # drift in May triggers a retrain; the cooldown holds June and July back
    assert list(frame["decision"]) == ["retrain", "alert", "alert"]
    assert summary["retrains"] == 1 and summary["always_retrain_retrains"] == 3
    for version in frame["retrained_version"].dropna():
        assert registry.version_tags(MODEL, version)["gate.decision"] in ("promote", "reject")
    # May's candidate was judged against version 1 by a paired test: its gain's lower bound is below
    # the point gain
    gain = first["gate_candidate_auc"] - first["gate_champion_auc"]
    assert first["gate_auc_gain_lower_bound"] < gain
    # alert quality: May's labels are measured in June's cycle, June's in July's; July is not judged
    assert list(frame["labels_measured_at"][:2]) == ["2013-06", "2013-07"]
    assert frame["degraded"][:2].notna().all() and pd.isna(frame["degraded"][2])
    assert summary["judged_months"] == 2 and summary["degraded_months"] == int(frame["degraded"][:2].sum())
    for month in range(2):  # degraded = the deployed version's realised AUC below its test AUC - 0.03
        row = frame.loc[month]
        assert row["degraded"] == (row["auc_deployed"] < row["deployed_test_auc"] - 0.03)
    # each month's ROC AUC was estimated before its labels landed; May's and June's errors are known
    assert frame["estimated_auc"].between(0.5, 1).all()
    assert frame["estimation_error"][:2].notna().all() and pd.isna(frame["estimation_error"][2])
    assert summary["estimation_mae"] == pytest.approx(frame["estimation_error"].abs().mean())
    # May's retrain came before May's labels: a true alarm if May degraded, a false one if it did not
    assert summary["retrain_precision"] == (1.0 if frame["degraded"][0] else 0.0)
    saved = pd.read_csv(lakehouse / "data/08_reporting/replay/timeline.csv")
    assert list(saved["batch_id"]) == ["2013-05", "2013-06", "2013-07"]
    assert (lakehouse / "data/08_reporting/replay/timeline.png").stat().st_size > 10_000


def test_rerunning_a_cycle_changes_nothing(lakehouse, replayed, spark):
    frame, _ = replayed
    before = table(spark, lakehouse, "predictions").count()
    versions = registry.aliases(MODEL)
    # nothing new since July's cycle completed: its recorded outcome, no stage after landing runs
    again = make_loop(lakehouse, EAGER_POLICY).cycle("2013-07", echo=lambda _: None)
    assert again.ok and again.decision == frame.loc[2, "decision"], again.headline()
    assert [s.status for s in again.stages] == ["done"] + ["skipped"] * (len(again.stages) - 1)
    assert all("nothing new since this batch's cycle completed" in s.summary for s in again.stages[1:])
    assert again.deployed == frame.loc[2, "deployed_version"]
    # every stage again (--full): each stage is idempotent on its own
    result = make_loop(lakehouse, EAGER_POLICY, full=True).cycle("2013-07", echo=lambda _: None)
    assert result.ok
    assert all(s.status != "skipped" or "nothing new" not in s.summary for s in result.stages)
    for stage in result.stages:
        assert "tables changed" not in stage.summary, stage.line()
    assert result.decision == frame.loc[2, "decision"]
    assert table(spark, lakehouse, "predictions").count() == before
    assert registry.aliases(MODEL) == versions
    assert table(spark, lakehouse, "decisions").filter(F.col("kind") == "monitoring").count() == 3


def test_a_new_model_adds_its_own_predictions_next_to_the_old_ones(lakehouse, replayed, spark):
    frame, _ = replayed
    july = frame.iloc[-1]
    other = "1" if july["deployed_version"] != "1" else frame["retrained_version"].dropna().iloc[0]
    old = table(spark, lakehouse, "predictions").filter(F.col("batch_id") == "2013-07")
    old_rows = {(r["flight_key"], r["model_version"], r["probability"]) for r in old.collect()}
    assert other not in {r[1] for r in old_rows}
    make_loop(lakehouse).run("inference", {"inference": {"batch_id": "2013-07", "model_version": other}})
    both = table(spark, lakehouse, "predictions").filter(F.col("batch_id") == "2013-07")
    rows = {(r["flight_key"], r["model_version"], r["probability"]) for r in both.collect()}
    assert old_rows < rows
    assert {r[1] for r in rows - old_rows} == {other}
    assert len(rows - old_rows) == len(old_rows)


def test_untracked_stages_never_write_into_an_earlier_run(lakehouse, replayed):
    """Ingestion and features are not tracked: their lineage must not land in the run of the stage
    before them (kedro-mlflow's hook remembers its last run across sessions)."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient()
    experiment = client.get_experiment_by_name("lakehouse_mlops")
    runs = client.search_runs([experiment.experiment_id], max_results=500)
    assert runs
    for run in runs:
        leaked = [k for k in run.data.tags if k.startswith(("lineage.silver_", "lineage.bronze_"))]
        assert not leaked, (run.info.run_id, leaked)
