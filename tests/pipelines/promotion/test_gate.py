"""The gate's decision rule: safe by default, any metric of the contract, relative bars first."""

from __future__ import annotations

import pytest

from lakehouse_mlops.framework.config import parse_config
from lakehouse_mlops.framework.errors import ConfigError
from lakehouse_mlops.framework.usecase import GateSpec
from lakehouse_mlops.pipelines.promotion.gate import (
    AWAITING_APPROVAL,
    PROMOTE,
    REJECT,
    approval_step,
    gate_verdict,
)
from lakehouse_mlops.pipelines.promotion.paired import PairedDifference

GATE = GateSpec(
    metrics=["roc_auc"],
    beat_baseline_by=0.01,
    beat_champion_by=0.002,
    absolute={"roc_auc": 0.65, "brier": 0.2},
    min_rows=1000,
)
BASELINE = {"roc_auc": 0.60, "pr_auc": 0.30}
GOOD = {"roc_auc": 0.70, "brier": 0.15, "pr_auc": 0.40}


def test_first_model_passing_the_bars_is_promoted():
    assert gate_verdict(GOOD, None, BASELINE, 5000, GATE)[0] == PROMOTE


@pytest.mark.parametrize(
    ("candidate", "champion", "rows", "reason"),
    [
        ({"roc_auc": 0.64, "brier": 0.15}, None, 5000, "< bar 0.65"),
        ({"roc_auc": 0.70, "brier": 0.25}, None, 5000, "brier 0.2500 > bar"),
        ({"roc_auc": 0.605, "brier": 0.15}, None, 5000, "does not beat the baseline"),
        (GOOD, {"roc_auc": 0.699}, 5000, "does not improve on the champion"),
        (GOOD, {"roc_auc": 0.75}, 5000, "does not improve on the champion"),
        (GOOD, None, 999, "999 labelled rows"),
        ({"brier": 0.15}, None, 5000, "roc_auc nan"),
    ],
)
def test_anything_short_of_every_bar_rejects(candidate, champion, rows, reason):
    decision, reasons = gate_verdict(candidate, champion, BASELINE, rows, GATE)
    assert decision == REJECT
    assert any(reason in r for r in reasons), reasons


def test_a_better_challenger_is_promoted_over_the_champion():
    assert gate_verdict(GOOD, {"roc_auc": 0.69}, BASELINE, 5000, GATE)[0] == PROMOTE


def auc_comparison(candidate: float, champion: float, lower_bound: float) -> dict[str, PairedDifference]:
    return {
        "roc_auc": PairedDifference(
            "roc_auc", candidate, champion, candidate - champion, lower_bound, 0.01, 0.95, "DeLong", 5000
        )
    }


def test_a_point_improvement_within_the_window_s_uncertainty_does_not_promote():
    """The flights replay's version 3 won on point values (0.773 vs 0.730 on 14 days) and then fell
    below the champion: the improvement's lower confidence bound must clear the bar."""
    lucky = {**GOOD, "roc_auc": 0.705}
    champion = {"roc_auc": 0.70}
    assert gate_verdict(lucky, champion, BASELINE, 5000, GATE)[0] == PROMOTE  # points only
    decision, reasons = gate_verdict(
        lucky, champion, BASELINE, 5000, GATE, auc_comparison(0.705, 0.70, lower_bound=-0.011)
    )
    assert decision == REJECT
    assert reasons == [
        "roc_auc 0.7050 does not improve on the champion (0.7000) by 0.002 at 95% confidence",
        "roc_auc +0.0050 over the champion, 95% lower bound -0.0110 (DeLong, 5,000 rows)",
    ]


def test_a_sure_improvement_promotes_and_cites_its_interval():
    decision, reasons = gate_verdict(
        {**GOOD, "roc_auc": 0.73}, {"roc_auc": 0.70}, BASELINE, 5000, GATE, auc_comparison(0.73, 0.70, 0.012)
    )
    assert decision == PROMOTE
    assert reasons == [
        "passes every bar and beats the champion",
        "roc_auc +0.0300 over the champion, 95% lower bound +0.0120 (DeLong, 5,000 rows)",
    ]


