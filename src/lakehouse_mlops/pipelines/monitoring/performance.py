"""Realised performance of each model version on a window whose labels have landed.

Spark reduces the scored, labelled rows to label counts per fine score bin (``score_bins``); AUC,
calibration error and the rates come from those bins, the Brier score from an exact aggregate.
"""

from __future__ import annotations

import numpy as np
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from lakehouse_mlops.pipelines.monitoring import statistics as st
from lakehouse_mlops.pipelines.monitoring.config import Performance
from lakehouse_mlops.pipelines.monitoring.drift import INSUFFICIENT, metric
from lakehouse_mlops.pipelines.monitoring.estimation import binned_average_precision

PERFORMANCE = "performance"


def score_bin(bins: int, score: str = "probability") -> Column:
    """The fine score bin of a row, 0 … bins − 1 (a score of exactly 1 falls in the last bin): the
    bins realised and estimated metrics are both computed from."""
    return F.least(F.floor(F.col(score) * bins), F.lit(bins - 1)).cast("int")


def performance_by_version(
    scored: DataFrame, target: str, settings: Performance, predicted: str | None = None
) -> dict[str, dict]:
    """``scored`` has ``model_version``, ``probability`` and the 0/1 ``target`` (and, with
    ``predicted``, the 0/1 label each version predicted at its threshold); metrics per version."""
    grouped = labelled_bins(scored, target, settings, predicted, ["model_version"])
    return {version: bin_metrics(bins, settings, predicted) for (version,), bins in grouped.items()}


def labelled_bins(
    scored: DataFrame, target: str, settings: Performance, predicted: str | None, by: list[str]
) -> dict[tuple, list[dict]]:
    """The fine score bins of ``scored`` (``BIN_SUMS`` per ``_bin``) per distinct value of the columns
    ``by``, in one Spark job."""
    labelled = scored.select(
        *by,
        "probability",
        F.col(target).cast("double").alias("_y"),
        (F.col(predicted) if predicted else F.lit(None)).cast("double").alias("_predicted"),
    ).withColumn("_bin", score_bin(settings.score_bins))
    collected = (
        labelled.groupBy(*by, "_bin")
        .agg(
            F.count(F.lit(1)).alias("rows"),
            F.sum("_y").alias("positives"),
            F.sum("probability").alias("score_sum"),
            F.sum((F.col("probability") - F.col("_y")) ** 2).alias("squared_error"),
            F.sum("_predicted").alias("predicted_positives"),
            F.sum(F.col("_predicted") * F.col("_y")).alias("true_positives"),
        )
        .collect()
    )
    groups: dict[tuple, list[dict]] = {}
    for r in collected:
        groups.setdefault(tuple(r[c] for c in by), []).append(r.asDict())
    return dict(sorted(groups.items(), key=lambda item: tuple(str(k) for k in item[0])))


def bin_metrics(bins: list[dict], settings: Performance, predicted: str | None = None) -> dict:
    """The metrics of one group's bins (at the threshold too, when the predicted labels were counted)."""
    return {**_metrics(bins, settings), **(_at_threshold(bins) if predicted else {})}


def _at_threshold(rows: list) -> dict:
    """Precision and recall of the labels the version predicted (NaN when nothing was predicted
    positive, or no row is positive)."""
    true_positives = sum(r["true_positives"] or 0.0 for r in rows)
    predicted, positives = (
        sum(r["predicted_positives"] or 0.0 for r in rows),
        sum(r["positives"] for r in rows),
    )
    return {
        "precision": true_positives / predicted if predicted else float("nan"),
        "recall": true_positives / positives if positives else float("nan"),
    }


def _metrics(rows: list, settings: Performance) -> dict:
    index = np.array([int(r["_bin"]) for r in rows], dtype=int)
    size = np.zeros(settings.score_bins)
    positives, score_sum = np.zeros(settings.score_bins), np.zeros(settings.score_bins)
    # added, not assigned: merged groups (a slicing's smaller values) bring the same bin more than once
    np.add.at(size, index, [r["rows"] for r in rows])
    np.add.at(positives, index, [r["positives"] for r in rows])
    np.add.at(score_sum, index, [r["score_sum"] for r in rows])
    n = size.sum()
    coarse = np.arange(settings.score_bins) * settings.calibration_bins // settings.score_bins
    c_rows = np.bincount(coarse, weights=size, minlength=settings.calibration_bins)
    c_pos = np.bincount(coarse, weights=positives, minlength=settings.calibration_bins)
    c_score = np.bincount(coarse, weights=score_sum, minlength=settings.calibration_bins)
    filled = c_rows > 0
    return {
        "rows": float(n),
        "roc_auc": st.binned_roc_auc(positives, size - positives),
        "pr_auc": binned_average_precision(positives, size - positives),
        "brier": float(sum(r["squared_error"] for r in rows) / n),
        "ece": st.expected_calibration_error(
            c_score[filled] / c_rows[filled], c_pos[filled] / c_rows[filled], c_rows[filled]
        ),
        "positive_rate": float(positives.sum() / n),
        "predicted_rate": float(score_sum.sum() / n),
        "calibration": [
            {"mean_score": float(s / r), "positive_rate": float(p / r), "rows": int(r)}
            for s, p, r in zip(c_score[filled], c_pos[filled], c_rows[filled], strict=True)
        ],
    }


def performance_rows(measured: dict, baseline: dict, settings: Performance) -> list[dict]:
    """Metric rows for one version on one window, with the drop against its recorded test baseline."""
    n = int(measured["rows"])
    sizes = {"current_rows": n}
    rows = [
        metric(PERFORMANCE, "model", name, measured[name], **sizes)
        for name in (
            "roc_auc",
            "pr_auc",
            "precision",
            "recall",
            "brier",
            "ece",
            "positive_rate",
            "predicted_rate",
            "rows",
        )
        if name in measured
    ]
    if n < settings.min_labelled_rows:
        return [*rows, metric(PERFORMANCE, "model", "breach", None, status=INSUFFICIENT, **sizes)]
    auc_drop = baseline["roc_auc"] - measured["roc_auc"]
    brier_rise = measured["brier"] - baseline["brier"]
    gap = abs(measured["positive_rate"] - measured["predicted_rate"])
    checks = [
        ("auc_drop", auc_drop, settings.max_auc_drop),
        ("brier_increase", brier_rise, settings.max_brier_increase),
        ("calibration_gap", gap, settings.max_calibration_gap),
    ]
    rows += [
        metric(PERFORMANCE, "model", name, v, threshold=t, flagged=v > t, **sizes) for name, v, t in checks
    ]
    breach = any(v > t for _, v, t in checks)
    return [*rows, metric(PERFORMANCE, "model", "breach", float(breach), flagged=breach, **sizes)]
