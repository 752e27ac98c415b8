"""Monitoring nodes: reference and current windows, drift, quality, performance, decision, tables."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from lakehouse_mlops.framework import model_registry as registry
from lakehouse_mlops.framework.batches import shift_batch
from lakehouse_mlops.framework.errors import LakehouseError
from lakehouse_mlops.framework.examples import TimeWindows, labelled_rows
from lakehouse_mlops.framework.gold import LABEL_BATCH
from lakehouse_mlops.framework.lineage import load_pinned
from lakehouse_mlops.framework.predictions import first_scorer, scores_of
from lakehouse_mlops.framework.usecase import LABELLED, PREVIOUS, SCORED, SEASONAL, UseCase, parse_usecase
from lakehouse_mlops.pipelines.inference.scoring import with_probability
from lakehouse_mlops.pipelines.ingestion.rules import parse_rules
from lakehouse_mlops.pipelines.monitoring import custom, report, slices
from lakehouse_mlops.pipelines.monitoring import policy as rules
from lakehouse_mlops.pipelines.monitoring.config import MonitoringSpec, parse_monitoring
from lakehouse_mlops.pipelines.monitoring.distributions import feature_distributions
from lakehouse_mlops.pipelines.monitoring.drift import (
    DATA_DRIFT,
    PREDICTION_DRIFT,
    ComparisonWindow,
    drift_rows,
    measure_window,
    psi_positions,
)
from lakehouse_mlops.pipelines.monitoring.estimated import (
    BIAS,
    ESTIMATED,
    ESTIMATION_ERROR,
    bias_corrections,
    corrected,
    estimated_drop_row,
    estimated_rows,
    estimation_errors,
    expected_bins,
)
from lakehouse_mlops.pipelines.monitoring.estimation import Calibrator, fit_calibrator
from lakehouse_mlops.pipelines.monitoring.freshness import AuditedBatch, feed_rows
from lakehouse_mlops.pipelines.monitoring.performance import (
    PERFORMANCE,
    performance_by_version,
    performance_rows,
)
from lakehouse_mlops.pipelines.monitoring.profiles import histogram_counts, profile_reference
from lakehouse_mlops.pipelines.monitoring.reference import (
    ReferenceProfiles,
    profile_frame,
    profile_rows,
    profiles_from_rows,
    settings_key,
)

logger = logging.getLogger(__name__)
SCORE_HISTOGRAM_BINS = 20
SCORE_HISTOGRAM_EDGES = np.array([i / SCORE_HISTOGRAM_BINS for i in range(SCORE_HISTOGRAM_BINS + 1)])
#: the tables whose pinned versions (in the model version's lineage) hold the reference window
REFERENCE_TABLE, LABELS_TABLE = "gold_features", "gold_labels"


def monitored_model(predictions: DataFrame, usecase: dict, monitoring: dict) -> dict:
    """The batch to monitor and the model version deployed on it (the first version that scored it)."""
    spec, contract = parse_monitoring(monitoring), parse_usecase(usecase)
    if predictions is None:
        raise LakehouseError("the predictions table does not exist yet: run the inference pipeline first")
    batch = spec.batch_id or predictions.agg(F.max(contract.batch.column)).first()[0]
    version = spec.model_version or first_scorer(predictions, contract.batch.column, batch)
    if version is None:
        raise LakehouseError(f"batch {batch} has no predictions: run inference for it first")
    name = contract.model.registered_name
    tags = registry.version_tags(name, version)
    return {"name": name, "version": str(version), "batch_id": str(batch), "tags": tags}


def reference_window(monitored: dict, usecase: UseCase) -> DataFrame:
    """The monitored version's training window (train + validation), at the Delta version it read."""
    features = load_pinned(monitored["tags"], REFERENCE_TABLE)
    return TimeWindows.from_tags(monitored["tags"]).reference(features, usecase.event_time)


def current_window(features: DataFrame, monitored: dict, usecase: dict) -> DataFrame:
    return features.filter(F.col(parse_usecase(usecase).batch.column) == monitored["batch_id"])


