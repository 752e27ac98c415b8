"""The validation gate: absolute bars, the naive baseline, and the improvement over the champion."""

from __future__ import annotations

from typing import Any

from lakehouse_mlops.framework.config import StrictModel, parse_config

SOURCE = "conf/*/parameters_promotion.yml (key 'promotion')"
PROMOTE, REJECT = "promote", "reject"


class GateSpec(StrictModel):
    min_roc_auc: float = 0.65
    max_brier: float = 0.20
    min_margin_over_baseline: float = 0.01
    min_improvement: float = 0.002
    min_window_rows: int = 1000
    baseline_feature: str = "route_late_rate_30d"


def parse_gate(raw: dict[str, Any]) -> GateSpec:
    return parse_config(GateSpec, raw, SOURCE)


def decide(
    candidate: dict[str, float],
    champion: dict[str, float] | None,
    baseline: dict[str, float],
    rows: int,
    gate: GateSpec,
) -> tuple[str, list[str]]:
    """``promote`` only if every check passes; otherwise ``reject`` with every failed check.

    Safe by default: a missing metric, a too-small window or a tie with the champion rejects.
    """
    reasons = []
    auc, brier = candidate.get("roc_auc", float("nan")), candidate.get("brier", float("nan"))
    if rows < gate.min_window_rows:
        reasons.append(f"evaluation window has {rows} labelled rows < {gate.min_window_rows}")
    if not auc >= gate.min_roc_auc:
        reasons.append(f"roc_auc {auc:.4f} < bar {gate.min_roc_auc}")
    if not brier <= gate.max_brier:
        reasons.append(f"brier {brier:.4f} > bar {gate.max_brier}")
    needed = baseline["roc_auc"] + gate.min_margin_over_baseline
    if not auc >= needed:
        reasons.append(
            f"roc_auc {auc:.4f} does not beat the naive baseline "
            f"({baseline['roc_auc']:.4f}) by {gate.min_margin_over_baseline}"
        )
    if champion is not None:
        wanted = champion["roc_auc"] + gate.min_improvement
        if not auc >= wanted:
            reasons.append(
                f"roc_auc {auc:.4f} does not improve on the champion "
                f"({champion['roc_auc']:.4f}) by {gate.min_improvement}"
            )
    return (
        (REJECT, reasons)
        if reasons
        else (PROMOTE, ["passes every bar" + ("" if champion is None else " and beats the champion")])
    )
