"""The report puts its summary first (decision, evidence, estimated vs realised performance, the most
drifted features' distributions) and folds every metric table below; it shows an effect size against
its threshold and a test's p-value against alpha, apart, and the estimated performance with its band."""

from __future__ import annotations

import re

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from lakehouse_mlops.pipelines.monitoring import report
from lakehouse_mlops.pipelines.monitoring.distributions import categorical_distribution, numeric_distribution
from lakehouse_mlops.pipelines.monitoring.drift import metric, psi_positions
from lakehouse_mlops.pipelines.monitoring.estimated import ESTIMATED
from lakehouse_mlops.pipelines.monitoring.performance import PERFORMANCE
from lakehouse_mlops.pipelines.monitoring.profiles import CategoricalProfile
from lakehouse_mlops.pipelines.monitoring.slices import SLICE_ESTIMATED, SLICE_PERFORMANCE

WINDOW, LANDED = {"batch_id": "2013-06", "model_version": "1"}, {"batch_id": "2013-05", "model_version": "1"}
DECISION = {"batch_id": "2013-06", "model_name": "m", "model_version": "1", "decision": "none", "reasons": []}


def cells(page: str, first_cell: str) -> list[str]:
    row = re.search(rf"<tr[^>]*><td>{re.escape(first_cell)}</td>(.*?)</tr>", page).group(1)
    return [first_cell, *re.findall(r"<td>(.*?)</td>", row)]


def test_effect_threshold_and_alpha_are_two_columns_and_the_estimate_has_its_band():
    drift = pd.DataFrame(
        [
            {**metric("data_drift", "distance", "ks", 0.91, p_value=0.0, alpha=0.01), "metric": "ks"},
            metric("data_drift", "origin", "wasserstein_norm", 0.05, threshold=0.1),
        ]
    )
    estimated = pd.DataFrame(
        [
            metric(ESTIMATED, "model", "roc_auc", 0.712),
            metric(ESTIMATED, "model", "roc_auc_band", 0.004),
            metric(ESTIMATED, "model", "roc_auc_bias", 0.021),
            metric(ESTIMATED, "model", "recall", 0.4),
        ]
    )
    blank = plt.figure()
    plots = {"drift": blank, "scores": blank, "performance": blank}
    page = report.render(DECISION, drift, pd.DataFrame(), plots, estimated)
    details = page[page.index('<section id="details">') :]
    header = re.search(r"<table><tr>(.*?)</tr>", details).group(1)
    assert "<th>effect threshold</th><th>p-value</th><th>alpha</th>" in header
    ks = cells(page, "distance")
    assert ks[1:6] == ["ks", "0.91", "", "0", "0.01"]  # no effect threshold: its bar is alpha
    wasserstein = cells(page, "origin")
    assert wasserstein[1:6] == ["wasserstein_norm", "0.05", "0.1", "", ""]
    assert "<th>estimated</th><th>± band (1 SE)</th><th>of which bias correction</th>" in page
    assert cells(page, "roc_auc")[1:4] == ["0.712", "0.004", "0.021"]
    assert cells(page, "recall")[1:4] == ["0.4", "", ""]
    assert "<td>roc_auc_bias</td>" not in page  # a column of its metric's row, not a row


def drift_row(feature: str, name: str, value: float, threshold: float, flagged: bool) -> dict:
    return metric("data_drift", feature, name, value, threshold=threshold, flagged=flagged)


def test_the_most_drifted_features_are_ranked_by_effect_over_threshold_and_only_drifted_ones():
    drift = pd.DataFrame(
        [
            drift_row("wind", "psi", 0.5, 0.2, True),  # 2.5× its threshold
            drift_row("wind", "wasserstein_norm", 0.15, 0.1, True),
            drift_row("origin", "jensen_shannon", 0.3, 0.1, True),  # 3×
            drift_row("temp", "psi", 0.9, 0.2, False),  # large, but not significant: not drifted
            drift_row("hour", "psi", 0.25, 0.2, True),
            drift_row("dest", "jensen_shannon", 0.11, 0.1, True),
        ]
    )
    assert report.most_drifted(drift) == ["origin", "wind", "hour"]
    assert report.most_drifted(drift[drift["feature"] == "temp"]) == []


def test_the_estimates_timeline_pairs_each_estimate_with_the_same_version_s_realised_value():
    rows = pd.DataFrame(
        [
            {**metric(ESTIMATED, "model", "roc_auc", 0.70), "batch_id": "2013-05", "model_version": "1"},
            {**metric(ESTIMATED, "model", "roc_auc_band", 0.01), "batch_id": "2013-05", "model_version": "1"},
            {
                **metric(ESTIMATED, "model", "estimation_error.roc_auc", -0.02),
                "batch_id": "2013-05",
                "model_version": "1",
            },
            {**metric(ESTIMATED, "model", "roc_auc", 0.72), "batch_id": "2013-06", "model_version": "2"},
            {**metric(PERFORMANCE, "model", "roc_auc", 0.68), "batch_id": "2013-05", "model_version": "1"},
            {**metric(PERFORMANCE, "model", "roc_auc", 0.66), "batch_id": "2013-05", "model_version": "2"},
        ]
    )
    timeline = report.estimates_timeline(rows)
    assert timeline.to_dict("records")[0] == {
        "batch_id": "2013-05",
        "model_version": "1",
        "estimated": 0.70,
        "band": 0.01,
        "realised": 0.68,
    }
    second = timeline.iloc[1]
    assert (second["batch_id"], second["model_version"], second["estimated"]) == ("2013-06", "2", 0.72)
    assert pd.isna(second["realised"]) and pd.isna(second["band"])
    assert report.estimates_timeline(pd.DataFrame()).empty


