"""Drift statistics from binned counts and quantiles (small arrays computed by Spark).

Spark reduces each column to a few thousand numbers (counts and sums per reference-quantile
bucket, quantiles, category counts); the statistics below are exact functions of those numbers,
so they can be checked against scipy on the same data.
"""

from __future__ import annotations

import numpy as np
from scipy import stats
from scipy.spatial import distance

#: Floor for empty bins in PSI (log of zero is undefined); documented in parameters_monitoring.yml.
PSI_EMPTY_BIN_SHARE = 1e-4


def shares(counts: np.ndarray) -> np.ndarray:
    counts = np.asarray(counts, dtype=float)
    total = counts.sum()
    return counts / total if total > 0 else counts


def ks_statistic(reference_counts: np.ndarray, current_counts: np.ndarray) -> float:
    """Largest gap between the two empirical CDFs, evaluated at every bucket edge."""
    gap = np.cumsum(shares(reference_counts)) - np.cumsum(shares(current_counts))
    return float(np.max(np.abs(gap)))


def ks_pvalue(statistic: float, n: int, m: int) -> float:
    """Asymptotic two-sample KS p-value (as ``scipy.stats.ks_2samp(method="asymp")``)."""
    if n == 0 or m == 0:
        return float("nan")
    return float(stats.kstwobign.sf(statistic * np.sqrt(n * m / (n + m))))


def wasserstein_normalised(  # noqa: PLR0913 - two windows' buckets and the scale
    splits: np.ndarray,
    reference_counts: np.ndarray,
    reference_sums: np.ndarray,
    current_counts: np.ndarray,
    current_sums: np.ndarray,
    reference_std: float,
) -> float:
    """Earth mover's distance ∫|F_ref(x) − F_cur(x)| dx, divided by the reference standard deviation
    (so that one threshold fits every feature's unit).

    From each bucket's count and sum of values the integral of each CDF over the bucket is exact
    (∫ F over ``[a, b)`` = F(a)·(b − a) + Σ (b − v) / n over the bucket's values v), so the distance
    is exact wherever the CDFs do not cross inside a bucket (between two reference quantiles).
    """
    gaps = _cdf_integrals(splits, reference_counts, reference_sums) - _cdf_integrals(
        splits, current_counts, current_sums
    )
    scale = reference_std if reference_std > 0 else 1.0
    return float(np.sum(np.abs(gaps))) / scale


def _cdf_integrals(splits: np.ndarray, counts: np.ndarray, sums: np.ndarray) -> np.ndarray:
    """Per bucket ``[splits[i], splits[i + 1])``: ∫ F over it; for the last, unbounded one, −∫ (1 − F)
    (so that differences between two windows are ∫ (F_1 − F_2) over every bucket)."""
    n = counts.sum()
    if n == 0:
        return np.zeros(len(counts))
    lower, upper = splits[:-1], splits[1:]
    before = (np.cumsum(counts) - counts) / n  # F at each bucket's lower edge
    integrals = np.zeros(len(counts))
    inner = slice(1, len(counts) - 1)  # the first bucket starts at −∞: F is 0 there, before = 0
    integrals[:-1] = (counts[:-1] * upper[:-1] - sums[:-1]) / n
    integrals[inner] += before[inner] * (upper[inner] - lower[inner])
    integrals[-1] = -(sums[-1] - counts[-1] * lower[-1]) / n
    return integrals


def psi(reference_counts: np.ndarray, current_counts: np.ndarray) -> float:
    """Population stability index Σ (cur − ref) · ln(cur / ref) over fixed reference bins."""
    ref = np.clip(shares(reference_counts), PSI_EMPTY_BIN_SHARE, None)
    cur = np.clip(shares(current_counts), PSI_EMPTY_BIN_SHARE, None)
    return float(np.sum((cur - ref) * np.log(cur / ref)))


def jensen_shannon(reference_counts: np.ndarray, current_counts: np.ndarray) -> float:
    """Jensen–Shannon distance (base 2, in [0, 1]) between two category distributions."""
    return float(distance.jensenshannon(shares(reference_counts), shares(current_counts), base=2))


def total_variation(reference_counts: np.ndarray, current_counts: np.ndarray) -> float:
    """Total-variation distance ½ Σ |p − q| (in [0, 1]): the largest difference in probability any
    set of categories can have between the windows."""
    return float(0.5 * np.sum(np.abs(shares(reference_counts) - shares(current_counts))))


def l_infinity(reference_counts: np.ndarray, current_counts: np.ndarray) -> float:
    """L∞ distance max |p − q|: the largest change of one category's share."""
    return float(np.max(np.abs(shares(reference_counts) - shares(current_counts))))


def chi_square(reference_counts: np.ndarray, current_counts: np.ndarray) -> tuple[float, float]:
    """Chi-square test of homogeneity on the 2 × k table (categories seen in either window)."""
    table = np.vstack([reference_counts, current_counts]).astype(float)
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2:  # one category: nothing can differ
        return 0.0, 1.0
    result = stats.chi2_contingency(table, correction=False)
    return float(result.statistic), float(result.pvalue)


def binned_roc_auc(positives: np.ndarray, negatives: np.ndarray) -> float:
    """ROC AUC from label counts per score bin (ascending scores); ties within a bin count half."""
    positives, negatives = np.asarray(positives, float), np.asarray(negatives, float)
    n_pos, n_neg = positives.sum(), negatives.sum()
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    negatives_below = np.cumsum(negatives) - negatives
    return float(np.sum(positives * (negatives_below + 0.5 * negatives)) / (n_pos * n_neg))


def expected_calibration_error(mean_score: np.ndarray, positive_rate: np.ndarray, rows: np.ndarray) -> float:
    """Row-weighted mean gap between predicted probability and observed rate over score bins."""
    rows = np.asarray(rows, float)
    if rows.sum() == 0:
        return float("nan")
    gap = np.abs(np.asarray(mean_score) - np.asarray(positive_rate))
    return float(np.sum(rows * gap) / rows.sum())
