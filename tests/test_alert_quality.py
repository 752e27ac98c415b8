"""Alert quality of a replayed policy against the degradations its labels later showed."""

import math

import pandas as pd
import pytest

from lakehouse_mlops.ops.alert_quality import (
    ALERTING_DECISIONS,
    RETRAINING_DECISIONS,
    alarm_quality,
    degraded,
    quality_summary,
)

MONTHS = ["m1", "m2", "m3", "m4", "m5", "m6"]
#: labels of each month are measured by the next cycle's monitoring
NEXT_CYCLE = {m: n for m, n in zip(MONTHS, MONTHS[1:], strict=False)}


def test_a_month_degrades_only_beyond_the_bar_and_only_when_both_aucs_are_known():
    assert degraded(0.69, 0.75, 0.05) is True
    assert degraded(0.71, 0.75, 0.05) is False
    assert degraded(0.70, 0.75, 0.05) is False  # exactly at the bar: not below it
    assert degraded(float("nan"), 0.75, 0.05) is None
    assert degraded(0.7, float("nan"), 0.05) is None


def test_an_alarm_in_the_span_between_a_degraded_month_and_its_labels_is_true():
    # m3 degraded; its labels are measured at m4: alarms at m3 (before labels, lead 1) and m4 (on them)
    decisions = ["none", "none", "alert", "retrain", "none", "alert"]
    judged = {"m1": False, "m2": False, "m3": True, "m4": False, "m5": False}
    quality = alarm_quality(MONTHS, decisions, judged, NEXT_CYCLE, ALERTING_DECISIONS)
    # m6 (unjudged, outside every degraded span) is left out: 2 of 2 counted alarms are true
    assert quality.precision == 1.0 and quality.recall == 1.0
    assert quality.mean_lead_batches == 1.0 and quality.alarms == 3
    retrains = alarm_quality(MONTHS, decisions, judged, NEXT_CYCLE, RETRAINING_DECISIONS)
    # the retrain came on the labels' own cycle: recall 1, no lead
    assert retrains.precision == 1.0 and retrains.recall == 1.0 and retrains.mean_lead_batches == 0.0


def test_always_alerting_has_full_recall_and_the_base_rate_as_precision():
    judged = {"m1": False, "m2": True, "m3": False, "m4": False, "m5": False}
    quality = alarm_quality(MONTHS, ["alert"] * 6, judged, NEXT_CYCLE, ALERTING_DECISIONS)
    # m2 and m3 (m2's labels) are true; m1, m4, m5 false; m6 unjudged and outside: 2 / 5
    assert quality.precision == pytest.approx(2 / 5) and quality.recall == 1.0


def test_a_missed_degradation_lowers_recall_and_no_alarm_leaves_precision_undefined():
    judged = {"m1": True, "m2": False, "m3": True}
    quality = alarm_quality(
        MONTHS, ["none", "none", "none", "alert", "none", "none"], judged, NEXT_CYCLE, ALERTING_DECISIONS
    )
    # m3's span is m3..m4: warned at m4 (lead 0); m1's span m1..m2 had none
    assert quality.recall == 0.5 and quality.precision == 1.0 and quality.mean_lead_batches == 0.0
    silent = alarm_quality(MONTHS, ["none"] * 6, judged, NEXT_CYCLE, ALERTING_DECISIONS)
    assert silent.precision is None and silent.recall == 0.0 and silent.mean_lead_batches is None


def test_labels_measured_after_the_replay_keep_the_span_open_to_its_end_without_a_lead():
    judged = {"m5": True}
    quality = alarm_quality(MONTHS, ["none"] * 5 + ["alert"], judged, {}, ALERTING_DECISIONS)
    assert quality.recall == 1.0 and quality.mean_lead_batches is None


def test_the_summary_reads_the_timeline_columns():
    frame = pd.DataFrame(
        {
            "batch_id": MONTHS,
            "decision": ["none", "alert", "retrain", "none", "none", "alert"],
            "degraded": [False, True, False, False, None, None],
            "labels_measured_at": ["m2", "m3", "m4", "m5", "m6", None],
            "estimation_error": [0.01, -0.03, None, 0.02, float("nan"), None],
        }
    )
    summary = quality_summary(frame)
    assert summary["judged_months"] == 4 and summary["degraded_months"] == 1
    assert summary["alert_precision"] == 1.0 and summary["alert_recall"] == 1.0
    assert summary["alert_mean_lead_batches"] == 1.0
    assert summary["retrain_recall"] == 1.0 and summary["retrain_mean_lead_batches"] == 0.0
    assert math.isclose(summary["estimation_mae"], 0.02)
