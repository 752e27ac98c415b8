"""The continuous-training policy: from this window's signals and the recent history to
``none``, ``alert`` or ``retrain``, with the reasons. Pure Python, no Spark."""

from __future__ import annotations

from dataclasses import dataclass, field

from lakehouse_mlops.pipelines.monitoring.config import Policy

NONE, ALERT, RETRAIN = "none", "alert", "retrain"


@dataclass(frozen=True)
class WindowSignals:
    """What monitoring found for one window (``None``: not measurable, e.g. too few rows)."""

    batch_id: str
    dataset_drift: bool | None = None
    drift_share: float | None = None
    drifted_features: list[str] = field(default_factory=list)
    quality_alarms: list[str] = field(default_factory=list)
    #: freshness and completeness of the feeds (``feed_missing``/``feed_incomplete``, one text each)
    feed_alarms: list[str] = field(default_factory=list)
    prediction_drift: bool | None = None
    #: labelled window → whether the monitored model breached its performance bars there
    performance_breaches: dict[str, bool] = field(default_factory=dict)
    #: this window's estimated ROC AUC drop beyond the bar (``None``: not estimated)
    estimated_breach: bool | None = None
    #: the estimate's figures for the reasons: estimated ROC AUC, its drop below the test ROC AUC, the bar
    estimated_auc: float | None = None
    estimated_auc_drop: float | None = None
    max_auc_drop: float | None = None
    insufficient: bool = False
    #: per-batch feeds with too few previous batches to judge completeness
    feeds_unassessed: list[str] = field(default_factory=list)
    #: "seasonal 2012-06: f1, f2": features compared with the training window instead, that
    #: window having too few values
    reference_fallbacks: list[str] = field(default_factory=list)
    #: the use case's custom metrics outside their bounds, one text each
    custom_alarms: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class History:
    """Earlier windows of the same model version, and when retraining was last decided."""

    dataset_drift: dict[str, bool] = field(default_factory=dict)  # monitored batch → drift
    performance_breaches: dict[str, bool] = field(default_factory=dict)  # labelled batch → breach
    estimated_breaches: dict[str, bool] = field(default_factory=dict)  # monitored batch → estimated breach
    monitored_batches: list[str] = field(default_factory=list)  # every monitored batch, any version
    retrain_batches: list[str] = field(default_factory=list)


def policy_decision(current: WindowSignals, history: History, policy: Policy) -> tuple[str, list[str]]:
    """The decision and its reasons."""
    reasons, triggers = [], []
    drift = {**history.dataset_drift, **_known({current.batch_id: current.dataset_drift})}
    recent_drift = [drift[b] for b in sorted(drift)][-policy.drift_consecutive_windows :]
    if current.dataset_drift:
        reasons.append(
            f"dataset drift: {current.drift_share:.0%} of features drifted "
            f"(>= {policy.drift_share_threshold:.0%}): {', '.join(current.drifted_features)}"
        )
        if len(recent_drift) == policy.drift_consecutive_windows and all(recent_drift):
            persistent = f"dataset drift in {policy.drift_consecutive_windows} consecutive windows"
            if policy.retrain_on_drift:
                triggers.append(persistent)
            else:
                reasons.append(f"{persistent}: alerts only (retrain_on_drift is false)")
    evidence, labelled = _performance_evidence(current, history, policy, reasons)
    recent = [evidence[b] for b in sorted(evidence)][-policy.performance_windows :]
    if sum(recent) >= policy.performance_breaches:
        triggers.append(
            f"performance breached in {sum(recent)} of the last {len(recent)} {labelled} "
            f"(trigger: {policy.performance_breaches} of {policy.performance_windows})"
        )
    if current.quality_alarms:
        reasons.append(f"data quality: {', '.join(current.quality_alarms)}")
        if policy.retrain_on_quality_alarm:
            triggers.append("data-quality alarm")
    if current.feed_alarms:
        # a feed that did not land, or landed short, is fixed at the source: it alerts, never retrains
        reasons.append(f"data quality (feeds): {'; '.join(current.feed_alarms)}")
    if current.custom_alarms:
        # the use case's own figures: an operator's attention, not a model to replace
        reasons.append(f"custom metrics: {'; '.join(current.custom_alarms)}")
    if current.prediction_drift:
        reasons.append("prediction drift: the score distribution moved")
    if current.insufficient:
        reasons.append("window below the minimum size: drift not assessed")
    if current.feeds_unassessed:
        reasons.append(
            f"completeness not assessed (too few previous batches): {', '.join(current.feeds_unassessed)}"
        )
    for fallback in current.reference_fallbacks:
        reasons.append(
            f"drift measured against the training window instead of {fallback} "
            "(that batch is not in the history or has too few rows)"
        )
    if triggers:
        cooling = _cooldown(current.batch_id, history, policy)
        if cooling:
            return ALERT, [
                *reasons,
                f"retrain held back by the cooldown: {cooling}; triggers: {'; '.join(triggers)}",
            ]
        return RETRAIN, [*reasons, f"retrain: {'; '.join(triggers)}"]
    alarming = (
        current.dataset_drift
        or current.quality_alarms
        or current.feed_alarms
        or current.custom_alarms
        or current.prediction_drift
        or any(current.performance_breaches.values())
        or (policy.use_estimated_performance and current.estimated_breach)
    )
    if alarming:
        return ALERT, reasons
    return NONE, reasons or ["no drift, no data-quality, feed or custom-metric alarm, no performance breach"]


def _performance_evidence(
    current: WindowSignals, history: History, policy: Policy, reasons: list[str]
) -> tuple[dict[str, bool], str]:
    """Window → breached, and what the windows are. Realised breaches only; with
    ``use_estimated_performance`` a window's estimated breach counts until its labels land, and then the
    realised value replaces it (the reasons say whether the labels confirm or cancel the estimate)."""
    for window, breached in sorted(current.performance_breaches.items()):
        if breached:
            reasons.append(f"performance below its bars on labelled window {window}")
    realised = {**history.performance_breaches, **current.performance_breaches}
    if not policy.use_estimated_performance:
        return realised, "labelled windows"
    estimated = {**history.estimated_breaches, **_known({current.batch_id: current.estimated_breach})}
    if current.estimated_breach:
        reasons.append(
            f"estimated ROC AUC {current.estimated_auc:.4f} on this window (labels not landed yet): "
            f"{current.estimated_auc_drop:.4f} below the version's test ROC AUC "
            f"{current.estimated_auc + current.estimated_auc_drop:.4f} (bar {current.max_auc_drop})"
        )
    for window, breached in sorted(current.performance_breaches.items()):
        if estimated.get(window):
            verdict = "confirm" if breached else "cancel"
            reasons.append(f"labels of window {window} {verdict} its estimated breach")
    return {**estimated, **realised}, "windows (estimated until labelled)"


def _known(values: dict[str, bool | None]) -> dict[str, bool]:
    return {k: v for k, v in values.items() if v is not None}


def _cooldown(batch_id: str, history: History, policy: Policy) -> str | None:
    earlier = [b for b in history.retrain_batches if b < batch_id]
    if not earlier or policy.cooldown_windows <= 0:
        return None
    last = max(earlier)
    since = len({b for b in [*history.monitored_batches, batch_id] if last < b <= batch_id})
    if since < policy.cooldown_windows:
        return f"last retrain decided at {last}, {since} window(s) ago (< {policy.cooldown_windows})"
    return None
