"""Freshness and completeness of the use case's feeds, from the ingestion audit (rows landed and
accepted per feed and batch). Pure Python, no Spark: the node hands over the audit's rows.

- ``feed_missing``: a feed declared ``arrives: every_batch`` has no audited rows for the monitored
  batch (no file, or files without data rows); a feed declared ``arrives: once`` (reference data)
  is missing only while no batch up to the monitored one brought it.
- ``feed_incomplete``: a per-batch feed's accepted (silver) rows for the batch are below
  ``completeness_min_ratio`` × the median of its previous ``completeness_window`` audited batches;
  with fewer than ``completeness_min_batches`` previous batches the row is ``insufficient``.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import median

from lakehouse_mlops.pipelines.monitoring.config import Feeds
from lakehouse_mlops.pipelines.monitoring.drift import INSUFFICIENT, metric

FEED_QUALITY = "feed_quality"
FEED_MISSING, FEED_INCOMPLETE = "feed_missing", "feed_incomplete"
EVERY_BATCH, ONCE = "every_batch", "once"


@dataclass(frozen=True)
class AuditedBatch:
    """One feed's batch as the ingestion audit counted it."""

    feed: str
    batch_id: str
    landed: int
    accepted: int


def feed_rows(batch_id: str, arrivals: dict[str, str], audit: list[AuditedBatch], spec: Feeds) -> list[dict]:
    """``feed_quality`` metric rows for ``batch_id``: one ``feed_missing`` row per declared feed and,
    for a per-batch feed that landed, one ``feed_incomplete`` row. ``arrivals``: feed → how it arrives."""
    rows = []
    for feed, arrives in sorted(arrivals.items()):
        landed = {a.batch_id: a for a in audit if a.feed == feed and a.landed > 0}
        if arrives == ONCE:
            present = any(b <= batch_id for b in landed)
            rows.append(
                _missing(feed, not present, sum(a.landed for b, a in landed.items() if b <= batch_id))
            )
            continue
        current = landed.get(batch_id)
        rows.append(_missing(feed, current is None, current.landed if current else 0))
        if current is not None:
            earlier = [landed[b].accepted for b in sorted(b for b in landed if b < batch_id)]
            rows.append(_completeness(feed, current.accepted, earlier[-spec.completeness_window :], spec))
    return rows


def _missing(feed: str, missing: bool, landed: int) -> dict:
    return metric(FEED_QUALITY, feed, FEED_MISSING, float(missing), flagged=missing, current_rows=landed)


def _completeness(feed: str, accepted: int, earlier: list[int], spec: Feeds) -> dict:
    bar, sizes = spec.completeness_min_ratio, {"current_rows": accepted}
    if len(earlier) < spec.completeness_min_batches:
        return metric(FEED_QUALITY, feed, FEED_INCOMPLETE, None, threshold=bar, status=INSUFFICIENT, **sizes)
    trailing = float(median(earlier))
    ratio = accepted / trailing if trailing > 0 else None
    low = ratio is not None and ratio < bar
    row = metric(
        FEED_QUALITY,
        feed,
        FEED_INCOMPLETE,
        ratio,
        threshold=bar,
        flagged=low,
        reference_rows=round(trailing),
        **sizes,
    )
    # not columns of monitoring_metrics: the alarm's text quotes them exactly
    return {**row, "trailing_median": trailing, "previous_batches": len(earlier)}


def feed_alarms(rows: list[dict], batch_id: str) -> list[str]:
    """A readable alarm per flagged row, naming the alarm, the feed and the batch, with its numbers."""
    alarms = []
    for r in rows:
        if r["kind"] != FEED_QUALITY or not r["flagged"]:
            continue
        if r["metric"] == FEED_MISSING:
            alarms.append(f"{FEED_MISSING}: feed '{r['feature']}' did not land for batch {batch_id}")
        else:
            alarms.append(
                f"{FEED_INCOMPLETE}: feed '{r['feature']}' batch {batch_id} has {r['current_rows']} accepted "
                f"rows, {r['value']:.2f} x the trailing median {r['trailing_median']:g} of "
                f"{r['previous_batches']} previous batches (< {r['threshold']:g})"
            )
    return alarms


def unassessed(rows: list[dict]) -> list[str]:
    """Per-batch feeds whose completeness could not be judged (too few previous batches)."""
    return [r["feature"] for r in rows if r["metric"] == FEED_INCOMPLETE and r["status"] == INSUFFICIENT]
