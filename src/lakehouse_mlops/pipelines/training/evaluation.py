"""Plots of a fitted classifier on a labelled window (its metrics: framework/metrics.py)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 - the backend must be chosen first
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.calibration import calibration_curve  # noqa: E402
from sklearn.inspection import permutation_importance  # noqa: E402
from sklearn.metrics import (  # noqa: E402
    precision_recall_curve,
    roc_curve,
)


def curve_plots(y_true: np.ndarray, proba: np.ndarray, positive: str = "positive") -> dict[str, plt.Figure]:
    fpr, tpr, _ = roc_curve(y_true, proba)
    precision, recall, _ = precision_recall_curve(y_true, proba)
    observed, predicted = calibration_curve(y_true, proba, n_bins=10, strategy="quantile")
    figures = {}
    for name, (x, y, xlabel, ylabel, diagonal) in {
        "roc_curve.png": (fpr, tpr, "false positive rate", "true positive rate", True),
        "pr_curve.png": (recall, precision, "recall", "precision", False),
        "calibration.png": (
            predicted,
            observed,
            "predicted probability",
            f"observed share of '{positive}'",
            True,
        ),
    }.items():
        fig, ax = plt.subplots(figsize=(5, 4))
        ax.plot(x, y, marker="." if name == "calibration.png" else None)
        if diagonal:
            ax.plot([0, 1], [0, 1], linestyle="--", color="grey")
        ax.set(xlabel=xlabel, ylabel=ylabel, title=name.removesuffix(".png").replace("_", " "))
        fig.tight_layout()
        figures[name] = fig
    return figures


def importance_plot(model, x: pd.DataFrame, y: np.ndarray, seed: int) -> tuple[plt.Figure, pd.DataFrame]:
    """Permutation importance (drop in ROC AUC) on the evaluation sample."""
    result = permutation_importance(model, x, y, scoring="roc_auc", n_repeats=3, random_state=seed)
    table = pd.DataFrame(
        {"feature": x.columns, "importance": result.importances_mean, "std": result.importances_std}
    ).sort_values("importance")
    fig, ax = plt.subplots(figsize=(6, max(3, 0.25 * len(table))))
    ax.barh(table["feature"], table["importance"], xerr=table["std"])
    ax.set(xlabel="drop in ROC AUC when shuffled", title="feature importance")
    fig.tight_layout()
    return fig, table.sort_values("importance", ascending=False)
