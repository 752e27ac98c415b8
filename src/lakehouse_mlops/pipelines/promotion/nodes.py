"""Promotion nodes: score candidate, champion and baseline on one unseen window; decide; record."""

from __future__ import annotations

import json
import logging
import uuid

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from lakehouse_mlops.framework import model_registry as registry
from lakehouse_mlops.framework.decisions import decision_rows
from lakehouse_mlops.framework.errors import LakehouseError
from lakehouse_mlops.framework.examples import TimeWindows, labelled_rows
from lakehouse_mlops.framework.metrics import classification_metrics, metric_functions
from lakehouse_mlops.framework.model_ref import ModelRef
from lakehouse_mlops.framework.usecase import GateSpec, parse_usecase
from lakehouse_mlops.pipelines.promotion.gate import AWAITING_APPROVAL, PROMOTE, approval_step, gate_verdict
from lakehouse_mlops.pipelines.promotion.paired import PairedDifference, paired_difference

logger = logging.getLogger(__name__)
#: a constant baseline score has no ranking; the clip keeps log loss finite
BASELINE_CLIP = 1e-6


def candidate_version(usecase: dict, promotion: dict) -> dict:
    """Which version to judge: ``promotion.candidate_version`` if set, else the challenger."""
    name = parse_usecase(usecase).model.registered_name
    version = promotion.get("candidate_version") or registry.alias_version(name, registry.CHALLENGER)
    if version is None:
        raise registry.RegistryError(f"model '{name}' has no challenger: run the training pipeline")
    champion = registry.alias_version(name, registry.CHAMPION)
    return {
        "name": name,
        "version": str(version),
        "champion": champion,
        "batch_id": promotion.get("batch_id"),
        "require_approval": bool(promotion.get("require_approval", False)),
    }


def trained_candidate(challenger: dict, usecase: dict, promotion: dict) -> dict:
    """The version the training pipeline has just registered, when both run together (the default
    run): the gate judges what was trained, and waits for it."""
    return candidate_version(usecase, {**promotion, "candidate_version": challenger["version"]})


def evaluation_window(features: DataFrame, labels: DataFrame, candidate: dict, usecase: dict) -> pd.DataFrame:
    """Labelled rows of the candidate's test window: the most recent window neither model trained on
    (the champion was trained before the candidate, on older data)."""
    contract = parse_usecase(usecase)
    windows = TimeWindows.from_tags(registry.version_tags(candidate["name"], candidate["version"]))
    baseline = [contract.gate.baseline_score] if contract.gate.baseline_score else []
    recent = windows.test(features, contract.event_time)
    window = labelled_rows(recent, labels, contract, *baseline).toPandas()
    window.attrs.update(start=windows.test_start, end=windows.test_end)
    return window


def judge(window: pd.DataFrame, candidate: dict, usecase: dict) -> dict:
    """Metrics of candidate, champion and naive baseline on the window, and the gate's verdict."""
    contract = parse_usecase(usecase)
    gate = contract.gate
    x, y = window[contract.features.all], window[contract.label.column].astype(int).to_numpy()

    scored = {"candidate": _scores(candidate["name"], candidate["version"], x)}
    if gate.baseline_score:
        scores = window[gate.baseline_score].astype(float)
        clipped = np.clip(scores.fillna(scores.mean()).to_numpy(), BASELINE_CLIP, 1 - BASELINE_CLIP)
        scored["baseline"] = (clipped, 0.5)
    champion = candidate["champion"]
    if champion is not None and champion != candidate["version"]:
        scored["champion"] = _scores(candidate["name"], champion, x)
    metrics = {role: classification_metrics(y, *scores) for role, scores in scored.items()}
    comparisons = _champion_comparisons(y, scored, gate)
    if comparisons:
        metrics["champion_comparison"] = {metric: c.as_record() for metric, c in comparisons.items()}
    verdict, reasons = approval_step(
        *gate_verdict(
            metrics["candidate"], metrics.get("champion"), metrics.get("baseline"), len(y), gate, comparisons
        ),
        candidate.get("require_approval", False),
    )
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


def _scores(name: str, version: str, x: pd.DataFrame) -> tuple[np.ndarray, float]:
    model = ModelRef.resolve(name, version)
    return model.predict_proba(x), model.threshold


def _champion_comparisons(
    y: np.ndarray, scored: dict[str, tuple[np.ndarray, float]], gate: GateSpec
) -> dict[str, PairedDifference]:
    """Candidate vs champion on every gate metric, paired on the window's rows
    (``gate.champion_confidence``; none without a champion)."""
    if "champion" not in scored or gate.champion_confidence is None:
        return {}
    (candidate, candidate_threshold), (champion, champion_threshold) = scored["candidate"], scored["champion"]
    return {
        metric: paired_difference(
            metric,
            y,
            candidate,
            champion,
            (metric_functions(candidate_threshold)[metric], metric_functions(champion_threshold)[metric]),
            gate.champion_confidence,
        )
        for metric in gate.metrics
    }


def record_decision(verdict: dict) -> DataFrame:
    """The verdict as a ``decisions`` row. It is committed before the registry changes, so that a
    run killed in between leaves a record that the next run completes (``complete_recorded_promotion``)
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
    elif row["decision"] == AWAITING_APPROVAL:
        registry.set_pending(name, version)
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


def complete_recorded_promotion(decisions: DataFrame | None, name: str, version: str, batch_id: str) -> bool:
    """Crash recovery, for the loop: a run killed after recording the gate's decision but before
    applying it is completed (judging again would compare the candidate with itself once the alias
    had moved). Returns True when the decision is applied now or was already; False when the gate has
    not judged ``version`` for ``batch_id`` yet."""
    if "gate.decision" in registry.version_tags(name, version):
        return True
    recorded = recorded_promotion(decisions, version, batch_id)
    if recorded is None:
        return False
    apply_recorded_decision(recorded)
    return True


def rejudge(features: DataFrame, labels: DataFrame, usecase: dict, promotion: dict, version: str) -> dict:
    """The gate's verdict on ``version`` against the champion of now (for `kedro approve`): the same
    window, scoring and rules as the promotion pipeline, without the approval step."""
    wanted = {**promotion, "candidate_version": version, "require_approval": False}
    candidate = candidate_version(usecase, wanted)
    return judge(evaluation_window(features, labels, candidate, usecase), candidate, usecase)


def gate_outcome(name: str, version: str) -> tuple[str | None, str]:
    """The gate's applied decision on ``version`` and its reasons (from the version's tags)."""
    tags = registry.version_tags(name, version)
    return tags.get("gate.decision"), tags.get("gate.reasons", "")


def run_params(candidate_version: str, batch_id: str | None) -> dict:
    """The runtime parameters that make the gate judge ``candidate_version`` for ``batch_id``."""
    return {"promotion": {"candidate_version": candidate_version, "batch_id": batch_id}}