def reference_profiles(
    stored: DataFrame | None, monitored: dict, usecase: dict, monitoring: dict
) -> tuple[ReferenceProfiles, DataFrame]:
    """The monitored version's reference profiles, and the rows to add to ``reference_profiles``.

    Read from the table when this version was profiled before with the same settings; otherwise
    computed from its training window (and its scores there) and returned as new rows. Either way
    the profiles come from the rows, so the first run and every later one compare alike.
    """
    spec, contract = parse_monitoring(monitoring), parse_usecase(usecase)
    numeric, categorical = contract.monitored_numeric, contract.monitored_categorical
    key = settings_key(numeric, categorical, spec, SCORE_HISTOGRAM_BINS)
    rows = _stored_profile(stored, monitored, key)
    if rows:
        logger.info("version %s: reference profile %s read from the table", monitored["version"], key)
        return profiles_from_rows(rows), profile_frame([])
    logger.info("version %s: profiling its reference window (settings %s)", monitored["version"], key)
    rows = profile_rows(_profile(monitored, contract, spec), _profile_identity(monitored, key))
    return profiles_from_rows(rows), profile_frame(rows)


def _stored_profile(stored: DataFrame | None, monitored: dict, key: str) -> list[dict]:
    if stored is None:
        return []
    found = stored.filter(
        (F.col("model_name") == monitored["name"])
        & (F.col("model_version") == monitored["version"])
        & (F.col("settings_key") == key)
    )
    return [r.asDict() for r in found.collect()]


def _profile(monitored: dict, usecase: UseCase, spec: MonitoringSpec) -> ReferenceProfiles:
    reference = reference_window(monitored, usecase)
    data = profile_reference(
        reference,
        usecase.monitored_numeric,
        usecase.monitored_categorical,
        spec.numeric.quantiles,
        spec.numeric.quantile_relative_error,
    )
    # the reference is scored on the executors once, then read by the three small jobs below
    scores = with_probability(reference, registry_uri(monitored)).select("probability").persist()
    try:
        return ReferenceProfiles(
            calibrator=_calibrator(monitored, usecase),
            data=data,
            scores=profile_reference(
                scores,
                ["probability"],
                [],
                spec.prediction.quantiles,
                spec.prediction.quantile_relative_error,
            ),
            score_edges=SCORE_HISTOGRAM_EDGES,
            score_counts=histogram_counts(scores, "probability", SCORE_HISTOGRAM_BINS),
        )
    finally:
        scores.unpersist()


def _calibrator(monitored: dict, usecase: UseCase) -> Calibrator:
    """The version's score calibrator, fitted on its test window (pinned features and labels): the
    only rows its final model never saw. The model is refitted on train + validation, so its
    validation scores are in-sample and over-confident (the reference use case's first model:
    validation AUC 0.84, test 0.70); a calibrator fitted there made every estimate optimistic."""
    windows = TimeWindows.from_tags(monitored["tags"])
    unseen = windows.test(load_pinned(monitored["tags"], REFERENCE_TABLE), usecase.event_time)
    labelled = labelled_rows(unseen, load_pinned(monitored["tags"], LABELS_TABLE), usecase)
    scored = with_probability(labelled, registry_uri(monitored))
    frame = scored.select("probability", F.col(usecase.label.column).cast("int").alias("_y")).toPandas()
    calibrator = fit_calibrator(frame["probability"].to_numpy(), frame["_y"].to_numpy())
    logger.info(
        "version %s: score calibrator %s (out-of-sample Brier %.4f -> %.4f on %d test-window rows)",
        monitored["version"],
        "identity" if calibrator.identity else f"isotonic, {len(calibrator.knots_x)} knots",
        calibrator.brier_before,
        calibrator.brier_after,
        calibrator.rows,
    )
    return calibrator


def _profile_identity(monitored: dict, key: str) -> dict:
    tags = monitored["tags"]
    return {
        "model_name": monitored["name"],
        "model_version": monitored["version"],
        "settings_key": key,
        "source_table": tags[f"{registry.LINEAGE_PREFIX}{REFERENCE_TABLE}.path"],
        "source_version": int(tags[f"{registry.LINEAGE_PREFIX}{REFERENCE_TABLE}.version"]),
        "window_start": tags["window.train_start"],
        "window_end": tags["window.test_start"],
        "computed_at": datetime.now(UTC).replace(tzinfo=None),
    }


