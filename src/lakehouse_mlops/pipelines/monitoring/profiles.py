"""Spark reductions of a window to small per-column summaries: two jobs per window.

``numeric_profiles`` (moments and quantiles of every numeric column) is one aggregation;
``value_counts`` (reference-quantile bucket counts, category counts and the window's rows) is one
grouped count. Nothing here collects rows: at most a few thousand numbers per column.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from pyspark.ml.feature import Bucketizer
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

_ROWS, _BUCKET, _CATEGORY = "rows", "bucket", "category"


@dataclass(frozen=True)
class NumericProfile:
    rows: int
    non_null: int
    mean: float
    std: float
    min: float
    max: float
    #: values at probabilities k / n for k = 1 … n − 1 (approximate, Spark's percentile_approx)
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
    """Counts, moments and quantiles of each column, in one job; values outside ``ranges`` are counted.

    Quantiles are Spark's ``percentile_approx`` (the sketch ``approxQuantile`` uses) at accuracy
    ``1 / relative_error``, computed in the same pass as the moments.
    """
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
    probabilities = F.array(*[F.lit(k / n_quantiles) for k in range(1, n_quantiles)])
    accuracy = max(1, round(1 / relative_error))
    aggregates += [F.percentile_approx(c, probabilities, accuracy).alias(f"{c}__q") for c in columns]
    summary = values.agg(*aggregates).first().asDict()
    return {
        c: NumericProfile(
            rows=int(summary["__rows"]),
            non_null=int(summary[f"{c}__n"]),
            mean=_number(summary[f"{c}__mean"]),
            std=_number(summary[f"{c}__std"]),
            min=_number(summary[f"{c}__min"]),
            max=_number(summary[f"{c}__max"]),
            quantiles=np.asarray(summary[f"{c}__q"] or [], dtype=float),  # null: no value at all
            out_of_range=int(summary.get(f"{c}__out") or 0),
        )
        for c in columns
    }


def _number(value) -> float:
    return float("nan") if value is None else float(value)


def bucket_splits(profile: NumericProfile) -> np.ndarray:
    """Bucket edges from the reference quantiles: −∞, distinct quantiles, +∞."""
    return np.concatenate([[-np.inf], np.unique(profile.quantiles), [np.inf]])


def coarse_counts(splits: np.ndarray, counts: np.ndarray, coarse_edges: np.ndarray) -> np.ndarray:
    """Sum fine bucket counts into the coarser bins cut at ``coarse_edges`` (a subset of ``splits``)."""
    index = np.searchsorted(coarse_edges, splits[:-1], side="right")
    return np.bincount(index, weights=counts, minlength=len(coarse_edges) + 1)


@dataclass(frozen=True)
class WindowCounts:
    rows: int
    #: non-null values per bucket ``[splits[i], splits[i + 1])`` of each numeric column
    buckets: dict[str, np.ndarray]
    categories: dict[str, CategoricalProfile]


def value_counts(frame: DataFrame, splits: dict[str, np.ndarray], categorical: list[str]) -> WindowCounts:
    """Bucket counts of each numeric column in ``splits``, value counts of each categorical column
    and the window's rows, in one job: every row becomes (column, bucket or value) pairs, counted."""
    numeric = list(splits)
    selected = frame.select(
        *[F.coalesce(_as_double(c), F.lit(float("nan"))).alias(f"{c}__v") for c in numeric],
        *[F.col(c).cast("string").alias(f"{c}__c") for c in categorical],
    )
    if numeric:
        selected = Bucketizer(
            splitsArray=[[float(s) for s in splits[c]] for c in numeric],
            inputCols=[f"{c}__v" for c in numeric],
            outputCols=[f"{c}__b" for c in numeric],
            handleInvalid="keep",  # missing values go to an extra bucket, dropped below
        ).transform(selected)

    def pair(kind: str, column: str, value) -> Column:
        return F.struct(F.lit(kind).alias("kind"), F.lit(column).alias("column"), value.alias("value"))

    pairs = [pair(_ROWS, "", F.lit(""))]  # one per row: the window's size
    pairs += [pair(_BUCKET, c, F.col(f"{c}__b").cast("int").cast("string")) for c in numeric]
    pairs += [pair(_CATEGORY, c, F.col(f"{c}__c")) for c in categorical]
    counted = (
        selected.select(F.explode(F.array(*pairs)).alias("p"))
        .filter(F.col("p.value").isNotNull())
        .groupBy("p.kind", "p.column", "p.value")
        .count()
        .collect()
    )
    rows = 0
    buckets = {c: np.zeros(len(splits[c]) - 1) for c in numeric}
    categories: dict[str, dict[str, int]] = {c: {} for c in categorical}
    for row in counted:
        kind, column, value, count = row["kind"], row["column"], row["value"], int(row["count"])
        if kind == _ROWS:
            rows = count
        elif kind == _BUCKET and int(value) < len(buckets[column]):  # the extra bucket: missing values
            buckets[column][int(value)] = count
        elif kind == _CATEGORY:
            categories[column][value] = count
    return WindowCounts(
        rows, buckets, {c: CategoricalProfile(rows=rows, counts=categories[c]) for c in categorical}
    )
