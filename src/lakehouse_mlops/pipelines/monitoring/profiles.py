"""Spark reductions of windows to small per-column summaries.

``numeric_profiles`` (moments and quantiles of every numeric column: the reference's bucket edges)
is one aggregation; ``window_counts`` (per window: count and sum of each numeric column in each
reference-quantile bucket, category counts, rows) is one pass over all the windows, each partition
reduced by numpy on the executors.
``profile_reference`` is both for a reference window (two jobs), ``ReferenceProfile`` what a later
window is compared with (one job: ``window_counts`` on its splits).
Nothing here collects rows: at most a few thousand numbers per column.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import reduce

import numpy as np
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.pandas.types import from_arrow_schema

from lakehouse_mlops.pipelines.monitoring.bucket_counts import (
    BUCKET,
    CATEGORY,
    MOMENTS,
    PARTIAL,
    ROWS,
    PartitionCounter,
)


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
) -> dict[str, NumericProfile]:
    """Counts, moments and quantiles of each column, in one job.

    Quantiles are Spark's ``percentile_approx`` (the sketch ``approxQuantile`` uses) at accuracy
    ``1 / relative_error``, computed in the same pass as the moments.
    """
    if not columns:
        return {}
    values = frame.select(*[_as_double(c).alias(c) for c in columns])
    aggregates = [F.count(F.lit(1)).alias("__rows")]
    for c in columns:
        aggregates += [
            F.count(c).alias(f"{c}__n"),
            F.avg(c).alias(f"{c}__mean"),
            F.stddev_pop(c).alias(f"{c}__std"),
            F.min(c).alias(f"{c}__min"),
            F.max(c).alias(f"{c}__max"),
        ]
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
        )
        for c in columns
    }


def _number(value) -> float:
    return float("nan") if value is None else float(value)


def bucket_splits(profile: NumericProfile) -> np.ndarray:
    """Bucket edges from the reference: −∞, its minimum, its distinct quantiles, just above its
    maximum, +∞. The first and the last bucket hold exactly the values outside the reference's range.
    """
    if profile.non_null == 0:
        return np.array([-np.inf, np.inf])
    above_max = np.nextafter(profile.max, np.inf)
    inner = profile.quantiles[(profile.quantiles > profile.min) & (profile.quantiles < above_max)]
    return np.concatenate([[-np.inf, profile.min], np.unique(inner), [above_max, np.inf]])


def out_of_range(buckets: BucketStats) -> int:
    """Values below the reference's minimum or above its maximum (the outer buckets of its splits)."""
    return int(buckets.counts[0] + buckets.counts[-1]) if len(buckets.counts) > 1 else 0


def coarse_counts(splits: np.ndarray, counts: np.ndarray, coarse_edges: np.ndarray) -> np.ndarray:
    """Sum fine bucket counts into the coarser bins cut at ``coarse_edges`` (a subset of ``splits``)."""
    index = np.searchsorted(coarse_edges, splits[:-1], side="right")
    return np.bincount(index, weights=counts, minlength=len(coarse_edges) + 1)


@dataclass(frozen=True)
class BucketStats:
    """Non-null values of one column per bucket ``[splits[i], splits[i + 1])``: how many, and their sum."""

    counts: np.ndarray
    sums: np.ndarray


@dataclass(frozen=True)
class WindowCounts:
    rows: int
    buckets: dict[str, BucketStats]
    #: counts, moments, range and out-of-range values of each numeric column, from its buckets
    #: (no quantiles: a window is compared with the reference on the reference's buckets)
    numeric: dict[str, NumericProfile]
    categories: dict[str, CategoricalProfile]


