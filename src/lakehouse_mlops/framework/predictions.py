"""Rules about the predictions table that the loop, monitoring and replay share."""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F


def first_scorer(predictions: DataFrame | None, batch_column: str, batch_id: str) -> str | None:
    """The model version that first scored ``batch_id``: the one deployed on it (monitored on it)."""
    if predictions is None:
        return None
    first = (
        predictions.filter(F.col(batch_column) == batch_id)
        .orderBy("scored_at", "model_version")
        .select("model_version")
        .first()
    )
    return None if first is None else first[0]


def scores_of(predictions: DataFrame, batch_column: str, batch_id: str, version: str) -> DataFrame:
    """The rows ``version`` scored for ``batch_id``."""
    return predictions.filter((F.col(batch_column) == batch_id) & (F.col("model_version") == version))
