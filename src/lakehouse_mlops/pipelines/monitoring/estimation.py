"""Label-free performance estimation (confidence-based, CBPE) from binned scores.

With calibrated probabilities p, a scored row is a positive with probability p, so the *expected*
confusion matrix of a window is known before its labels land: expected true positives above a
threshold t are Σ_{s ≥ t} p, expected false positives Σ_{s ≥ t} (1 − p), and so on. ROC AUC, average
precision, precision and recall follow from the expected counts (Hanley & McNeil, NannyML's CBPE).

Spark reduces a window to counts and sums of calibrated probabilities per fine score bin (the same
bins as the realised metrics); every function below is an exact function of those arrays. Binning
treats the rows of one bin as tied: with 1,000+ bins the estimate moves by less than 0.001 from the
per-row formula (measured in the tests). The estimate is only as good as the calibration: it is
unbiased when p is calibrated *on the current window*, which fails under concept drift (P(y | x)
changing) — only realised labels see that.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lakehouse_mlops.pipelines.monitoring.statistics import binned_roc_auc


@dataclass(frozen=True)
class ExpectedBins:
    """Per score bin, ascending by score: rows and expected positives (Σ calibrated p)."""

    rows: np.ndarray
    expected_positives: np.ndarray

    @property
    def expected_negatives(self) -> np.ndarray:
        return self.rows - self.expected_positives


def estimated_roc_auc(bins: ExpectedBins) -> float:
    """ROC AUC of the expected confusion matrices: the realised formula with expected counts."""
    return binned_roc_auc(bins.expected_positives, bins.expected_negatives)


def binned_average_precision(positives: np.ndarray, negatives: np.ndarray) -> float:
    """Average precision Σ_k (R_k − R_{k−1}) · P_k over thresholds at each bin, from the top score
    down (as ``sklearn.metrics.average_precision_score``, the rows of a bin tied)."""
    positives, negatives = np.asarray(positives, float)[::-1], np.asarray(negatives, float)[::-1]
    true_positives = np.cumsum(positives)
    predicted = true_positives + np.cumsum(negatives)
    total = true_positives[-1] if len(true_positives) else 0.0
    if total <= 0:
        return float("nan")
    recall_step = positives / total
    precision = np.divide(true_positives, predicted, out=np.zeros_like(predicted), where=predicted > 0)
    return float(np.sum(recall_step * precision))


def estimated_average_precision(bins: ExpectedBins) -> float:
    return binned_average_precision(bins.expected_positives, bins.expected_negatives)


@dataclass(frozen=True)
class ExpectedConfusion:
    """Expected counts at the model's threshold (rows predicted positive / negative split exactly)."""

    true_positives: float
    false_positives: float
    false_negatives: float
    true_negatives: float

    @property
    def precision(self) -> float:
        predicted = self.true_positives + self.false_positives
        return self.true_positives / predicted if predicted > 0 else float("nan")

    @property
    def recall(self) -> float:
        actual = self.true_positives + self.false_negatives
        return self.true_positives / actual if actual > 0 else float("nan")


def expected_confusion(
    predicted_positive_rows: float,
    predicted_positive_expected: float,
    predicted_negative_rows: float,
    predicted_negative_expected: float,
) -> ExpectedConfusion:
    """TP = Σ p over rows predicted positive, FP = their count − TP; FN, TN likewise below."""
    return ExpectedConfusion(
        predicted_positive_expected,
        predicted_positive_rows - predicted_positive_expected,
        predicted_negative_expected,
        predicted_negative_rows - predicted_negative_expected,
    )


def auc_standard_error(auc: float, positives: float, negatives: float) -> float:
    """Hanley & McNeil (1982): SE² = (A(1−A) + (n₁−1)(Q₁−A²) + (n₂−1)(Q₂−A²)) / (n₁ n₂), with
    Q₁ = A/(2−A), Q₂ = 2A²/(1+A). Assumes exponential-like score distributions; with expected
    (non-integer) counts it is the band of a window of that size, not of the estimate's bias."""
    if positives < 1 or negatives < 1 or not np.isfinite(auc):
        return float("nan")
    q1, q2 = auc / (2 - auc), 2 * auc**2 / (1 + auc)
    variance = (auc * (1 - auc) + (positives - 1) * (q1 - auc**2) + (negatives - 1) * (q2 - auc**2)) / (
        positives * negatives
    )
    return float(np.sqrt(max(variance, 0.0)))


def proportion_standard_error(rate: float, rows: float) -> float:
    """Binomial √(r(1−r)/n): the sampling band of precision (n = predicted positives) or recall
    (n = actual positives)."""
    if rows <= 0 or not np.isfinite(rate):
        return float("nan")
    return float(np.sqrt(rate * (1 - rate) / rows))


@dataclass(frozen=True)
class Calibrator:
    """A monotone map score → probability (isotonic regression's knots; linear in between), stored
    with a model version's reference profile as plain numbers. ``identity`` when calibrating did not
    help: the scores are used as they are."""

    knots_x: tuple[float, ...] = ()
    knots_y: tuple[float, ...] = ()
    brier_before: float = float("nan")
    brier_after: float = float("nan")
    rows: int = 0  # the unseen labelled rows it was judged (and fitted) on

    @property
    def identity(self) -> bool:
        return not self.knots_x

    def apply(self, scores: np.ndarray) -> np.ndarray:
        scores = np.asarray(scores, float)
        return scores if self.identity else np.interp(scores, self.knots_x, self.knots_y)


def fit_calibrator(scores: np.ndarray, labels: np.ndarray, folds: int = 2, seed: int = 0) -> Calibrator:
    """Isotonic calibration of a version's scores on rows it never saw, kept only if it lowers the Brier score
    out of sample (``folds``-fold: fitted on the other folds, scored on each); the kept map is then
    refitted on all rows. Identity when it does not help or a class is missing."""
    from sklearn.isotonic import IsotonicRegression

    scores, labels = np.asarray(scores, float), np.asarray(labels, float)
    if len(np.unique(labels)) < 2 or len(scores) < 2 * folds:
        return Calibrator(rows=len(scores))
    fold = np.random.default_rng(seed).permutation(len(scores)) % folds
    calibrated = np.empty_like(scores)
    for k in range(folds):
        model = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
        model.fit(scores[fold != k], labels[fold != k])
        calibrated[fold == k] = model.predict(scores[fold == k])
    before = float(np.mean((scores - labels) ** 2))
    after = float(np.mean((calibrated - labels) ** 2))
    if after >= before:
        return Calibrator(brier_before=before, brier_after=after, rows=len(scores))
    model = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(scores, labels)
    return Calibrator(
        tuple(float(x) for x in model.X_thresholds_),
        tuple(float(y) for y in model.y_thresholds_),
        before,
        after,
        len(scores),
    )
