"""How good a replayed policy's alarms were, judged against what the labels later showed.

A month is **degraded** when the realised ROC AUC of the model deployed on it is below that version's
test ROC AUC by more than ``monitoring.performance.max_auc_drop``; it is **judged** when both are known.
A degraded month stays *open* from its own cycle until the cycle whose monitoring first measured its
labels (the end of the replay when that cycle is not in it): an alarm in that span warned about it.

- an alarm (``alert`` or ``retrain`` for alerts, ``retrain`` only for retrains) is **true** when its
  cycle lies in an open span, **false** when it does not and its own month was judged not degraded
  (an alarm on an unjudged month outside every open span is left out);
- **precision** = true alarms / counted alarms; **recall** = degraded months with an alarm in their
  open span / degraded months; ``None`` where the denominator is 0;
- **lead** of a warned month = cycles from the first alarm in its span to the cycle that measured its
  labels (known only when that cycle is in the replay): what an operator gained over waiting for labels;
- **estimation MAE** = mean |realised − estimated| ROC AUC of the version that scored each month.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

ALERTING_DECISIONS = frozenset({"alert", "retrain"})
RETRAINING_DECISIONS = frozenset({"retrain"})


@dataclass(frozen=True)
class AlarmQuality:
    precision: float | None
    recall: float | None
    mean_lead_batches: float | None
    alarms: int


def degraded(realised_auc: float, test_auc: float, max_auc_drop: float) -> bool | None:
    """realised < test − max_auc_drop; ``None`` when either is unknown (NaN)."""
    if pd.isna(realised_auc) or pd.isna(test_auc):
        return None
    return bool(realised_auc < test_auc - max_auc_drop)


def alarm_quality(
    batches: list[str],
    decisions: list[str | None],
    degraded_months: dict[str, bool],
    labels_measured_at: dict[str, str],
    alarming: frozenset[str],
) -> AlarmQuality:
    """``batches`` in cycle order with their ``decisions``; ``degraded_months``: judged months only;
    ``labels_measured_at``: month → the cycle whose monitoring first measured its labels."""
    position = {b: i for i, b in enumerate(batches)}
    spans = {
        month: (position[month], position.get(labels_measured_at.get(month), len(batches) - 1))
        for month, bad in degraded_months.items()
        if bad and month in position
    }
    fired = [i for i, d in enumerate(decisions) if d in alarming]
    true_alarms = [i for i in fired if any(start <= i <= end for start, end in spans.values())]
    counted = [i for i in fired if i in true_alarms or degraded_months.get(batches[i]) is False]
    leads, warned = [], 0
    for month, (start, end) in spans.items():
        in_span = [i for i in fired if start <= i <= end]
        if in_span:
            warned += 1
            if labels_measured_at.get(month) in position:
                leads.append(end - in_span[0])
    return AlarmQuality(
        precision=_ratio(len(true_alarms), len(counted)),
        recall=_ratio(warned, len(spans)),
        mean_lead_batches=sum(leads) / len(leads) if leads else None,
        alarms=len(fired),
    )


def quality_summary(frame: pd.DataFrame) -> dict:
    """The replay summary's alert-quality figures from the timeline's ``batch_id``, ``decision``,
    ``degraded``, ``labels_measured_at`` and ``estimation_error`` columns."""
    judged = {b: bool(d) for b, d in zip(frame["batch_id"], frame["degraded"], strict=True) if not pd.isna(d)}
    measured = {
        b: at for b, at in zip(frame["batch_id"], frame["labels_measured_at"], strict=True) if not pd.isna(at)
    }
    batches, decisions = list(frame["batch_id"]), list(frame["decision"])
    summary = {"judged_months": len(judged), "degraded_months": sum(judged.values())}
    for prefix, alarming in (("alert", ALERTING_DECISIONS), ("retrain", RETRAINING_DECISIONS)):
        quality = alarm_quality(batches, decisions, judged, measured, alarming)
        summary |= {
            f"{prefix}_precision": quality.precision,
            f"{prefix}_recall": quality.recall,
            f"{prefix}_mean_lead_batches": quality.mean_lead_batches,
        }
    errors = pd.to_numeric(frame["estimation_error"], errors="coerce").dropna()
    summary["estimation_mae"] = float(errors.abs().mean()) if len(errors) else None
    return summary


def _ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None
