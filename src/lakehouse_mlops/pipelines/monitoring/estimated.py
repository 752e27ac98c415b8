"""Estimated performance of the deployed version on a window whose labels have not landed (CBPE on
Spark), and, once they land, how far the estimate was from the realised value.

Spark reduces the window's scores to counts and score sums per fine score bin and predicted label
(one small aggregate); the version's calibrator maps each bin's mean score to a probability, and
``estimation`` turns the expected counts into ROC AUC, PR AUC (average precision), precision and
recall, each with its sampling band.

What the calibrator cannot see — the score/label relation moving after its fit window — shows as a
steady error per version (realised − estimated, once labels land). ``bias_corrections`` measures it on
the version's last labelled windows and the estimates add it (``<metric>_bias`` rows record what was
added, so the uncorrected error stays known).
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from lakehouse_mlops.pipelines.monitoring import estimation as est
from lakehouse_mlops.pipelines.monitoring.config import Performance
from lakehouse_mlops.pipelines.monitoring.drift import INSUFFICIENT, metric
from lakehouse_mlops.pipelines.monitoring.performance import PERFORMANCE, score_bin

ESTIMATED = "estimated_performance"
#: estimated metric → the realised metric it is compared with once labels land
REALISED_OF = {name: name for name in ("roc_auc", "pr_auc", "precision", "recall", "positive_rate")}
ESTIMATION_ERROR = "estimation_error"
#: the estimated ROC AUC's drop below the version's test ROC AUC: the performance-first policy's signal
ESTIMATED_AUC_DROP = "auc_drop"
#: suffix of the row recording the bias correction added to an estimated metric
BIAS = "_bias"


def expected_bins(
    scores: DataFrame, predicted: str, calibrator: est.Calibrator, bins: int
) -> tuple[est.ExpectedBins, est.ExpectedConfusion]:
    """``scores`` has ``probability`` and the 0/1 predicted label ``predicted``: the expected
    positives per score bin, and the expected confusion matrix at the model's predictions."""
    grouped = scored_bins(scores, predicted, bins, [])
    return expected_from_bins(grouped.get((), []), calibrator, bins)


def scored_bins(scores: DataFrame, predicted: str, bins: int, by: list[str]) -> dict[tuple, list[dict]]:
    """Rows and score sums per fine score bin (``_bin``) and predicted label (``_predicted``), per
    distinct value of the columns ``by``: one small Spark aggregate."""
    collected = (
        scores.groupBy(*by, score_bin(bins).alias("_bin"), F.col(predicted).cast("int").alias("_predicted"))
        .agg(F.count(F.lit(1)).alias("rows"), F.sum("probability").alias("score_sum"))
        .collect()
    )
    groups: dict[tuple, list[dict]] = {}
    for r in collected:
        groups.setdefault(tuple(r[c] for c in by), []).append(r.asDict())
    return groups


def expected_from_bins(
    rows: list[dict], calibrator: est.Calibrator, bins: int
) -> tuple[est.ExpectedBins, est.ExpectedConfusion]:
    """The expected positives per score bin and the expected confusion matrix of ``scored_bins``'
    rows of one group: each bin's mean score is calibrated, and its rows carry that probability."""
    size, expected = np.zeros(bins), np.zeros(bins)
    split = {0: [0.0, 0.0], 1: [0.0, 0.0]}  # predicted → [rows, expected positives]
    for r in rows:
        calibrated = float(calibrator.apply(np.array([r["score_sum"] / r["rows"]]))[0])
        size[r["_bin"]] += r["rows"]
        expected[r["_bin"]] += r["rows"] * calibrated
        split[int(r["_predicted"] or 0)][0] += r["rows"]
        split[int(r["_predicted"] or 0)][1] += r["rows"] * calibrated
    confusion = est.expected_confusion(split[1][0], split[1][1], split[0][0], split[0][1])
    return est.ExpectedBins(size, expected), confusion


def estimated_rows(
    bins: est.ExpectedBins, confusion: est.ExpectedConfusion, settings: Performance
) -> list[dict]:
    """Estimated metrics with their sampling bands (``<metric>_band``, one standard error)."""
    n = int(bins.rows.sum())
    sizes = {"current_rows": n}
    if n < settings.min_labelled_rows:
        return [metric(ESTIMATED, "model", "roc_auc", None, status=INSUFFICIENT, **sizes)]
    positives, negatives = float(bins.expected_positives.sum()), float(bins.expected_negatives.sum())
    roc = est.estimated_roc_auc(bins)
    values = {
        "roc_auc": roc,
        "roc_auc_band": est.auc_standard_error(roc, positives, negatives),
        "pr_auc": est.estimated_average_precision(bins),
        "precision": confusion.precision,
        "precision_band": est.proportion_standard_error(
            confusion.precision, confusion.true_positives + confusion.false_positives
        ),
        "recall": confusion.recall,
        "recall_band": est.proportion_standard_error(confusion.recall, positives),
        "positive_rate": positives / n,
    }
    return [metric(ESTIMATED, "model", name, value, **sizes) for name, value in values.items()]


