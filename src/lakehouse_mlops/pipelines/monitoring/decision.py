"""Monitoring's decision nodes: this window's signals, the policy applied to them and the recent
history, and the rows they leave in ``monitoring_metrics`` and ``decisions``."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from lakehouse_mlops.framework.decisions import decision_rows
from lakehouse_mlops.pipelines.monitoring import policy as rules
from lakehouse_mlops.pipelines.monitoring.config import parse_monitoring
from lakehouse_mlops.pipelines.monitoring.custom import custom_alarm
from lakehouse_mlops.pipelines.monitoring.drift import (
    DATA_DRIFT,
    DATA_QUALITY,
    INSUFFICIENT,
    PREDICTION_DRIFT,
)
from lakehouse_mlops.pipelines.monitoring.estimated import ESTIMATED, ESTIMATED_AUC_DROP
from lakehouse_mlops.pipelines.monitoring.freshness import feed_alarms, unassessed
from lakehouse_mlops.pipelines.monitoring.performance import PERFORMANCE

logger = logging.getLogger(__name__)
SUMMARY = "summary"
METRIC_SCHEMA = (
    "batch_id string, monitored_batch_id string, model_name string, model_version string, kind string, "
    "feature string, metric string, value double, threshold double, p_value double, flagged boolean, "
    "status string, reference_rows long, current_rows long, computed_at timestamp, alpha double, "
    "reference string, reference_batch_id string"
)


def signals(
    drift_rows: list[dict],
    performance: list[dict],
    monitored: dict,
    monitoring: dict,
    feed_rows: list[dict] | None = None,
    estimated_rows: list[dict] | None = None,
    custom_rows: list[dict] | None = None,
) -> dict:
    """This window's signals: drift share, drifted features, quality alarms, feed alarms (freshness and
    completeness), prediction drift, breaches, the estimated ROC AUC drop, the custom metrics out of
    their bounds (the monitored version's)."""
    policy = parse_monitoring(monitoring).policy
    verdicts = [r for r in drift_rows if r["kind"] == DATA_DRIFT and r["metric"] == "drift_detected"]
    assessed = [r for r in verdicts if r["status"] != INSUFFICIENT]
    drifted = sorted(r["feature"] for r in assessed if r["flagged"])
    share = len(drifted) / len(assessed) if assessed else None
    prediction = [r for r in drift_rows if r["kind"] == PREDICTION_DRIFT and r["metric"] == "drift_detected"]
    breaches = {
        r["batch_id"]: bool(r["flagged"])
        for r in performance
        if r["metric"] == "breach"
        and r["model_version"] == monitored["version"]
        and r["status"] != INSUFFICIENT
    }
    return {
        "batch_id": monitored["batch_id"],
        "dataset_drift": None if share is None else share >= policy.drift_share_threshold,
        "drift_share": share,
        "drifted_features": drifted,
        "quality_alarms": sorted(
            f"{r['feature']}.{r['metric']}" for r in drift_rows if r["kind"] == DATA_QUALITY and r["flagged"]
        ),
        "prediction_drift": None
        if not prediction or prediction[0]["status"] == INSUFFICIENT
        else bool(prediction[0]["flagged"]),
        "performance_breaches": breaches,
        "insufficient": share is None,
        "feed_alarms": feed_alarms(feed_rows or [], monitored["batch_id"]),
        "feeds_unassessed": unassessed(feed_rows or []),
        "reference_fallbacks": _reference_fallbacks(verdicts),
        "custom_alarms": [
            custom_alarm(r)
            for r in custom_rows or []
            if r["flagged"] and r["model_version"] == monitored["version"]
        ],
        **_estimated_signals(estimated_rows or []),
    }


def _reference_fallbacks(verdicts: list[dict]) -> list[str]:
    """Features whose drift was measured against the training window because the window the use case
    compares them with had too few values (not in the history yet)."""
    wanted: dict[str, list[str]] = {}
    for r in verdicts:
        if r.get("wanted_reference"):
            wanted.setdefault(r["wanted_reference"], []).append(r["feature"])
    return [f"{window}: {', '.join(sorted(features))}" for window, features in sorted(wanted.items())]


def _estimated_signals(estimated_rows: list[dict]) -> dict:
    by_metric = {r["metric"]: r for r in estimated_rows if r["kind"] == ESTIMATED}
    drop = by_metric.get(ESTIMATED_AUC_DROP)
    if drop is None or drop["status"] == INSUFFICIENT:
        return {}
    return {
        "estimated_breach": bool(drop["flagged"]),
        "estimated_auc": by_metric["roc_auc"]["value"],
        "estimated_auc_drop": drop["value"],
        "max_auc_drop": drop["threshold"],
    }


def apply_policy(
    window: dict, history: DataFrame, decision_history: DataFrame, monitored: dict, monitoring: dict
) -> dict:
    """The policy's decision for this window, from its signals and the earlier windows."""
    spec = parse_monitoring(monitoring)
    past = _history(history, decision_history, monitored)
    decision, reasons = rules.policy_decision(rules.WindowSignals(**window), past, spec.policy)
    logger.info("batch %s: decision %s (%s)", monitored["batch_id"], decision, "; ".join(reasons))
    return {
        "batch_id": monitored["batch_id"],
        "model_name": monitored["name"],
        "model_version": monitored["version"],
        "decision": decision,
        "reasons": reasons,
        "signals": window,
    }


def _history(history: DataFrame | None, decisions: DataFrame | None, monitored: dict) -> rules.History:
    batch, version = monitored["batch_id"], monitored["version"]
    drift, breaches, estimated, batches, retrains = {}, {}, {}, [], []
    if history is not None:
        rows = history.filter(
            (F.col("monitored_batch_id") < batch)
            & (
                ((F.col("kind") == SUMMARY) & (F.col("metric") == "dataset_drift"))
                | ((F.col("kind") == PERFORMANCE) & (F.col("metric") == "breach"))
                | ((F.col("kind") == ESTIMATED) & (F.col("metric") == ESTIMATED_AUC_DROP))
            )
        ).collect()
        for r in rows:
            if r["kind"] == SUMMARY:
                batches.append(r["batch_id"])
                if r["model_version"] == version and r["value"] is not None:
                    drift[r["batch_id"]] = bool(r["value"])
            elif r["model_version"] == version and r["status"] != INSUFFICIENT:
                (breaches if r["kind"] == PERFORMANCE else estimated)[r["batch_id"]] = bool(r["flagged"])
    if _has_batches(decisions):
        retrains = [
            r[0]
            for r in decisions.filter(
                (F.col("kind") == "monitoring")
                & (F.col("decision") == rules.RETRAIN)
                & (F.col("batch_id") < batch)
            )
            .select("batch_id")
            .collect()
        ]
    return rules.History(
        dataset_drift=drift,
        performance_breaches=breaches,
        estimated_breaches=estimated,
        monitored_batches=sorted(set(batches)),
        retrain_batches=sorted(retrains),
    )


def recorded_decision(decisions: DataFrame, batch_id: str, version: str) -> dict:
    """The latest monitoring decision recorded for ``batch_id`` monitored on ``version`` (the loop's
    outcome of this stage)."""
    found = decisions.filter(
        (F.col("kind") == "monitoring")
        & (F.col("batch_id") == batch_id)
        & (F.col("candidate_version") == version)
    )
    return found.orderBy(F.col("decided_at").desc()).first().asDict()


def _has_batches(decisions: DataFrame | None) -> bool:
    """Decisions tables written before monitoring existed have no ``batch_id`` (and no monitoring rows)."""
    return decisions is not None and "batch_id" in decisions.columns


def metrics_table(
    drift_rows: list[dict], performance: list[dict], decision: dict, *more_rows: list[dict]
) -> DataFrame:
    """Every metric of this monitoring run as rows of ``monitoring_metrics`` (plus the summary);
    ``more_rows``: further metric rows (estimated performance, estimation errors, feed freshness and
    completeness, custom metrics)."""
    window = decision["signals"]
    summary = [
        _summary("drift_share", window["drift_share"]),
        _summary(
            "dataset_drift",
            None if window["dataset_drift"] is None else float(window["dataset_drift"]),
            flagged=bool(window["dataset_drift"]),
        ),
        _summary(
            "quality_alarms", float(len(window["quality_alarms"])), flagged=bool(window["quality_alarms"])
        ),
        _summary("feed_alarms", float(len(window["feed_alarms"])), flagged=bool(window["feed_alarms"])),
        _summary(
            "custom_alarms",
            float(len(window.get("custom_alarms", []))),
            flagged=bool(window.get("custom_alarms")),
        ),
        _summary(
            "prediction_drift",
            None if window["prediction_drift"] is None else float(window["prediction_drift"]),
            flagged=bool(window["prediction_drift"]),
        ),
        _summary(
            "retrain",
            float(decision["decision"] == rules.RETRAIN),
            flagged=decision["decision"] == rules.RETRAIN,
        ),
    ]
    summary = [
        {**r, "batch_id": decision["batch_id"], "model_version": decision["model_version"]} for r in summary
    ]
    now = datetime.now(UTC).replace(tzinfo=None)
    columns = [c.split()[0] for c in METRIC_SCHEMA.split(", ")]
    records = [
        {
            **r,
            "monitored_batch_id": decision["batch_id"],
            "model_name": decision["model_name"],
            "computed_at": now,
        }
        for r in [*drift_rows, *performance, *[r for rows in more_rows for r in rows], *summary]
    ]
    spark = SparkSession.getActiveSession() or SparkSession.builder.getOrCreate()
    return spark.createDataFrame([[_plain(r.get(c)) for c in columns] for r in records], METRIC_SCHEMA)


def _summary(name: str, value: float | None, flagged: bool = False) -> dict:
    return {
        "kind": SUMMARY,
        "feature": "*",
        "metric": name,
        "value": value,
        "threshold": None,
        "p_value": None,
        "flagged": flagged,
        "status": "flagged" if flagged else ("insufficient" if value is None else "ok"),
        "reference_rows": None,
        "current_rows": None,
    }


def _plain(value):
    """numpy scalars → Python (Spark's row conversion wants plain types)."""
    return value.item() if hasattr(value, "item") else value


def decision_record(decision: dict, decision_history: DataFrame | None) -> DataFrame:
    """The decision as a ``decisions`` row, unless this window's decision is already recorded."""
    row = {
        "kind": "monitoring",
        "batch_id": decision["batch_id"],
        "model_name": decision["model_name"],
        "candidate_version": decision["model_version"],
        "champion_version": decision["model_version"],
        "decision": decision["decision"],
        "reasons": decision["reasons"],
        "metrics": decision["signals"],
    }
    rows = decision_rows([row])
    if _has_batches(decision_history):
        recorded = decision_history.filter(
            (F.col("kind") == "monitoring")
            & (F.col("batch_id") == decision["batch_id"])
            & (F.col("candidate_version") == decision["model_version"])
            & (F.col("decision") == decision["decision"])
            & (F.col("metrics") == json.dumps(decision["signals"], sort_keys=True))
        )
        if not recorded.isEmpty():
            logger.info("batch %s: decision already recorded", decision["batch_id"])
            return rows.limit(0)
    return rows


def run_params(batch_id: str, model_version: str | None) -> dict:
    """The runtime parameters that make this pipeline monitor ``batch_id`` on ``model_version``."""
    return {"monitoring": {"batch_id": batch_id, "model_version": model_version}}
