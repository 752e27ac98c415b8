"""Promotion nodes: score candidate, champion and baseline on one unseen window; decide; record."""

from __future__ import annotations

import json
import logging
import uuid
from datetime import UTC, datetime

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from lakehouse_mlops.framework import registry
from lakehouse_mlops.framework.errors import LakehouseError
from lakehouse_mlops.pipelines.promotion.gate import PROMOTE, decide, parse_gate
from lakehouse_mlops.pipelines.training.config import parse_training
from lakehouse_mlops.pipelines.training.evaluation import classification_metrics

logger = logging.getLogger(__name__)
DECISION_COLUMNS = [
    "decision_id",
    "decided_at",
    "kind",
    "batch_id",
    "model_name",
    "candidate_version",
    "champion_version",
    "window_start",
    "window_end",
    "decision",
    "reasons",
    "metrics",
    "decided_by",
]


def candidate_version(training: dict, promotion: dict) -> dict:
    """Which version to judge: ``promotion.candidate_version`` if set, else the challenger."""
    name = parse_training(training).registered_model_name
    version = promotion.get("candidate_version") or registry.alias_version(name, registry.CHALLENGER)
    if version is None:
        raise registry.RegistryError(f"model '{name}' has no challenger: run the training pipeline")
    champion = registry.alias_version(name, registry.CHAMPION)
    return {
        "name": name,
        "version": str(version),
        "champion": champion,
        "batch_id": promotion.get("batch_id"),
    }


def trained_candidate(challenger: dict, training: dict, promotion: dict) -> dict:
    """The version the training pipeline has just registered, when both run together (the default
    run): the gate judges what was trained, and waits for it."""
    return candidate_version(training, {**promotion, "candidate_version": challenger["version"]})


def evaluation_window(
    features: DataFrame, labels: DataFrame, candidate: dict, training: dict
) -> pd.DataFrame:
    """Labelled flights of the candidate's test window: the most recent window neither model
    trained on (the champion was trained before the candidate, on older data)."""
    spec = parse_training(training)
    tags = registry.version_tags(candidate["name"], candidate["version"])
    start, end = tags["window.test_start"], tags["window.test_end"]
    known = labels.filter(F.col(spec.target).isNotNull()).select("flight_key", spec.target)
    rows = (
        features.filter(F.col("flight_date").between(start, end))
        .join(known, "flight_key")
        .select("flight_key", "flight_date", *spec.features.all, spec.target)
    )
    window = rows.toPandas()
    window.attrs.update(start=start, end=end)
    return window


def judge(window: pd.DataFrame, candidate: dict, training: dict, promotion: dict) -> dict:
    """Metrics of candidate, champion and naive baseline on the window, and the gate's verdict."""
    spec, gate = parse_training(training), parse_gate(promotion["gate"])
    x, y = window[spec.features.all], window[spec.target].astype(int).to_numpy()

    def score(version: str) -> dict:
        model = registry.load_model(candidate["name"], version)
        threshold = float(registry.version_tags(candidate["name"], version).get("decision_threshold", 0.5))
        return classification_metrics(y, model.predict_proba(x)[:, 1], threshold)

    baseline_scores = window[gate.baseline_feature].fillna(window[gate.baseline_feature].mean())
    baseline = classification_metrics(y, np.clip(baseline_scores.to_numpy(), 1e-6, 1 - 1e-6), 0.5)
    metrics = {"candidate": score(candidate["version"]), "baseline": baseline}
    champion = candidate["champion"]
    if champion is not None and champion != candidate["version"]:
        metrics["champion"] = score(champion)
    verdict, reasons = decide(metrics["candidate"], metrics.get("champion"), baseline, len(y), gate)
    logger.info(
        "gate: %s version %s: %s (%s)", candidate["name"], candidate["version"], verdict, "; ".join(reasons)
    )
    return {
        **candidate,
        "decision_id": str(uuid.uuid4()),
        "decision": verdict,
        "reasons": reasons,
        "metrics": metrics,
        "window_start": window.attrs["start"],
        "window_end": window.attrs["end"],
    }


def record_decision(verdict: dict) -> DataFrame:
    """The verdict as a ``decisions`` row. It is committed before the registry changes, so that a
    run killed in between leaves a record that the next run completes (``apply_recorded_decision``)
    instead of judging again against a champion that may already have moved."""
    return decision_rows(
        [
            {
                "decision_id": verdict["decision_id"],
                "kind": "promotion",
                "batch_id": verdict.get("batch_id"),
                "model_name": verdict["name"],
                "candidate_version": verdict["version"],
                "champion_version": verdict["champion"],
                "window_start": verdict["window_start"],
                "window_end": verdict["window_end"],
                "decision": verdict["decision"],
                "reasons": verdict["reasons"],
                "metrics": verdict["metrics"],
            }
        ]
    )


def apply_decision(verdict: dict, decisions: DataFrame) -> None:
    """Apply the verdict to the registry once its row is in ``decisions`` (Kedro runs this after
    ``record_decision`` has saved it)."""
    recorded = decisions.filter(F.col("decision_id") == verdict["decision_id"]).first()
    if recorded is None:
        raise LakehouseError(
            f"the gate's decision on version {verdict['version']} is not in the decisions table: "
            "the registry was left unchanged"
        )
    apply_recorded_decision(recorded.asDict())


def apply_recorded_decision(row: dict) -> None:
    """Make the registry match a recorded promotion decision. Idempotent: what is already done is not
    repeated, and ``gate.decision``, the mark that the decision was applied, is written last."""
    name, version = row["model_name"], row["candidate_version"]
    if row["decision"] == PROMOTE:
        registry.ensure_champion(name, version, row["decided_by"], "; ".join(row["reasons"]))
    registry.tag_decision(name, version, row["decision"], list(row["reasons"]), json.loads(row["metrics"]))


def recorded_promotion(decisions: DataFrame | None, version: str, batch_id: str | None) -> dict | None:
    """The latest promotion decision recorded for ``version`` (and the batch that asked for it)."""
    if decisions is None:
        return None
    batch = F.col("batch_id").isNull() if batch_id is None else F.col("batch_id") == batch_id
    row = (
        decisions.filter((F.col("kind") == "promotion") & (F.col("candidate_version") == version) & batch)
        .orderBy(F.col("decided_at").desc())
        .first()
    )
    return None if row is None else row.asDict()


def decision_rows(decisions: list[dict]) -> DataFrame:
    """Decisions as rows of the ``decisions`` table (metrics as JSON)."""
    now = datetime.now(UTC).replace(tzinfo=None)
    rows = [
        {
            "decision_id": str(uuid.uuid4()),
            "decided_at": now,
            "decided_by": registry.actor(),
            **d,
            "metrics": json.dumps(d.get("metrics", {}), sort_keys=True),
        }
        for d in decisions
    ]
    spark = SparkSession.getActiveSession() or SparkSession.builder.getOrCreate()
    schema = (
        "decision_id string, decided_at timestamp, kind string, batch_id string, model_name string, "
        "candidate_version string, champion_version string, window_start string, "
        "window_end string, decision string, reasons array<string>, metrics string, "
        "decided_by string"
    )
    return spark.createDataFrame([[r.get(c) for c in DECISION_COLUMNS] for r in rows], schema)