def bias_corrections(
    errors: list[dict], applied: list[dict], version: str, batch: str, windows: int
) -> dict[str, float]:
    """Per estimated metric: the mean error, realised − uncorrected estimate, of ``version`` over its
    last ``windows`` labelled windows before ``batch`` (none: no correction; ``windows`` 0: off).

    ``errors``: ``estimation_error.<metric>`` rows (each against the estimate as stored, corrected or
    not); ``applied``: the ``<metric>_bias`` rows stored with those estimates, added back to undo their
    correction. Batch ids sort in time order (every cadence's format does). The mean of k errors
    carries the windows' sampling noise divided by √k; it corrects a bias that persists, not a jump.
    """
    if windows <= 0:
        return {}
    added = {
        (r["batch_id"], r["metric"].removesuffix(BIAS)): r["value"]
        for r in applied
        if r["model_version"] == version and r["value"] is not None
    }
    uncorrected: dict[str, dict[str, float]] = defaultdict(dict)
    for r in errors:
        if r["model_version"] != version or r["batch_id"] >= batch or r["value"] is None:
            continue
        name = r["metric"].removeprefix(f"{ESTIMATION_ERROR}.")
        uncorrected[name][r["batch_id"]] = r["value"] + added.get((r["batch_id"], name), 0.0)
    return {
        name: float(np.mean([by_window[w] for w in sorted(by_window)[-windows:]]))
        for name, by_window in uncorrected.items()
    }


def corrected(estimates: list[dict], bias: dict[str, float]) -> list[dict]:
    """``estimates`` with each metric's bias added (kept within [0, 1]) and a ``<metric>_bias`` row
    recording it."""
    rows = []
    for r in estimates:
        added = bias.get(r["metric"]) if r["value"] is not None else None
        if added is None:
            rows.append(r)
            continue
        value = min(1.0, max(0.0, r["value"] + added))
        rows.append({**r, "value": value})
        rows.append({**r, "metric": f"{r['metric']}{BIAS}", "value": value - r["value"]})
    return rows


def estimated_drop_row(estimates: list[dict], test_roc_auc: float, settings: Performance) -> dict:
    """test ROC AUC − estimated ROC AUC, flagged beyond ``max_auc_drop`` (the bar realised performance
    is held to); ``insufficient`` when the window was too small to estimate."""
    auc = next((r for r in estimates if r["metric"] == "roc_auc"), None)
    sizes = {"current_rows": auc["current_rows"]} if auc else {}
    if auc is None or auc["value"] is None:
        return metric(ESTIMATED, "model", ESTIMATED_AUC_DROP, None, status=INSUFFICIENT, **sizes)
    drop = test_roc_auc - auc["value"]
    flagged = drop > settings.max_auc_drop
    return metric(
        ESTIMATED,
        "model",
        ESTIMATED_AUC_DROP,
        drop,
        threshold=settings.max_auc_drop,
        flagged=flagged,
        **sizes,
    )


def estimation_errors(
    realised: list[dict], estimates: list[dict], estimate_of: dict[str, str] | None = None
) -> list[dict]:
    """realised − estimated, per window, version and ``feature`` (the model, or a slice) where both
    exist (``estimates``: rows stored when the window was monitored). ``estimate_of``: the kind of
    estimated rows each kind of realised rows is compared with (default: the whole window's)."""
    estimate_of = estimate_of or {PERFORMANCE: ESTIMATED}
    estimated = {
        (r["kind"], r["batch_id"], r["model_version"], r["feature"], r["metric"]): r["value"]
        for r in estimates
        if r["kind"] in estimate_of.values() and r["value"] is not None
    }
    rows = []
    for r in realised:
        kind = estimate_of.get(r["kind"])
        if kind is None or r["metric"] not in REALISED_OF or r["value"] is None:
            continue
        found = (kind, r["batch_id"], r["model_version"], r["feature"], REALISED_OF[r["metric"]])
        guess = estimated.get(found)
        if guess is not None:
            error = metric(kind, r["feature"], f"{ESTIMATION_ERROR}.{r['metric']}", r["value"] - guess)
            rows.append({**error, "batch_id": r["batch_id"], "model_version": r["model_version"]})
    return rows
