"""The gate's decision rule: safe by default."""

from __future__ import annotations

import pytest

from lakehouse_mlops.framework.errors import ConfigError
from lakehouse_mlops.pipelines.promotion.gate import PROMOTE, REJECT, decide, parse_gate

GATE = parse_gate(
    {
        "min_roc_auc": 0.65,
        "max_brier": 0.2,
        "min_margin_over_baseline": 0.01,
        "min_improvement": 0.002,
        "min_window_rows": 1000,
    }
)
BASELINE = {"roc_auc": 0.60}
GOOD = {"roc_auc": 0.70, "brier": 0.15}


def test_first_model_passing_the_bars_is_promoted():
    assert decide(GOOD, None, BASELINE, 5000, GATE)[0] == PROMOTE


@pytest.mark.parametrize(
    ("candidate", "champion", "rows", "reason"),
    [
        ({"roc_auc": 0.64, "brier": 0.15}, None, 5000, "< bar 0.65"),
        ({"roc_auc": 0.70, "brier": 0.25}, None, 5000, "brier 0.2500 > bar"),
        ({"roc_auc": 0.605, "brier": 0.15}, None, 5000, "naive baseline"),
        (GOOD, {"roc_auc": 0.699}, 5000, "does not improve on the champion"),
        (GOOD, {"roc_auc": 0.75}, 5000, "does not improve on the champion"),
        (GOOD, None, 999, "999 labelled rows"),
        ({"brier": 0.15}, None, 5000, "roc_auc nan"),
    ],
)
def test_anything_short_of_every_bar_rejects(candidate, champion, rows, reason):
    decision, reasons = decide(candidate, champion, BASELINE, rows, GATE)
    assert decision == REJECT
    assert any(reason in r for r in reasons), reasons


def test_a_better_challenger_is_promoted_over_the_champion():
    assert decide(GOOD, {"roc_auc": 0.69}, BASELINE, 5000, GATE)[0] == PROMOTE


def test_gate_settings_are_strict():
    with pytest.raises(ConfigError, match="parameters_promotion.yml.*min_auc"):
        parse_gate({"min_auc": 0.7})
