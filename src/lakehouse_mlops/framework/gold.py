"""Helpers for a use case's features + labels pipeline: the canonical gold columns, computed once."""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from lakehouse_mlops.framework.batches import Cadence

#: the gold columns every use case's pipeline writes besides its key, event time, batch and label
FEATURE_HASH, LABEL_KNOWN_AT, LABEL_BATCH = "_feature_hash", "label_known_at", "label_batch_id"


def label_known_at(event_time: Column, cadence: Cadence, batches_later: int) -> Column:
    """When a row's label lands: the start of the batch ``batches_later`` after the row's own batch."""
    if cadence == "month":
        return F.add_months(F.trunc(event_time, "month"), batches_later).cast("timestamp")
    unit = {"hour": "HOUR", "day": "DAY", "week": "WEEK"}[cadence]
    start = F.date_trunc(cadence, event_time.cast("timestamp"))
    return start + F.expr(f"INTERVAL {int(batches_later)} {unit}")


def feature_hash(columns: list[str]) -> Column:
    """A hash of the feature row: the predictions table re-scores a row only when it changed."""
    return F.sha2(F.to_json(F.struct(*[F.col(f"`{c}`") for c in columns])), 256)


def of_batch(frame: DataFrame, batch_id: str | None) -> DataFrame:
    """Silver rows that landed with ``batch_id`` (all rows when it is None): a cycle builds only the
    gold rows of the batch it processes (``features.batch_id``)."""
    return frame if batch_id is None else frame.filter(F.col("_batch_id") == batch_id)


def gold_feature_rows(frame: DataFrame, descriptions: dict[str, str]) -> DataFrame:
    """The gold feature rows: every column with its description as the column comment (where one is
    given), plus the feature hash of the row."""
    described = [
        F.col(f"`{c}`").alias(c, metadata={"comment": descriptions[c]}) if c in descriptions else f"`{c}`"
        for c in frame.columns
    ]
    return frame.select(*described).withColumn(FEATURE_HASH, feature_hash(frame.columns))