def test_a_tolerance_for_the_champion_applies_to_the_lower_bound():
    tolerant = GateSpec(beat_champion_by=-0.01)
    comparison = auc_comparison(0.70, 0.70, lower_bound=-0.004)
    assert gate_verdict(GOOD, {"roc_auc": 0.70}, None, 5000, tolerant, comparison)[0] == PROMOTE
    comparison = auc_comparison(0.70, 0.70, lower_bound=-0.02)
    assert gate_verdict(GOOD, {"roc_auc": 0.70}, None, 5000, tolerant, comparison)[0] == REJECT


def test_the_champion_confidence_is_a_probability_or_off():
    assert GateSpec().champion_confidence == 0.95
    assert parse_config(GateSpec, {"champion_confidence": None}, "usecase.gate").champion_confidence is None
    with pytest.raises(ConfigError, match="usecase.gate: champion_confidence: Input should be less than 1"):
        parse_config(GateSpec, {"champion_confidence": 1}, "usecase.gate")


def test_relative_bars_need_no_absolute_bar_so_a_high_base_rate_cannot_reject_a_good_model():
    # Brier grows with the positive rate: an absolute ceiling rejected a model with ROC AUC 0.72 at a
    # 30 % positive rate. The default gate compares with the baseline and the champion instead.
    relative = GateSpec(metrics=["pr_auc", "roc_auc"])
    candidate = {"roc_auc": 0.72, "pr_auc": 0.45, "brier": 0.21}
    assert gate_verdict(candidate, None, BASELINE, 5000, relative)[0] == PROMOTE
    assert gate_verdict(candidate, None, BASELINE, 5000, GATE)[0] == REJECT


def test_every_gate_metric_must_beat_the_baseline_and_the_champion():
    both = GateSpec(metrics=["roc_auc", "pr_auc"])
    decision, reasons = gate_verdict(GOOD, {"roc_auc": 0.69, "pr_auc": 0.41}, BASELINE, 5000, both)
    assert decision == REJECT
    assert reasons == ["pr_auc 0.4000 does not improve on the champion (0.4100) by 0.002"]


def test_lower_is_better_metrics_are_beaten_by_going_down():
    brier = GateSpec(metrics=["brier"], beat_baseline_by=0.01)
    assert gate_verdict({"brier": 0.15}, None, {"brier": 0.17}, 5000, brier)[0] == PROMOTE
    assert gate_verdict({"brier": 0.165}, None, {"brier": 0.17}, 5000, brier)[0] == REJECT


def test_without_a_baseline_score_only_the_champion_is_compared():
    assert gate_verdict(GOOD, None, None, 5000, GateSpec())[0] == PROMOTE


def test_gate_settings_are_strict():
    with pytest.raises(ConfigError, match="min_auc: Extra inputs"):
        parse_config(GateSpec, {"min_auc": 0.7}, "conf/base/usecases/x (key 'usecase') gate")
    with pytest.raises(ConfigError, match="metrics.0"):
        parse_config(GateSpec, {"metrics": ["f1"]}, "usecase.gate")


def test_a_negative_baseline_margin_is_a_tolerance():
    """An incumbent system's score as the baseline: a candidate may trail it by the tolerance."""
    tolerant = GateSpec(metrics=["pr_auc", "roc_auc"], beat_baseline_by=-0.01, min_rows=100)
    incumbent = {"roc_auc": 0.976, "pr_auc": 0.974}
    close = {"roc_auc": 0.972, "pr_auc": 0.970}
    assert gate_verdict(close, None, incumbent, 2400, tolerant)[0] == PROMOTE
    far = {"roc_auc": 0.960, "pr_auc": 0.970}
    decision, reasons = gate_verdict(far, None, incumbent, 2400, tolerant)
    assert decision == REJECT
    assert reasons == ["roc_auc 0.9600 trails the baseline (0.9760) by more than the tolerated 0.01"]


@pytest.mark.parametrize(
    ("verdict", "require", "expected"),
    [(PROMOTE, True, AWAITING_APPROVAL), (PROMOTE, False, PROMOTE), (REJECT, True, REJECT)],
)
def test_only_a_passing_candidate_waits_for_approval_and_only_when_required(verdict, require, expected):
    decision, reasons = approval_step(verdict, ["why"], require)
    assert decision == expected
    assert reasons[0] == "why" and (("kedro approve" in reasons[-1]) == (expected == AWAITING_APPROVAL))
