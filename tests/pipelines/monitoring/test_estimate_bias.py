"""The estimates corrected by the version's recent estimation error (pipelines/monitoring/estimated.py):
which windows count, how the stored correction is undone, and the loop over successive windows."""

from __future__ import annotations

import numpy as np
import pytest

from lakehouse_mlops.pipelines.monitoring.drift import metric
from lakehouse_mlops.pipelines.monitoring.estimated import (
    ESTIMATED,
    bias_corrections,
    corrected,
    estimation_errors,
)
from lakehouse_mlops.pipelines.monitoring.performance import PERFORMANCE


def row(kind: str, name: str, value: float | None, batch: str, version: str = "2") -> dict:
    return {**metric(kind, "model", name, value), "batch_id": batch, "model_version": version}


def test_the_correction_is_the_versions_mean_uncorrected_error_over_its_last_windows():
    errors = [
        row(ESTIMATED, "estimation_error.roc_auc", 0.08, "2013-05"),
        row(ESTIMATED, "estimation_error.roc_auc", 0.02, "2013-06"),  # against an estimate +0.03
        row(ESTIMATED, "estimation_error.roc_auc", 0.01, "2013-07"),
        row(ESTIMATED, "estimation_error.roc_auc", 0.50, "2013-07", version="1"),  # another version
        row(ESTIMATED, "estimation_error.roc_auc", 0.90, "2013-09"),  # not before the batch
        row(ESTIMATED, "estimation_error.recall", None, "2013-07"),
    ]
    applied = [
        row(ESTIMATED, "roc_auc_bias", 0.03, "2013-06"),
        row(ESTIMATED, "roc_auc_bias", 0.04, "2013-07"),
    ]
    # uncorrected errors: 0.08, 0.02 + 0.03, 0.01 + 0.04
    assert bias_corrections(errors, applied, "2", "2013-08", 6) == {"roc_auc": pytest.approx(0.06)}
    assert bias_corrections(errors, applied, "2", "2013-08", 2) == {"roc_auc": pytest.approx(0.05)}
    assert bias_corrections(errors, applied, "2", "2013-08", 1) == {"roc_auc": pytest.approx(0.05)}
    assert bias_corrections(errors, [], "2", "2013-08", 2) == {"roc_auc": pytest.approx(0.015)}
    assert bias_corrections(errors, applied, "2", "2013-06", 6) == {"roc_auc": pytest.approx(0.08)}
    assert bias_corrections(errors, applied, "2", "2013-05", 6) == {}  # no labelled window before
    assert bias_corrections(errors, applied, "3", "2013-08", 6) == {}  # a version without any
    assert bias_corrections(errors, applied, "2", "2013-08", 0) == {}  # off


def test_a_corrected_estimate_records_what_was_added_within_zero_and_one():
    estimates = [
        row(ESTIMATED, "roc_auc", 0.70, "2013-08"),
        row(ESTIMATED, "roc_auc_band", 0.01, "2013-08"),
        row(ESTIMATED, "recall", 0.98, "2013-08"),
        row(ESTIMATED, "precision", None, "2013-08"),
    ]
    rows = corrected(estimates, {"roc_auc": 0.05, "recall": 0.04, "precision": 0.1})
    values = {r["metric"]: r["value"] for r in rows}
    assert values == {
        "roc_auc": pytest.approx(0.75),
        "roc_auc_bias": pytest.approx(0.05),
        "roc_auc_band": 0.01,  # a band is not shifted
        "recall": 1.0,
        "recall_bias": pytest.approx(0.02),  # what was really added
        "precision": None,  # nothing to correct
    }
    assert corrected(estimates, {}) == estimates


def test_over_successive_windows_a_steady_bias_is_removed_without_oscillating():
    """Each month: estimate (uncorrected: the truth − 0.05 ± noise), correct it by the errors of the
    months whose labels landed, store it; the next month the labels land and the error is stored. The
    correction must track the uncorrected error; computed from the corrected errors instead, it would
    fall back to ~0 every other month."""
    rng = np.random.default_rng(7)
    months = [f"2014-{m:02d}" for m in range(1, 13)]
    realised = {m: 0.70 + rng.normal(0, 0.01) for m in months}
    history: list[dict] = []
    errors_raw, errors_corrected = [], []
    for month in months:
        uncorrected = realised[month] - 0.05 + rng.normal(0, 0.005)
        errors = [r for r in history if r["metric"].startswith("estimation_error")]
        applied = [r for r in history if r["metric"].endswith("_bias")]
        bias = bias_corrections(errors, applied, "2", month, 6)
        estimate = corrected([row(ESTIMATED, "roc_auc", uncorrected, month)], bias)
        history += estimate
        # the labels land with the next month: the error against the estimate as stored
        history += estimation_errors([row(PERFORMANCE, "roc_auc", realised[month], month)], estimate)
        errors_raw.append(realised[month] - uncorrected)
        errors_corrected.append(history[-1]["value"])
    assert np.mean(np.abs(errors_raw)) > 0.04
    # from the second month on (the first has no labelled month before it)
    assert np.mean(np.abs(errors_corrected[1:])) < 0.015
    assert max(np.abs(errors_corrected[2:])) < 0.03