def test_the_summary_comes_first_and_every_metric_table_is_folded_below():
    drift = pd.DataFrame([drift_row("origin", "jensen_shannon", 0.3, 0.1, True)])
    decision = {
        **DECISION,
        "decision": "alert",
        "reasons": ["dataset drift: 1 of 1 features"],
        "signals": {
            "drifted_features": ["origin"],
            "drift_share": 1.0,
            "quality_alarms": [],
            "prediction_drift": False,
        },
    }
    estimates = report.estimates_timeline(
        pd.DataFrame(
            [
                {**metric(ESTIMATED, "model", "roc_auc", 0.70), "batch_id": "2013-05", "model_version": "1"},
                {
                    **metric(PERFORMANCE, "model", "roc_auc", 0.68),
                    "batch_id": "2013-05",
                    "model_version": "1",
                },
            ]
        )
    )
    histogram = {
        "edges": [0.0, 0.5, 1.0],
        "reference": [0.5, 0.5],
        "current": [0.4, 0.6],
        "features": {
            "origin": {
                "type": "categorical",
                "bins": ["EWR", "JFK"],
                "reference": [0.6, 0.4],
                "current": [0.2, 0.8],
            }
        },
    }
    plots = report.figures(
        drift,
        pd.DataFrame(columns=["batch_id", "model_version", "metric", "value"]),
        histogram,
        {},
        estimates,
    )
    assert set(plots) == {"drift", "scores", "performance", "estimates", "feature:origin"}
    estimated = pd.DataFrame(
        [
            metric(ESTIMATED, "model", "roc_auc", 0.712),
            metric(ESTIMATED, "model", "roc_auc_band", 0.004),
            metric(ESTIMATED, "model", "roc_auc_bias", 0.021),
            metric(ESTIMATED, "model", "recall", 0.4),
        ]
    )
    slice_rows = [
        {**metric(SLICE_ESTIMATED, "origin=JFK", "roc_auc", 0.655, current_rows=900), **WINDOW},
        {**metric(SLICE_ESTIMATED, "origin=JFK", "roc_auc_band", 0.02, current_rows=900), **WINDOW},
        {**metric(SLICE_ESTIMATED, "origin=JFK", "recall", 0.3, current_rows=900), **WINDOW},
        {**metric(SLICE_PERFORMANCE, "origin=JFK", "roc_auc", 0.61, current_rows=880), **LANDED},
        {**metric(SLICE_PERFORMANCE, "origin=JFK", "rows", 880.0, current_rows=880), **LANDED},
        {**metric(SLICE_ESTIMATED, "origin=JFK", "estimation_error.roc_auc", -0.04), **LANDED},
    ]
    page = report.render(decision, drift, pd.DataFrame(), plots, estimated, estimates, slice_rows=slice_rows)
    summary, details = page.split('<section id="details">')
    # the slices' estimates in the summary; their realised values, with the estimates' errors, folded
    assert cells(summary, "origin=JFK")[1:5] == ["900", "0.655", "0.02", ""]
    assert cells(details, "2013-05")[1:6] == ["1", "origin=JFK", "880", "0.61", "-0.04"]
    assert summary.index("decision: <b>alert</b>") < summary.index("Most drifted features")
    assert cells(summary, "estimated ROC AUC of this batch")[1] == "0.712 ± 0.004"
    assert (
        cells(summary, "realised ROC AUC of batch 2013-05 (version 1)")[1]
        == "0.680 (estimated 0.700, error -0.020)"
    )
    assert cells(summary, "drifted features")[1] == "1 (100% of those assessed)"
    assert summary.count("<img") == 3 and 'alt="origin"' in summary  # estimates, origin, scores
    assert "<table>" not in details.replace("<details>", "").split("</details>")[-1]  # nothing unfolded
    assert details.count("<details><summary>") == 8 and "jensen_shannon" in details
    assert cells(summary, "custom metric alarms")[1] == "none"
    assert "Custom metrics (usecase.monitoring.custom_metrics)" in details


def test_numeric_distributions_are_on_the_reference_deciles(spark):
    from lakehouse_mlops.pipelines.monitoring.config import parse_monitoring
    from lakehouse_mlops.pipelines.monitoring.profiles import profile_reference, window_counts

    rng = np.random.default_rng(0)
    reference = spark.createDataFrame([(float(v),) for v in rng.normal(0, 1, 5000)], "x double")
    current = spark.createDataFrame([(float(v),) for v in rng.normal(1, 1, 3000)], "x double")
    spec = parse_monitoring({})
    profile = profile_reference(
        reference, ["x"], [], spec.numeric.quantiles, spec.numeric.quantile_relative_error
    )
    (window,) = window_counts([current], profile.splits, [])
    shown = numeric_distribution(profile, window, "x", psi_positions(spec.numeric))
    assert (
        len(shown["bins"]) == 10
        and shown["bins"][0].startswith("< -1.2")
        and shown["bins"][-1].startswith("≥ 1.2")
    )
    assert np.allclose(shown["reference"], 0.1, atol=0.01)
    assert shown["current"][-1] > 0.35 and sum(shown["current"]) == pytest.approx(1.0)


def test_categorical_distributions_show_the_most_frequent_categories_and_sum_the_rest():
    reference = CategoricalProfile(1990, {f"c{i}": 100 - i for i in range(20)})
    current = CategoricalProfile(450, {"c0": 50, "new": 400})
    shown = categorical_distribution(reference, current)
    assert shown["bins"][0] == "new" and shown["bins"][-1] == "other" and len(shown["bins"]) == 13
    assert sum(shown["reference"]) == pytest.approx(1.0) and sum(shown["current"]) == pytest.approx(1.0)
    assert shown["current"][0] == pytest.approx(400 / 450)
