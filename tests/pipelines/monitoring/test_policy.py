"""The performance-first policy: the estimated ROC AUC drop as performance evidence until labels land,
realised performance confirming or cancelling it, drift alone alerting."""

from __future__ import annotations

import pytest

from lakehouse_mlops.pipelines.monitoring import decision as monitoring_decision
from lakehouse_mlops.pipelines.monitoring.config import Performance, Policy
from lakehouse_mlops.pipelines.monitoring.drift import INSUFFICIENT
from lakehouse_mlops.pipelines.monitoring.estimated import ESTIMATED, estimated_drop_row
from lakehouse_mlops.pipelines.monitoring.policy import (
    ALERT,
    NONE,
    RETRAIN,
    History,
    WindowSignals,
    policy_decision,
)

PERFORMANCE_FIRST = Policy(use_estimated_performance=True, retrain_on_drift=False)
ESTIMATED_BREACH = {"estimated_breach": True, "estimated_auc": 0.66, "estimated_auc_drop": 0.07}


def window(batch: str = "2013-07", **signals) -> WindowSignals:
    return WindowSignals(batch_id=batch, max_auc_drop=0.03, **signals)


def test_by_default_an_estimated_drop_is_not_evidence():
    decision, reasons = policy_decision(window(**ESTIMATED_BREACH), History(), Policy())
    assert decision == NONE and not any("estimated" in r for r in reasons)


def test_estimated_drops_in_two_windows_retrain_before_any_label_lands():
    history = History(estimated_breaches={"2013-06": True}, monitored_batches=["2013-06"])
    alone, reasons = policy_decision(window(**ESTIMATED_BREACH), History(), PERFORMANCE_FIRST)
    assert alone == ALERT
    assert "estimated ROC AUC 0.6600 on this window (labels not landed yet): 0.0700 below" in reasons[0]
    assert "test ROC AUC 0.7300 (bar 0.03)" in reasons[0]
    decision, reasons = policy_decision(window(**ESTIMATED_BREACH), history, PERFORMANCE_FIRST)
    assert decision == RETRAIN
    assert "performance breached in 2 of the last 2 windows (estimated until labelled)" in reasons[-1]


def test_labels_that_cancel_an_estimated_breach_replace_it():
    history = History(estimated_breaches={"2013-06": True}, monitored_batches=["2013-06"])
    cancelled = window(performance_breaches={"2013-06": False}, **ESTIMATED_BREACH)
    decision, reasons = policy_decision(cancelled, history, PERFORMANCE_FIRST)
    assert decision == ALERT  # one breach (this window's estimate) of two windows
    assert "labels of window 2013-06 cancel its estimated breach" in reasons
    confirmed = window(performance_breaches={"2013-06": True}, **ESTIMATED_BREACH)
    decision, reasons = policy_decision(confirmed, history, PERFORMANCE_FIRST)
    assert decision == RETRAIN and "labels of window 2013-06 confirm its estimated breach" in reasons


def test_drift_alone_alerts_when_retrain_on_drift_is_off():
    drifting = window(dataset_drift=True, drift_share=0.6, drifted_features=["x"])
    history = History(dataset_drift={"2013-06": True}, monitored_batches=["2013-06"])
    assert policy_decision(drifting, history, Policy())[0] == RETRAIN  # the default: drift retrains
    decision, reasons = policy_decision(drifting, history, PERFORMANCE_FIRST)
    assert decision == ALERT
    assert "dataset drift in 2 consecutive windows: alerts only (retrain_on_drift is false)" in reasons


def test_the_drop_row_is_the_test_auc_minus_the_estimate_flagged_beyond_the_bar():
    settings = Performance(max_auc_drop=0.03)
    estimate = [{"metric": "roc_auc", "value": 0.70, "current_rows": 5000}]
    row = estimated_drop_row(estimate, 0.75, settings)
    assert row["kind"] == ESTIMATED and row["metric"] == "auc_drop"
    assert row["value"] == pytest.approx(0.05) and row["threshold"] == 0.03 and row["flagged"]
    assert not estimated_drop_row(estimate, 0.72, settings)["flagged"]
    small = [{"metric": "roc_auc", "value": None, "current_rows": 300}]
    assert estimated_drop_row(small, 0.75, settings)["status"] == INSUFFICIENT


def test_the_window_signals_carry_the_estimate():
    estimate = [{"kind": ESTIMATED, "metric": "roc_auc", "value": 0.70, "current_rows": 5000, "status": "ok"}]
    drop = {**estimated_drop_row(estimate, 0.75, Performance()), "batch_id": "2013-07"}
    monitored = {"batch_id": "2013-07", "version": "1"}
    signals = monitoring_decision.signals([], [], monitored, {}, [], [*estimate, drop])
    assert signals["estimated_breach"] is True and signals["estimated_auc"] == 0.70
    assert signals["estimated_auc_drop"] == pytest.approx(0.05) and signals["max_auc_drop"] == 0.03
    decision, _ = policy_decision(WindowSignals(**signals), History(), PERFORMANCE_FIRST)
    assert decision == ALERT


def test_the_policy_switches_are_shipped_and_documented_with_their_defaults():
    import yaml

    from tests.conftest import PROJECT_ROOT

    shipped = yaml.safe_load((PROJECT_ROOT / "conf/base/parameters_monitoring.yml").read_text())
    assert shipped["monitoring"]["policy"] == Policy().model_dump()
    documented = (PROJECT_ROOT / "docs/configuration.md").read_text()
    for key in ("retrain_on_drift", "use_estimated_performance"):
        assert f"| `policy.{key}` | {str(getattr(Policy(), key)).lower()} |" in documented
