"""CBPE from binned scores against the per-row formulas (NannyML's, written out in numpy here) and
against realised labels drawn from the calibrated probabilities."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import auc, average_precision_score, roc_auc_score

from lakehouse_mlops.pipelines.monitoring import estimation as est

BINS = 10_000


def per_row_roc_auc(calibrated: np.ndarray, scores: np.ndarray) -> float:
    """NannyML 0.13 ``estimate_roc_auc``: expected TP/FP accumulated row by row, highest score first."""
    order = np.argsort(scores)[::-1]
    tps = np.r_[0, np.cumsum(calibrated[order])]
    fps = np.r_[0, 1 + np.arange(len(order)) - tps[1:]]
    return float(auc(fps / fps[-1], tps / tps[-1]))


def per_row_average_precision(calibrated: np.ndarray, scores: np.ndarray) -> float:
    """NannyML 0.13 ``estimate_ap``: Σ (recall step) × precision, row by row."""
    p = calibrated[np.argsort(scores)[::-1]]
    tps = np.cumsum(p)
    precision = tps / np.arange(1, len(p) + 1)
    return float(np.sum(p / tps[-1] * precision))


def binned(calibrated: np.ndarray, scores: np.ndarray) -> est.ExpectedBins:
    index = np.minimum((scores * BINS).astype(int), BINS - 1)
    return est.ExpectedBins(
        np.bincount(index, minlength=BINS).astype(float),
        np.bincount(index, weights=calibrated, minlength=BINS),
    )


@pytest.fixture(scope="module")
def window():
    rng = np.random.default_rng(11)
    scores = rng.beta(2, 5, 20_000)
    calibrated = np.clip(scores**0.8, 0, 1)  # a monotone recalibration, as isotonic would give
    labels = rng.random(len(scores)) < calibrated
    return scores, calibrated, labels


def test_binned_estimates_equal_the_per_row_formulas(window):
    scores, calibrated, _ = window
    bins = binned(calibrated, scores)
    assert est.estimated_roc_auc(bins) == pytest.approx(per_row_roc_auc(calibrated, scores), abs=1e-3)
    assert est.estimated_average_precision(bins) == pytest.approx(
        per_row_average_precision(calibrated, scores), abs=1e-3
    )


def test_with_calibrated_probabilities_the_estimates_meet_the_realised_metrics(window):
    scores, calibrated, labels = window
    bins = binned(calibrated, scores)
    roc = est.estimated_roc_auc(bins)
    band = est.auc_standard_error(roc, calibrated.sum(), (1 - calibrated).sum())
    assert abs(roc - roc_auc_score(labels, scores)) < 3 * band
    assert est.estimated_average_precision(bins) == pytest.approx(
        average_precision_score(labels, scores), abs=0.02
    )
    above = scores >= 0.4
    confusion = est.expected_confusion(
        above.sum(), calibrated[above].sum(), (~above).sum(), calibrated[~above].sum()
    )
    realised_precision = labels[above].mean()
    realised_recall = labels[above].sum() / labels.sum()
    assert abs(confusion.precision - realised_precision) < 3 * est.proportion_standard_error(
        confusion.precision, above.sum()
    )
    assert abs(confusion.recall - realised_recall) < 3 * est.proportion_standard_error(
        confusion.recall, calibrated.sum()
    )


def test_binned_average_precision_is_sklearns_on_integer_labels():
    rng = np.random.default_rng(3)
    scores = rng.random(5_000)
    labels = (rng.random(5_000) < scores).astype(float)
    index = np.minimum((scores * BINS).astype(int), BINS - 1)
    positives = np.bincount(index, weights=labels, minlength=BINS)
    negatives = np.bincount(index, minlength=BINS) - positives
    assert est.binned_average_precision(positives, negatives) == pytest.approx(
        average_precision_score(labels, scores), abs=1e-3
    )


def test_the_auc_band_shrinks_with_the_window_and_is_undefined_without_both_classes():
    assert est.auc_standard_error(0.8, 1_000, 9_000) < est.auc_standard_error(0.8, 100, 900)
    assert np.isnan(est.auc_standard_error(0.8, 0.0, 100.0))
    assert np.isnan(est.binned_average_precision(np.zeros(3), np.ones(3)))


def test_an_isotonic_calibrator_is_kept_only_when_it_lowers_the_brier_score_out_of_sample():
    rng = np.random.default_rng(5)
    true_p = rng.beta(2, 5, 8_000)
    labels = rng.random(len(true_p)) < true_p
    overconfident = np.clip(true_p**0.5, 0, 1)  # scores that rank well but are not probabilities
    calibrator = est.fit_calibrator(overconfident, labels)
    assert not calibrator.identity and calibrator.brier_after < calibrator.brier_before
    assert calibrator.rows == len(overconfident)  # what the stored profile says it was fitted on
    assert np.abs(calibrator.apply(overconfident) - true_p).mean() < 0.03

    already_calibrated = est.fit_calibrator(true_p, labels)
    assert already_calibrated.identity and np.array_equal(already_calibrated.apply(true_p), true_p)
    assert est.fit_calibrator(true_p, np.zeros(len(true_p))).identity
