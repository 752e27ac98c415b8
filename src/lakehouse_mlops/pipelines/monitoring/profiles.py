"""Spark reductions of a window to small per-column summaries (one or two jobs per window).

Nothing here collects rows: each function returns at most a few thousand numbers per column.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from pyspark.ml.feature import Bucketizer
from pyspark.sql import DataFrame
from pyspark.sql import functions as F


@dataclass(frozen=True)
class NumericProfile:
    rows: int
    non_null: int
    mean: float
    std: float
    min: float
    max: float
    #: values at probabilities k / n for k = 1 … n − 1 (approximate, Spark's approxQuantile)
    quantiles: np.ndarray
    out_of_range: int = 0

    @property
    def null_share(self) -> float:
        return 1 - self.non_null / self.rows if self.rows else 0.0


@dataclass(frozen=True)
class CategoricalProfile:
    rows: int
    counts: dict[str, int] = field(default_factory=dict)  # non-null categories

    @property
    def non_null(self) -> int:
        return sum(self.counts.values())

    @property
    def null_share(self) -> float:
        return 1 - self.non_null / self.rows if self.rows else 0.0


def _as_double(column: str):
    """Numeric value as double, with NaN read as missing (as nulls are)."""
    value = F.col(column).cast("double")
    return F.when(F.isnan(value), F.lit(None)).otherwise(value)


def numeric_profiles(
    frame: DataFrame,
    columns: list[str],
    n_quantiles: int,
    relative_error: float,
    ranges: dict[str, tuple[float, float]] | None = None,
) -> dict[str, NumericProfile]:
    """Counts, moments and quantiles of each column; values outside ``ranges`` are counted."""
    if not columns:
        return {}
    values = frame.select(*[_as_double(c).alias(c) for c in columns])
    ranges = ranges or {}
    aggregates = [F.count(F.lit(1)).alias("__rows")]
    for c in columns:
        aggregates += [
            F.count(c).alias(f"{c}__n"),
            F.avg(c).alias(f"{c}__mean"),
            F.stddev_pop(c).alias(f"{c}__std"),
            F.min(c).alias(f"{c}__min"),
            F.max(c).alias(f"{c}__max"),
        ]
        if c in ranges:
            low, high = ranges[c]
            outside = (F.col(c) < F.lit(low)) | (F.col(c) > F.lit(high))
            aggregates.append(F.count(F.when(outside, 1)).alias(f"{c}__out"))
    moments = values.agg(*aggregates).first().asDict()
    probabilities = [k / n_quantiles for k in range(1, n_quantiles)]
    quantiles = values.approxQuantile(columns, probabilities, relative_error)
    return {
        c: NumericProfile(
            rows=int(moments["__rows"]),
            non_null=int(moments[f"{c}__n"]),
            mean=_number(moments[f"{c}__mean"]),
            std=_number(moments[f"{c}__std"]),
            min=_number(moments[f"{c}__min"]),
            max=_number(moments[f"{c}__max"]),
            quantiles=np.asarray(q, dtype=float),
            out_of_range=int(moments.get(f"{c}__out") or 0),
        )
        for c, q in zip(columns, quantiles, strict=True)
    }


def _number(value) -> float:
    return float("nan") if value is None else float(value)


def bucket_splits(profile: NumericProfile) -> np.ndarray:
    """Bucket edges from the reference quantiles: −∞, distinct quantiles, +∞."""
    return np.concatenate([[-np.inf], np.unique(profile.quantiles), [np.inf]])


def bucket_counts(frame: DataFrame, splits: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Non-null values per bucket ``[splits[i], splits[i + 1])`` of each column, in one job."""
    if not splits:
        return {}
    columns = list(splits)
    bucketed = Bucketizer(
        splitsArray=[[float(s) for s in splits[c]] for c in columns],
        inputCols=[f"{c}__v" for c in columns],
        outputCols=[f"{c}__b" for c in columns],
        handleInvalid="keep",  # missing values go to an extra bucket, dropped below
    ).transform(
        frame.select(*[F.coalesce(_as_double(c), F.lit(float("nan"))).alias(f"{c}__v") for c in columns])
    )
    pairs = F.explode(
        F.array(*[F.struct(F.lit(c).alias("feature"), F.col(f"{c}__b").alias("bucket")) for c in columns])
    )
    counted = bucketed.select(pairs.alias("p")).groupBy("p.feature", "p.bucket").count().collect()
    result = {c: np.zeros(len(splits[c]) - 1) for c in columns}
    for row in counted:
        bucket = int(row["bucket"])
        if bucket < len(result[row["feature"]]):  # the extra bucket holds the missing values
            result[row["feature"]][bucket] = row["count"]
    return result


def coarse_counts(splits: np.ndarray, counts: np.ndarray, coarse_edges: np.ndarray) -> np.ndarray:
    """Sum fine bucket counts into the coarser bins cut at ``coarse_edges`` (a subset of ``splits``)."""
    index = np.searchsorted(coarse_edges, splits[:-1], side="right")
    return np.bincount(index, weights=counts, minlength=len(coarse_edges) + 1)


def categorical_profiles(frame: DataFrame, columns: list[str]) -> dict[str, CategoricalProfile]:
    """Row count and non-null category counts of each column, in one job."""
    if not columns:
        return {}
    rows = frame.count()
    pairs = F.explode(
        F.array(
            *[F.struct(F.lit(c).alias("feature"), F.col(c).cast("string").alias("value")) for c in columns]
        )
    )
    counted = (
        frame.select(pairs.alias("p"))
        .filter(F.col("p.value").isNotNull())
        .groupBy("p.feature", "p.value")
        .count()
        .collect()
    )
    counts: dict[str, dict[str, int]] = {c: {} for c in columns}
    for row in counted:
        counts[row["feature"]][row["value"]] = int(row["count"])
    return {c: CategoricalProfile(rows=rows, counts=counts[c]) for c in columns}
