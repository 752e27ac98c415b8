"""The validation gate: a pure decision over the candidate's, the champion's and the baseline's
metrics on one window, with the use case's bars (``usecase.gate``)."""

from __future__ import annotations

from lakehouse_mlops.framework.usecase import GATE_METRICS, GateSpec
from lakehouse_mlops.pipelines.promotion.paired import PairedDifference

PROMOTE, REJECT = "promote", "reject"
#: a candidate that passed the gate where ``promotion.require_approval`` is on: it waits for an operator
AWAITING_APPROVAL = "awaiting_approval"
NAN = float("nan")


def passes(value: float, bar: float, metric: str) -> bool:
    """``value`` at least ``bar`` for a higher-is-better metric, at most for brier and log_loss;
    NaN never passes."""
    return value >= bar if GATE_METRICS[metric] else value <= bar


def beaten_by(reference: float, margin: float, metric: str) -> float:
    """The value a candidate needs to beat ``reference`` by ``margin`` on ``metric``."""
    return reference + margin if GATE_METRICS[metric] else reference - margin


def _short_of(reference: str, value: float, margin: float) -> str:
    """Why a metric failed a relative bar; a negative margin is a tolerance."""
    if margin < 0:
        return f"trails {reference} ({value:.4f}) by more than the tolerated {-margin}"
    return f"does not beat {reference} ({value:.4f}) by {margin}"


def gate_verdict(
    candidate: dict[str, float],
    champion: dict[str, float] | None,
    baseline: dict[str, float] | None,
    rows: int,
    gate: GateSpec,
    comparisons: dict[str, PairedDifference] | None = None,
) -> tuple[str, list[str]]:
    """``promote`` only if every check passes; otherwise ``reject`` with every failed check.

    Safe by default: a missing metric, a too-small window or a tie with the champion rejects.
    Without a baseline score (``gate.baseline_score`` unset) there is no baseline check. Where a
    paired comparison with the champion is given for a metric, its lower confidence bound must clear
    ``beat_champion_by`` (not just the point values), and the evidence is among the reasons.
    """
    comparisons = comparisons or {}
    reasons = []
    if rows < gate.min_rows:
        reasons.append(f"evaluation window has {rows} labelled rows < {gate.min_rows}")
    for metric, bar in gate.absolute.items():
        value = candidate.get(metric, NAN)
        if not passes(value, bar, metric):
            reasons.append(f"{metric} {value:.4f} {'<' if GATE_METRICS[metric] else '>'} bar {bar}")
    for metric in gate.metrics:
        value = candidate.get(metric, NAN)
        if baseline is not None and not passes(
            value, beaten_by(baseline[metric], gate.beat_baseline_by, metric), metric
        ):
            short = _short_of("the baseline", baseline[metric], gate.beat_baseline_by)
            reasons.append(f"{metric} {value:.4f} {short}")
        if champion is not None and not _improves(value, champion[metric], metric, gate, comparisons):
            reasons.append(
                f"{metric} {value:.4f} does not improve on the champion "
                f"({champion[metric]:.4f}) by {gate.beat_champion_by}"
                + (f" at {gate.champion_confidence:.0%} confidence" if metric in comparisons else "")
            )
    evidence = [comparisons[metric].evidence() for metric in gate.metrics if metric in comparisons]
    if reasons:
        return REJECT, reasons + evidence
    return PROMOTE, ["passes every bar" + ("" if champion is None else " and beats the champion"), *evidence]


def _improves(
    value: float, champion: float, metric: str, gate: GateSpec, comparisons: dict[str, PairedDifference]
) -> bool:
    if metric in comparisons:
        return comparisons[metric].clears(gate.beat_champion_by)
    return passes(value, beaten_by(champion, gate.beat_champion_by, metric), metric)


def approval_step(decision: str, reasons: list[str], require_approval: bool) -> tuple[str, list[str]]:
    """With ``promotion.require_approval``, a passing candidate waits for `kedro approve` instead of
    becoming champion; any other verdict stands."""
    if decision != PROMOTE or not require_approval:
        return decision, reasons
    note = "awaiting an operator's approval (promotion.require_approval): kedro approve|reject VERSION"
    return AWAITING_APPROVAL, [*reasons, note]