def comparison_windows(
    features: DataFrame, monitored: dict, contract: UseCase
) -> tuple[ComparisonWindow, ...]:
    """The previous and the seasonal batch, for the features the use case compares with them."""
    references, batch = contract.monitoring.reference, monitored["batch_id"]
    wanted = [
        (PREVIOUS, shift_batch(batch, contract.batch.cadence, -1), references.previous),
        (SEASONAL, shift_batch(batch, contract.batch.cadence, -contract.season_batches), references.seasonal),
    ]
    return tuple(
        ComparisonWindow(name, other, tuple(columns), features.filter(F.col(contract.batch.column) == other))
        for name, other, columns in wanted
        if columns
    )


def drift_metrics(  # noqa: PLR0913 - the profiles, the windows and scores, the run's settings
    profiles: ReferenceProfiles,
    current: DataFrame,
    features: DataFrame,
    predictions: DataFrame,
    monitored: dict,
    usecase: dict,
    monitoring: dict,
) -> tuple[list[dict], dict]:
    """Data drift and data quality per feature (each against its reference window: the training
    window, or the previous or seasonal batch), prediction drift of the deployed model, and what the
    report plots: the two score histograms and each feature's reference and current distribution.
    One Spark job for the features, two for the scores."""
    spec, contract = parse_monitoring(monitoring), parse_usecase(usecase)
    comparisons = comparison_windows(features, monitored, contract)
    rows, window = measure_window(profiles.data, current, spec, comparisons=comparisons)
    current_scores = scores_of(
        predictions, contract.batch.column, monitored["batch_id"], monitored["version"]
    ).select("probability")
    rows += drift_rows(profiles.scores, current_scores, spec, kind=PREDICTION_DRIFT)
    histogram = {
        "edges": [float(e) for e in profiles.score_edges],
        "reference": _shares(profiles.score_counts),
        "current": _shares(histogram_counts(current_scores, "probability", len(profiles.score_counts))),
        "positive": contract.label.positive,
        "features": feature_distributions(profiles.data, window, psi_positions(spec.numeric)),
    }
    drifted = [
        r["feature"]
        for r in rows
        if r["kind"] == DATA_DRIFT and r["metric"] == "drift_detected" and r["flagged"]
    ]
    logger.info("batch %s: %d drifted feature(s): %s", monitored["batch_id"], len(drifted), drifted)
    tagged = [{**r, "batch_id": monitored["batch_id"], "model_version": monitored["version"]} for r in rows]
    return tagged, histogram


def _shares(counts) -> list[float]:
    total = float(counts.sum()) or 1.0
    return [float(n) / total for n in counts]


def registry_uri(monitored: dict) -> str:
    return f"models:/{monitored['name']}/{monitored['version']}"


def landed_labels(labels: DataFrame, monitored: dict, contract: UseCase) -> DataFrame:
    """The key and label of every row whose label landed with the monitored batch."""
    target = contract.label.column
    landed = labels.filter((F.col(LABEL_BATCH) == monitored["batch_id"]) & F.col(target).isNotNull())
    return landed.select(contract.entity_key, target)


def labelled_batches(predictions: DataFrame, labels: DataFrame, monitored: dict, usecase: dict) -> list[str]:
    """The batches of the scored rows whose labels landed with the monitored batch: the windows whose
    realised performance, custom metrics and slices are measured now. Found once (one small job), so
    that each of those reads only these batches' partitions of the predictions and gold features."""
    contract = parse_usecase(usecase)
    key, batch = contract.entity_key, contract.batch.column
    landed = landed_labels(labels, monitored, contract).select(key)
    return sorted(r[0] for r in predictions.join(landed, key).select(batch).distinct().collect())


def of_batches(table: DataFrame, batch: str, batches: list[str]) -> DataFrame:
    """The rows of ``batches`` (a filter on the partition column: the other partitions are not read)."""
    return table.filter(F.col(batch).isin(batches))


def performance_metrics(  # noqa: PLR0913 - the tables, the windows, the model and settings
    predictions: DataFrame,
    labels: DataFrame,
    windows: list[str],
    monitored: dict,
    usecase: dict,
    monitoring: dict,
) -> list[dict]:
    """Performance of every version on every window whose labels landed with this batch."""
    spec, contract = parse_monitoring(monitoring), parse_usecase(usecase)
    key, target, batch = contract.entity_key, contract.label.column, contract.batch.column
    scored = of_batches(predictions, batch, windows).join(landed_labels(labels, monitored, contract), key)
    rows = []
    for window in windows:
        measured = performance_by_version(
            scored.filter(F.col(batch) == window), target, spec.performance, contract.model.predicted_label
        )
        for version, values in measured.items():
            baseline = test_baseline(monitored["name"], version)
            logger.info(
                "window %s, version %s: %s",
                window,
                version,
                {k: v for k, v in values.items() if k != "calibration"},
            )
            rows += [
                {**r, "batch_id": window, "model_version": version}
                for r in performance_rows(values, baseline, spec.performance)
            ]
    return rows


