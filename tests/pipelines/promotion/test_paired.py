"""The paired comparison behind the gate: DeLong's AUC difference against a brute-force computation of
its definition, the bootstrap against DeLong, and the bound's coverage when the models are equal."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from lakehouse_mlops.framework.metrics import metric_functions
from lakehouse_mlops.pipelines.promotion.paired import (
    bootstrap_difference,
    delong_auc_difference,
    paired_difference,
)


def scored_window(rows: int, seed: int, strength: tuple[float, float] = (1.0, 1.2), ties: bool = False):
    """Labels and two correlated scores (a shared signal plus each model's own noise)."""
    rng = np.random.default_rng(seed)
    y = (rng.random(rows) < 0.3).astype(int)
    shared = rng.normal(size=rows)
    first = strength[0] * y + shared + rng.normal(size=rows)
    second = strength[1] * y + shared + rng.normal(size=rows)
    if ties:
        first, second = np.round(first), np.round(second)
    return y, first, second


def brute_force_delong(y, first, second):
    """DeLong's variance from its definition: the pairwise kernel psi(x, y) = 1[x > y] + 1/2 1[x = y]."""
    positives, negatives = y == 1, y == 0
    m, n = positives.sum(), negatives.sum()
    v10, v01 = [], []
    for scores in (first, second):
        kernel = (scores[positives][:, None] > scores[negatives][None, :]) + 0.5 * (
            scores[positives][:, None] == scores[negatives][None, :]
        )
        v10.append(kernel.mean(axis=1))
        v01.append(kernel.mean(axis=0))
    s10, s01 = np.cov(np.vstack(v10)), np.cov(np.vstack(v01))
    covariance = s10 / m + s01 / n
    return v10[0].mean(), v10[1].mean(), np.sqrt(covariance[0, 0] + covariance[1, 1] - 2 * covariance[0, 1])


@pytest.mark.parametrize("ties", [False, True])
def test_delong_matches_its_definition_and_sklearn(ties):
    y, first, second = scored_window(600, seed=3, ties=ties)
    auc_first, auc_second, std_error = delong_auc_difference(y, first, second)
    expected = brute_force_delong(y, first, second)
    assert auc_first == pytest.approx(roc_auc_score(y, first), abs=1e-12)
    assert auc_second == pytest.approx(roc_auc_score(y, second), abs=1e-12)
    assert (auc_first, auc_second, std_error) == pytest.approx(expected, rel=1e-9)


def test_the_paired_bootstrap_agrees_with_delong_on_auc():
    y, first, second = scored_window(3000, seed=5)
    _, _, delong = delong_auc_difference(y, first, second)
    auc = metric_functions(0.5)["roc_auc"]
    _, bootstrapped = bootstrap_difference(y, first, second, auc, auc, 0.95)
    assert bootstrapped == pytest.approx(delong, rel=0.15)


def test_the_lower_bound_of_equal_models_clears_zero_about_as_often_as_the_confidence_allows():
    """Two models of the same quality: a 95 % lower bound above 0 in about 5 % of windows (a point
    comparison would call one of them better in about half)."""
    roc = metric_functions(0.5)["roc_auc"]
    cleared = [
        paired_difference(
            "roc_auc", *scored_window(1500, seed, strength=(1.0, 1.0)), (roc, roc), 0.95
        ).clears(0.0)
        for seed in range(300)
    ]
    assert 0.02 <= np.mean(cleared) <= 0.09


def test_identical_models_have_no_improvement_and_no_uncertainty():
    y, first, _ = scored_window(500, seed=1)
    roc = metric_functions(0.5)["roc_auc"]
    same = paired_difference("roc_auc", y, first, first.copy(), (roc, roc), 0.95)
    assert (same.improvement, same.std_error, same.lower_bound) == (0.0, 0.0, 0.0)
    assert same.clears(0.0) and not same.clears(0.002)


def test_lower_is_better_metrics_are_signed_as_improvements():
    rng = np.random.default_rng(2)
    y = (rng.random(4000) < 0.3).astype(int)
    sharp = np.clip(0.3 + 0.4 * (y - 0.3) + rng.normal(0, 0.1, y.size), 0.01, 0.99)
    vague = np.clip(0.3 + 0.1 * (y - 0.3) + rng.normal(0, 0.1, y.size), 0.01, 0.99)
    brier = metric_functions(0.5)["brier"]
    better = paired_difference("brier", y, sharp, vague, (brier, brier), 0.95)
    assert better.candidate < better.champion and better.improvement > 0
    assert 0 < better.lower_bound < better.improvement and better.method == "paired bootstrap"
    worse = paired_difference("brier", y, vague, sharp, (brier, brier), 0.95)
    assert worse.improvement == pytest.approx(-better.improvement) and not worse.clears(0.0)


def test_the_evidence_names_the_metric_bound_method_and_rows():
    y, first, second = scored_window(2000, seed=7)
    roc = metric_functions(0.5)["roc_auc"]
    evidence = paired_difference("roc_auc", y, second, first, (roc, roc), 0.9).evidence()
    assert (
        evidence.startswith("roc_auc +0.")
        and "90% lower bound" in evidence
        and "(DeLong, 2,000 rows)" in evidence
    )
