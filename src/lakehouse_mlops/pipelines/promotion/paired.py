"""Paired comparison of two models scored on the same labelled rows: how much better is the candidate
than the champion, and how sure can we be? The gate promotes only when the improvement's one-sided
lower confidence bound clears the bar, so a lucky test window does not crown a model.

ROC AUC uses DeLong's test; every other metric a stratified paired bootstrap."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
from scipy.stats import norm, rankdata

from lakehouse_mlops.framework.usecase import GATE_METRICS

#: resamples of the paired bootstrap; the lower bound's Monte-Carlo error is ~0.1 of its std error
BOOTSTRAP_RESAMPLES = 400
#: fixed, so that judging the same window twice (a crash-resumed cycle, `kedro approve`) agrees
BOOTSTRAP_SEED = 0


@dataclass(frozen=True)
class PairedDifference:
    """The candidate's improvement over the champion on one metric (positive = better, also for
    brier and log_loss) with its one-sided lower bound at ``confidence``."""

    metric: str
    candidate: float
    champion: float
    improvement: float
    lower_bound: float
    std_error: float
    confidence: float
    method: str
    rows: int

    def clears(self, margin: float) -> bool:
        """Is the improvement at least ``margin`` at this confidence? NaN never clears."""
        return bool(self.lower_bound >= margin)

    def evidence(self) -> str:
        return (
            f"{self.metric} {self.improvement:+.4f} over the champion, "
            f"{self.confidence:.0%} lower bound {self.lower_bound:+.4f} "
            f"({self.method}, {self.rows:,} rows)"
        )

    def as_record(self) -> dict:
        return asdict(self)


def delong_auc_difference(y: np.ndarray, first: np.ndarray, second: np.ndarray) -> tuple[float, float, float]:
    """(AUC of ``first``, AUC of ``second``, standard error of their difference) by DeLong's method
    (DeLong, DeLong & Clarke-Pearson 1988), computed with midranks (Sun & Xu 2014) in O(n log n).

    With ``m`` positives and ``n`` negatives, each model's placement values are
    ``V10_i = (rank of positive i among all - its rank among positives) / n`` and
    ``V01_j = 1 - (rank of negative j among all - its rank among negatives) / m``; the AUC is the mean
    of ``V10``. The covariance of the two AUCs is ``S10 / m + S01 / n`` (the 2×2 sample covariances of
    the placements), so ``var(AUC1 - AUC2) = S[0,0] + S[1,1] - 2 S[0,1]``. Ties count one half, as in
    the Mann–Whitney statistic. The normal approximation behind the interval needs a few dozen rows of
    each class; below that the bound is optimistic.
    """
    positive = y.astype(bool)
    m, n = int(positive.sum()), int((~positive).sum())
    if m < 2 or n < 2:
        return float("nan"), float("nan"), float("nan")
    placements_pos, placements_neg = [], []
    for scores in (first, second):
        everyone = rankdata(scores)
        placements_pos.append((everyone[positive] - rankdata(scores[positive])) / n)
        placements_neg.append(1.0 - (everyone[~positive] - rankdata(scores[~positive])) / m)
    covariance = np.cov(np.vstack(placements_pos)) / m + np.cov(np.vstack(placements_neg)) / n
    variance = covariance[0, 0] + covariance[1, 1] - 2 * covariance[0, 1]
    auc_first, auc_second = (float(np.mean(p)) for p in placements_pos)
    return auc_first, auc_second, float(np.sqrt(max(variance, 0.0)))


def bootstrap_difference(
    y: np.ndarray,
    first: np.ndarray,
    second: np.ndarray,
    score_first: Callable[[np.ndarray, np.ndarray], float],
    score_second: Callable[[np.ndarray, np.ndarray], float],
    confidence: float,
) -> tuple[float, float]:
    """(lower percentile bound at ``confidence``, standard error) of ``score_first - score_second``
    over paired resamples: the same rows for both models, positives and negatives resampled
    separately so every resample keeps the window's class balance. The percentile bound is first-order
    accurate; with 400 resamples its own Monte-Carlo error is about a tenth of the standard error."""
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    positives, negatives = np.flatnonzero(y == 1), np.flatnonzero(y != 1)
    differences = np.empty(BOOTSTRAP_RESAMPLES)
    for k in range(BOOTSTRAP_RESAMPLES):
        rows = np.concatenate([rng.choice(positives, positives.size), rng.choice(negatives, negatives.size)])
        differences[k] = score_first(y[rows], first[rows]) - score_second(y[rows], second[rows])
    return float(np.quantile(differences, 1 - confidence)), float(np.std(differences, ddof=1))


def paired_difference(
    metric: str,
    y: np.ndarray,
    candidate: np.ndarray,
    champion: np.ndarray,
    scorers: tuple[Callable, Callable],
    confidence: float,
) -> PairedDifference:
    """The candidate's improvement over the champion on ``metric`` (``scorers``: each model's metric
    function, at its own threshold), signed so that positive is better."""
    sign = 1.0 if GATE_METRICS[metric] else -1.0
    score_candidate, score_champion = scorers
    value_candidate, value_champion = score_candidate(y, candidate), score_champion(y, champion)
    improvement = sign * (value_candidate - value_champion)
    if metric == "roc_auc":
        _, _, std_error = delong_auc_difference(y, candidate, champion)
        lower, method = improvement - norm.ppf(confidence) * std_error, "DeLong"
    else:
        lower, std_error = bootstrap_difference(
            y,
            candidate,
            champion,
            lambda labels, p: sign * score_candidate(labels, p),
            lambda labels, p: sign * score_champion(labels, p),
            confidence,
        )
        method = "paired bootstrap"
    return PairedDifference(
        metric=metric,
        candidate=value_candidate,
        champion=value_champion,
        improvement=improvement,
        lower_bound=float(lower),
        std_error=std_error,
        confidence=confidence,
        method=method,
        rows=len(y),
    )