def scored_batch(
    predictions: DataFrame, features: DataFrame, monitored: dict, contract: UseCase
) -> DataFrame:
    """The rows the monitored version scored in the monitored batch, with their features (only that
    batch's features are read: no scan of the whole gold table for one batch)."""
    key, batch = contract.entity_key, contract.batch.column
    this_batch = features.filter(F.col(batch) == monitored["batch_id"])
    mine = scores_of(predictions, batch, monitored["batch_id"], monitored["version"])
    return mine.join(_joined_features(this_batch, predictions, key), key)


def labelled_windows(  # noqa: PLR0913 - the tables, the windows, the model and the contract
    predictions: DataFrame,
    labels: DataFrame,
    features: DataFrame,
    windows: list[str],
    monitored: dict,
    contract: UseCase,
) -> DataFrame:
    """Every version's scored rows whose labels landed with the monitored batch (in ``windows``, from
    :func:`labelled_batches`), with their features and label."""
    key, batch = contract.entity_key, contract.batch.column
    scored = of_batches(predictions, batch, windows)
    with_features = scored.join(_joined_features(of_batches(features, batch, windows), predictions, key), key)
    return with_features.join(landed_labels(labels, monitored, contract), key)


def _joined_features(features: DataFrame, predictions: DataFrame, key: str) -> DataFrame:
    """The key and the feature columns the predictions do not already carry."""
    return features.select(*[c for c in features.columns if c == key or c not in predictions.columns])


def custom_metrics(  # noqa: PLR0913 - the tables, the labelled windows, the model and the contract
    predictions: DataFrame,
    labels: DataFrame,
    features: DataFrame,
    windows: list[str],
    monitored: dict,
    usecase: dict,
) -> list[dict]:
    """The use case's custom metrics: those ``over: scored`` on the rows the monitored version scored in
    this batch, those ``over: labelled`` on every window and version whose labels landed with it —
    each row with its features (one Spark job per kind)."""
    contract = parse_usecase(usecase)
    batch = contract.batch.column
    metrics = contract.monitoring.custom_metrics
    scored_metrics = {n: m for n, m in metrics.items() if m.over == SCORED}
    labelled_metrics = {n: m for n, m in metrics.items() if m.over == LABELLED}
    rows = []
    if scored_metrics:
        scored = scored_batch(predictions, features, monitored, contract)
        for values in custom.aggregate(scored, scored_metrics, []):
            rows += [
                {**r, "batch_id": monitored["batch_id"], "model_version": monitored["version"]}
                for r in custom.custom_rows(values, scored_metrics)
            ]
    if labelled_metrics:  # with no labelled window too: a wrong expression is named every month
        labelled = labelled_windows(predictions, labels, features, windows, monitored, contract)
        for values in custom.aggregate(labelled, labelled_metrics, [batch, "model_version"]):
            rows += [
                {**r, "batch_id": values[batch], "model_version": values["model_version"]}
                for r in custom.custom_rows(values, labelled_metrics)
            ]
    flagged = [custom.custom_alarm(r) for r in rows if r["flagged"]]
    logger.info("batch %s: custom metric alarms %s", monitored["batch_id"], flagged or "none")
    return rows


