"""Metrics of a binary classifier's scores on a labelled window: training, the gate, reproduce and
replay compute them with this one definition."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    brier_score_loss,
    log_loss,
    precision_recall_curve,
    precision_score,
    recall_score,
    roc_auc_score,
)


def best_f1_threshold(y_true: np.ndarray, proba: np.ndarray) -> float:
    precision, recall, thresholds = precision_recall_curve(y_true, proba)
    f1 = 2 * precision * recall / np.clip(precision + recall, 1e-12, None)
    return float(thresholds[int(np.argmax(f1[:-1]))])


def metric_functions(threshold: float) -> dict[str, Callable[[np.ndarray, np.ndarray], float]]:
    """Each gate metric as ``(labels, probabilities) -> value``; the label metrics at ``threshold``."""

    def labelled(score: Callable, **options) -> Callable[[np.ndarray, np.ndarray], float]:
        return lambda y, proba: float(score(y, (proba >= threshold).astype(int), **options))

    return {
        "roc_auc": lambda y, proba: float(roc_auc_score(y, proba)),
        "pr_auc": lambda y, proba: float(average_precision_score(y, proba)),
        "brier": lambda y, proba: float(brier_score_loss(y, proba)),
        "log_loss": lambda y, proba: float(log_loss(y, proba, labels=[0, 1])),
        "accuracy": labelled(accuracy_score),
        "precision": labelled(precision_score, zero_division=0),
        "recall": labelled(recall_score, zero_division=0),
    }


def classification_metrics(y_true: np.ndarray, proba: np.ndarray, threshold: float) -> dict[str, float]:
    return {
        **{name: score(y_true, proba) for name, score in metric_functions(threshold).items()},
        "threshold": float(threshold),
        "positive_rate": float(np.mean(y_true)),
        "predicted_rate": float(np.mean(proba)),
        "rows": float(len(y_true)),
    }
