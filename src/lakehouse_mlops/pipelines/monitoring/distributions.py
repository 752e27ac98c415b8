"""Reference-vs-current distributions of each feature, for the report's plots of the most drifted
features: from the counts the drift pass already has (no Spark job of their own).

Numeric features are shown on the reference's deciles (the PSI bins: each holds a tenth of the
reference, so a shift shows as bars leaving 10 %); categorical ones as the shares of their most
frequent categories, the rest summed as "other"."""

from __future__ import annotations

import numpy as np

from lakehouse_mlops.pipelines.monitoring.profiles import (
    CategoricalProfile,
    ReferenceProfile,
    WindowCounts,
    coarse_counts,
)

#: categories shown per feature; the rest are one bar
SHOWN_CATEGORIES = 12
OTHER = "other"


def _shares(counts: np.ndarray) -> list[float]:
    total = float(np.sum(counts))
    return [float(n) / total if total else 0.0 for n in counts]


def _interval_labels(edges: np.ndarray) -> list[str]:
    """``< e1``, ``e1 – e2``, …, ``≥ ek`` for the bins cut at ``edges``."""
    text = [f"{e:.4g}" for e in edges]
    if not text:
        return ["all values"]
    middle = [f"{low} – {high}" for low, high in zip(text[:-1], text[1:], strict=True)]
    return [f"< {text[0]}", *middle, f"≥ {text[-1]}"]


def numeric_distribution(
    reference: ReferenceProfile, window: WindowCounts, column: str, positions: list[int]
) -> dict:
    """Shares of reference and current rows per reference decile (``positions``: the deciles'
    indices among the reference's quantiles)."""
    splits = reference.splits[column]
    quantiles = reference.numeric[column].quantiles
    known = len(quantiles) > max(positions, default=0)
    edges = np.unique(quantiles[positions]) if known else np.array([])
    edges = edges[np.isfinite(edges)]
    return {
        "type": "numeric",
        "bins": _interval_labels(edges),
        "reference": _shares(coarse_counts(splits, reference.buckets[column].counts, edges)),
        "current": _shares(coarse_counts(splits, window.buckets[column].counts, edges)),
    }


def categorical_distribution(reference: CategoricalProfile, current: CategoricalProfile) -> dict:
    """Shares of the most frequent categories (reference and current together), the rest as "other"."""
    ref_total, cur_total = max(sum(reference.counts.values()), 1), max(sum(current.counts.values()), 1)
    weight = {
        v: reference.counts.get(v, 0) / ref_total + current.counts.get(v, 0) / cur_total
        for v in set(reference.counts) | set(current.counts)
    }
    shown = sorted(weight, key=lambda v: (-weight[v], str(v)))[:SHOWN_CATEGORIES]
    rest = [v for v in weight if v not in shown]

    def shares(profile: CategoricalProfile, total: int) -> list[float]:
        values = [profile.counts.get(v, 0) / total for v in shown]
        return values + ([sum(profile.counts.get(v, 0) for v in rest) / total] if rest else [])

    return {
        "type": "categorical",
        "bins": [str(v) for v in shown] + ([OTHER] if rest else []),
        "reference": shares(reference, ref_total),
        "current": shares(current, cur_total),
    }


def feature_distributions(reference: ReferenceProfile, window: WindowCounts, positions: list[int]) -> dict:
    """Every profiled feature's distribution pair, by feature name."""
    numeric = {c: numeric_distribution(reference, window, c, positions) for c in reference.splits}
    categorical = {
        c: categorical_distribution(reference.categories[c], window.categories[c])
        for c in reference.categories
    }
    return {**numeric, **categorical}