def slice_metrics(  # noqa: PLR0913 - the tables, the profiles (calibrator), history and settings
    predictions: DataFrame,
    labels: DataFrame,
    features: DataFrame,
    windows: list[str],
    profiles: ReferenceProfiles,
    history: DataFrame | None,
    monitored: dict,
    usecase: dict,
    monitoring: dict,
) -> list[dict]:
    """Per slice of the use case's slicing expressions: the monitored version's estimated performance
    on this batch, every version's realised performance on the windows whose labels landed with it,
    and the estimates' errors there (one Spark job per kind)."""
    spec, contract = parse_monitoring(monitoring), parse_usecase(usecase)
    slicings = contract.monitoring.slices
    if not slicings:
        return []
    predicted, target = contract.model.predicted_label, contract.label.column
    scored = scored_batch(predictions, features, monitored, contract)
    slices.check_expressions(scored, slicings)
    estimated = [
        {**r, "batch_id": monitored["batch_id"], "model_version": monitored["version"]}
        for r in slices.estimated_slice_rows(
            scored, slicings, predicted, profiles.calibrator, spec.performance, spec.slices
        )
    ]
    realised = []
    if windows:
        labelled = labelled_windows(predictions, labels, features, windows, monitored, contract)
        realised = slices.realised_slice_rows(
            labelled, slicings, target, predicted, spec.performance, spec.slices, contract.batch.column
        )
    stored = stored_estimates(history, slices.SLICE_ESTIMATED, {r["batch_id"] for r in realised})
    errors = slices.slice_estimation_errors(realised, stored)
    logger.info(
        "batch %s: %d slice(s) estimated, %d realised",
        monitored["batch_id"],
        len({r["feature"] for r in estimated}),
        len({(r["batch_id"], r["feature"]) for r in realised}),
    )
    return [*estimated, *realised, *errors]


def test_baseline(name: str, version: str) -> dict[str, float]:
    """The version's test metrics recorded at registration: what its performance is held to."""
    tags = registry.version_tags(name, version)
    return {"roc_auc": float(tags["test_roc_auc"]), "brier": float(tags["test_brier"])}


def feed_metrics(audit: DataFrame | None, monitored: dict, ingestion: dict, monitoring: dict) -> list[dict]:
    """Freshness and completeness of every feed the use case declares, for the monitored batch, from
    the ingestion audit (one small collect: a row per feed and batch up to this one)."""
    batch, arrivals = monitored["batch_id"], parse_rules(ingestion).arrivals
    audited = []
    if audit is not None:
        found = audit.filter(F.col("feed").isin(list(arrivals)) & (F.col("_batch_id") <= batch))
        audited = [
            AuditedBatch(r["feed"], r["_batch_id"], r["landed"], r["silver"])
            for r in found.select("feed", "_batch_id", "landed", "silver").collect()
        ]
    rows = feed_rows(batch, arrivals, audited, parse_monitoring(monitoring).feeds)
    flagged = [f"{r['feature']}.{r['metric']}" for r in rows if r["flagged"]]
    logger.info("batch %s: feed alarms %s", batch, flagged or "none")
    return [{**r, "batch_id": batch, "model_version": monitored["version"]} for r in rows]


def estimated_performance(  # noqa: PLR0913 - the profiles, scores, labels landed now, history, settings
    profiles: ReferenceProfiles,
    predictions: DataFrame,
    performance: list[dict],
    history: DataFrame | None,
    monitored: dict,
    usecase: dict,
    monitoring: dict,
) -> list[dict]:
    """The deployed version's performance on this batch, estimated from its scores before any label
    lands (CBPE with the version's calibrator), corrected by the version's recent estimation error,
    and the estimated ROC AUC's drop below its test value."""
    spec, contract = parse_monitoring(monitoring), parse_usecase(usecase)
    scores = scores_of(predictions, contract.batch.column, monitored["batch_id"], monitored["version"])
    bins, confusion = expected_bins(
        scores, contract.model.predicted_label, profiles.calibrator, spec.performance.score_bins
    )
    errors, applied = _earlier_estimation(performance, history, monitored["version"])
    bias = bias_corrections(
        errors, applied, monitored["version"], monitored["batch_id"], spec.performance.bias_windows
    )
    rows = corrected(estimated_rows(bins, confusion, spec.performance), bias)
    test_auc = test_baseline(monitored["name"], monitored["version"])["roc_auc"]
    rows.append(estimated_drop_row(rows, test_auc, spec.performance))
    logger.info(
        "batch %s, version %s: estimated %s",
        monitored["batch_id"],
        monitored["version"],
        {r["metric"]: r["value"] for r in rows},
    )
    return [{**r, "batch_id": monitored["batch_id"], "model_version": monitored["version"]} for r in rows]


