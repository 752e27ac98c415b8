"""The report shows an effect size against its threshold and a test's p-value against alpha, apart,
and the estimated performance with its band."""

from __future__ import annotations

import re

import matplotlib.pyplot as plt
import pandas as pd

from lakehouse_mlops.pipelines.monitoring import report
from lakehouse_mlops.pipelines.monitoring.drift import metric
from lakehouse_mlops.pipelines.monitoring.estimated import ESTIMATED

DECISION = {"batch_id": "2013-06", "model_name": "m", "model_version": "1", "decision": "none", "reasons": []}


def cells(page: str, first_cell: str) -> list[str]:
    row = re.search(rf"<tr[^>]*><td>{first_cell}</td>(.*?)</tr>", page).group(1)
    return [first_cell, *re.findall(r"<td>(.*?)</td>", row)]


def test_effect_threshold_and_alpha_are_two_columns_and_the_estimate_has_its_band():
    drift = pd.DataFrame(
        [
            {**metric("data_drift", "distance", "ks", 0.91, p_value=0.0, alpha=0.01), "metric": "ks"},
            metric("data_drift", "origin", "wasserstein_norm", 0.05, threshold=0.1),
        ]
    )
    estimated = pd.DataFrame(
        [metric(ESTIMATED, "model", "roc_auc", 0.712), metric(ESTIMATED, "model", "roc_auc_band", 0.004)]
    )
    blank = plt.figure()
    plots = {"drift": blank, "scores": blank, "performance": blank}
    page = report.render(DECISION, drift, pd.DataFrame(), plots, estimated)
    header = re.search(r"<table><tr>(.*?)</tr>", page).group(1)
    assert "<th>effect threshold</th><th>p-value</th><th>alpha</th>" in header
    ks = cells(page, "distance")
    assert ks[1:6] == ["ks", "0.91", "", "0", "0.01"]  # no effect threshold: its bar is alpha
    wasserstein = cells(page, "origin")
    assert wasserstein[1:6] == ["wasserstein_norm", "0.05", "0.1", "", ""]
    assert "<th>estimated</th><th>± band (1 SE)</th>" in page
    assert cells(page, "roc_auc")[1:3] == ["0.712", "0.004"]