def window_counts(
    windows: list[DataFrame], splits: dict[str, np.ndarray], categorical: list[str]
) -> list[WindowCounts]:
    """Per window: bucket counts and sums of each numeric column in ``splits`` (with its moments, and
    the values outside the reference's range when the splits are ``bucket_splits``), value counts of
    each categorical column, and the rows.

    One job for all the windows: every partition is reduced to counts by numpy on the executors
    (``bucket_counts``), and the partitions' counts are added up by Spark.
    """
    numeric = list(splits)
    selected = reduce(
        DataFrame.unionByName,
        [
            w.select(
                F.lit(i).cast("int").alias("window"),
                *[_as_double(c).alias(f"n{j}") for j, c in enumerate(numeric)],
                *[F.col(c).cast("string").alias(f"c{j}") for j, c in enumerate(categorical)],
            )
            for i, w in enumerate(windows)
        ],
    )
    counter = PartitionCounter(
        len(windows), numeric, [np.asarray(splits[c], float) for c in numeric], categorical
    )
    counted = (
        selected.mapInArrow(counter, from_arrow_schema(PARTIAL))
        .groupBy("window", "kind", "column", "value")
        .agg(
            F.sum("n").alias("n"),
            F.sum("sum").alias("sum"),
            F.sum("sum2").alias("sum2"),
            F.min("min").alias("min"),
            F.max("max").alias("max"),
        )
        .collect()
    )
    return [
        _window(
            [r for r in counted if r["window"] == i],
            {c: len(splits[c]) - 1 for c in numeric},
            categorical,
        )
        for i in range(len(windows))
    ]


@dataclass(frozen=True)
class ReferenceProfile:
    """A reference window reduced to what drift needs: per numeric column its profile (moments,
    quantiles), bucket edges and each bucket's count and sum; per categorical column its counts."""

    numeric: dict[str, NumericProfile]
    splits: dict[str, np.ndarray]
    buckets: dict[str, BucketStats]
    categories: dict[str, CategoricalProfile]


def profile_reference(
    frame: DataFrame,
    numeric: list[str],
    categorical: list[str],
    n_quantiles: int,
    relative_error: float,
) -> ReferenceProfile:
    """The reference's profile in two jobs: moments and quantiles, then counts and sums per bucket."""
    profiles = numeric_profiles(frame, numeric, n_quantiles, relative_error)
    splits = {c: bucket_splits(profiles[c]) for c in numeric}  # no value at all: one bucket, −∞ to ∞
    (window,) = window_counts([frame], splits, categorical)
    return ReferenceProfile(profiles, splits, window.buckets, window.categories)


def _window(counted: list, n_buckets: dict[str, int], categorical: list[str]) -> WindowCounts:
    rows = 0
    counts = {c: np.zeros(n) for c, n in n_buckets.items()}
    sums = {c: np.zeros(n) for c, n in n_buckets.items()}
    # one row per column after Spark's sum/min/max over the partitions
    squares = dict.fromkeys(n_buckets, 0.0)
    lows, highs = dict.fromkeys(n_buckets, float("nan")), dict.fromkeys(n_buckets, float("nan"))
    categories: dict[str, dict[str, int]] = {c: {} for c in categorical}
    for row in counted:
        kind, column, value, n = row["kind"], row["column"], row["value"], int(row["n"])
        if kind == ROWS:
            rows = n
        elif kind == BUCKET:
            counts[column][int(value)], sums[column][int(value)] = n, row["sum"]
        elif kind == MOMENTS:
            squares[column], lows[column], highs[column] = row["sum2"], row["min"], row["max"]
        elif kind == CATEGORY:
            categories[column][value] = n
    buckets = {c: BucketStats(counts[c], sums[c]) for c in n_buckets}
    return WindowCounts(
        rows,
        buckets,
        {c: _moments(rows, buckets[c], squares[c], lows[c], highs[c]) for c in n_buckets},
        {c: CategoricalProfile(rows=rows, counts=categories[c]) for c in categorical},
    )


def _moments(rows: int, buckets: BucketStats, squares: float, low: float, high: float) -> NumericProfile:
    n = int(buckets.counts.sum())
    mean = float(buckets.sums.sum() / n) if n else float("nan")
    std = float(np.sqrt(max(squares / n - mean * mean, 0.0))) if n else float("nan")
    return NumericProfile(
        rows=rows,
        non_null=n,
        mean=mean,
        std=std,
        min=low,
        max=high,
        quantiles=np.array([]),
        out_of_range=out_of_range(buckets),
    )


def histogram_counts(frame: DataFrame, column: str, bins: int) -> np.ndarray:
    """How many values of a column in [0, 1] fall in each of ``bins`` equal bins (1.0 in the last)."""
    index = F.least(F.floor(F.col(column) * bins), F.lit(bins - 1)).cast("int")
    counts = dict(frame.filter(F.col(column).isNotNull()).groupBy(index.alias("b")).count().collect())
    return np.array([counts.get(i, 0) for i in range(bins)], dtype=float)