def _earlier_estimation(
    performance: list[dict], history: DataFrame | None, version: str
) -> tuple[list[dict], list[dict]]:
    """``version``'s estimation errors — stored, and of the windows whose labels landed now — and the
    bias corrections stored with its estimates."""
    if history is None:
        return [], []
    stored = [
        r.asDict()
        for r in history.filter(
            (F.col("kind") == ESTIMATED)
            & (F.col("model_version") == version)
            & (F.col("metric").startswith(f"{ESTIMATION_ERROR}.") | F.col("metric").endswith(BIAS))
        )
        .select("batch_id", "model_version", "metric", "value")
        .collect()
    ]
    errors = [r for r in stored if r["metric"].startswith(ESTIMATION_ERROR)]
    applied = [r for r in stored if r["metric"].endswith(BIAS)]
    return [*errors, *estimate_errors(performance, [], history)], applied


def estimate_errors(performance: list[dict], estimated: list[dict], history: DataFrame | None) -> list[dict]:
    """Realised − estimated for every window whose labels landed now and that was estimated when it
    was monitored (stored in ``monitoring_metrics``) or in this run."""
    earlier = stored_estimates(history, ESTIMATED, {r["batch_id"] for r in performance})
    return estimation_errors(performance, [*earlier, *estimated])


def stored_estimates(history: DataFrame | None, kind: str, windows: set[str]) -> list[dict]:
    """The rows of ``kind`` stored in ``monitoring_metrics`` for ``windows`` (when they were monitored)."""
    if history is None or not windows:
        return []
    found = history.filter((F.col("kind") == kind) & F.col("batch_id").isin(sorted(windows)))
    return [
        r.asDict()
        for r in found.select("batch_id", "model_version", "kind", "feature", "metric", "value").collect()
    ]


def monitoring_report(  # noqa: PLR0913 - the run's rows, the history, the decision, the histogram
    drift_rows: list[dict],
    performance: list[dict],
    history: DataFrame | None,
    decision: dict,
    histogram: dict,
    estimated: list[dict],
    feeds: list[dict] | None = None,
    custom_rows: list[dict] | None = None,
    slice_rows: list[dict] | None = None,
) -> tuple[str, dict[str, str], plt.Figure, plt.Figure]:
    """The HTML report (latest, logged to MLflow), the same page for the per-batch archive, and the
    per-feature drift and performance-over-time plots on their own."""
    columns = ["kind", "batch_id", "model_version", "metric", "value", "threshold", "flagged", "status"]
    earlier = pd.DataFrame(columns=columns)
    if history is not None:
        earlier = (
            history.filter(
                F.col("kind").isin(PERFORMANCE, ESTIMATED)
                & (F.col("monitored_batch_id") < decision["batch_id"])
            )
            .select(*columns)
            .toPandas()
        )
    now = pd.DataFrame([*performance, *estimated]).reindex(columns=columns)
    rows = pd.concat([frame for frame in (earlier, now) if not frame.empty], ignore_index=True)
    rows = rows if not rows.empty else pd.DataFrame(columns=columns)
    timeline = rows[rows["kind"] == PERFORMANCE].drop(columns="kind").reset_index(drop=True)
    estimates = report.estimates_timeline(rows)
    baselines = {
        v: float(registry.version_tags(decision["model_name"], v).get("test_roc_auc", "nan"))
        for v in timeline["model_version"].dropna().unique()
    }
    drift = pd.DataFrame(drift_rows)
    plots = report.figures(drift, timeline, histogram, baselines, estimates)
    page = report.render(
        decision, drift, timeline, plots, pd.DataFrame(estimated), estimates, feeds, custom_rows, slice_rows
    )
    return page, {decision["batch_id"]: page}, plots["drift"], plots["performance"]


def run_metrics(decision: dict, performance: list[dict]) -> dict:
    """Headline numbers for the MLflow run (kedro-mlflow prefixes them with the dataset name)."""
    window = decision["signals"]
    values = {
        "drift_share": window["drift_share"],
        "quality_alarms": float(len(window["quality_alarms"])),
        "feed_alarms": float(len(window.get("feed_alarms", []))),
        "retrain": float(decision["decision"] == rules.RETRAIN),
    }
    for r in performance:
        if r["model_version"] == decision["model_version"] and r["metric"] in ("roc_auc", "brier", "ece"):
            values[r["metric"]] = r["value"]
    return {k: {"value": float(v), "step": 0} for k, v in values.items() if v is not None}
