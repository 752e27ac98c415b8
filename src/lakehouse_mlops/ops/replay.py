"""Policy backtest: run the loop over past months and compare the deployed model with a static model
(never retrained) and a model refit every month, on each month's labels once they have landed."""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Callable
from functools import cache

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 - the backend must be chosen first
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from pyspark.sql import functions as F  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402

from lakehouse_mlops.framework import model_registry as registry  # noqa: E402
from lakehouse_mlops.framework.batches import batch_start  # noqa: E402
from lakehouse_mlops.framework.examples import TimeWindows, labelled_examples  # noqa: E402
from lakehouse_mlops.framework.html import STYLE, figure_html, table_html  # noqa: E402
from lakehouse_mlops.framework.model_ref import ModelRef  # noqa: E402
from lakehouse_mlops.framework.predictions import scores_of  # noqa: E402
from lakehouse_mlops.framework.usecase import UseCase, parse_usecase  # noqa: E402
from lakehouse_mlops.ops.alert_quality import degraded, quality_summary  # noqa: E402
from lakehouse_mlops.ops.loop import CycleResult, Loop  # noqa: E402
from lakehouse_mlops.ops.operations import hyperparameters  # noqa: E402
from lakehouse_mlops.pipelines.monitoring.config import parse_monitoring  # noqa: E402
from lakehouse_mlops.pipelines.monitoring.drift import INSUFFICIENT  # noqa: E402
from lakehouse_mlops.pipelines.monitoring.estimated import ESTIMATED  # noqa: E402
from lakehouse_mlops.pipelines.monitoring.performance import PERFORMANCE  # noqa: E402
from lakehouse_mlops.pipelines.training.config import parse_training  # noqa: E402
from lakehouse_mlops.pipelines.training.nodes import fit_final_model  # noqa: E402

logger = logging.getLogger(__name__)
RETRAIN_STAGES = ("training", "promotion")
AUC_COLUMNS = ["auc_deployed", "auc_static", "auc_always_retrain"]
TIMELINE_EXTRA = [
    *AUC_COLUMNS,
    "auc_replaced_model",
    "gate_candidate_auc",
    "gate_champion_auc",
    "gate_auc_gain_lower_bound",
    "deployed_test_auc",
    "degraded",
    "labels_measured_at",
    "estimated_auc",
    "estimation_error",
]


def replay(
    loop: Loop, batches: list[str], on_cycle: Callable[[CycleResult], None] = lambda _: None
) -> tuple[pd.DataFrame, dict]:
    """Run a cycle per batch, then build the timeline and save it (CSV, PNG, HTML) via the catalog."""
    session, context = loop.context()
    with session:
        name = parse_usecase(context.params["usecase"]).model.registered_name
    if registry.alias_version(name, registry.CHAMPION) is None:
        raise registry.RegistryError(
            f"model '{name}' has no champion: run `make run` (or training + promotion) first"
        )
    results = []
    for batch in batches:
        results.append(loop.cycle(batch))
        on_cycle(results[-1])
        if not results[-1].ok:
            break
    completed = [r for r in results if r.ok]
    if not completed:
        failed = results[0]
        return pd.DataFrame(), {"months": 0, "failed": failed.headline()}
    # the static model: the one deployed on the first replayed batch, never retrained
    static = completed[0].scored_by
    results = completed
    session, context = loop.context()
    with session:
        frame = build_timeline(context.catalog, context.params, results, static)
        summary = summarise(frame, static)
        context.catalog.save("replay_timeline", frame)
        context.catalog.save("replay_timeline_plot", timeline_figure(frame))
        context.catalog.save("replay_report", timeline_html(frame, summary))
    return frame, summary


def build_timeline(catalog, params: dict, results: list[CycleResult], static: str) -> pd.DataFrame:
    """One row per replayed batch: what the cycle did, and the AUC on the batch's labels of the
    deployed model, the model it replaced, the static model and a model refit for that batch; the
    deployed version's test AUC and whether the month degraded against it; the estimated AUC of the
    version that scored the batch and its error once labelled (ops/alert_quality.py)."""
    usecase = parse_usecase(params["usecase"])
    name, key, batch = usecase.model.registered_name, usecase.entity_key, usecase.batch.column
    features, labels = catalog.load("gold_features"), catalog.load("gold_labels")
    known_at = labels.select(key, "label_known_at").toPandas()
    examples = labelled_examples(features, labels, usecase).merge(known_at, on=key, how="left")
    predictions = catalog.load("ml_predictions").select(key, batch, "model_version", "probability")
    decisions = _monitoring_decisions(catalog)
    estimated, labels_measured_at = _monitoring_evidence(catalog)
    max_auc_drop = parse_monitoring(params["monitoring"]).performance.max_auc_drop
    best = hyperparameters(registry.version_tags(name, static))
    rows, replaced, previous = [], None, static
    for result in results:
        if result.deployed != previous:
            replaced, previous = previous, result.deployed
        row = {**_cycle_row(result, decisions.get(result.batch_id, {})), **_gate_metrics(name, result)}
        row["deployed_test_auc"] = _test_auc(name, result.deployed)
        row["labels_measured_at"] = labels_measured_at.get(result.batch_id)
        row["estimated_auc"] = estimated.get((result.batch_id, result.scored_by))
        window = examples[examples[batch] == result.batch_id]
        row["labelled_rows"] = len(window)
        y = window[usecase.label.column].astype(int).to_numpy()
        if len(window) and len(set(y)) == 2 and result.deployed:
            x = window[usecase.features.all]
            refit = _refit_before(examples, result.batch_id, best, params, usecase)
            row["auc_deployed"] = _realised_auc(
                predictions, usecase, result.batch_id, result.deployed, window
            )
            row["auc_static"] = roc_auc_score(y, _model(name, static).predict_proba(x))
            row["auc_always_retrain"] = roc_auc_score(y, refit.predict_proba(x)[:, 1])
            if replaced is not None:
                row["auc_replaced_model"] = roc_auc_score(y, _model(name, replaced).predict_proba(x))
            if row["estimated_auc"] is not None:
                # the estimate is of the version that scored the batch, before any re-scoring
                scored_auc = (
                    row["auc_deployed"]
                    if result.scored_by == result.deployed
                    else _realised_auc(predictions, usecase, result.batch_id, result.scored_by, window)
                )
                row["estimation_error"] = scored_auc - row["estimated_auc"]
        row["degraded"] = degraded(row.get("auc_deployed", np.nan), row["deployed_test_auc"], max_auc_drop)
        rows.append(row)
    frame = pd.DataFrame(rows)
    return frame.reindex(columns=[*frame.columns, *[c for c in TIMELINE_EXTRA if c not in frame]])


def _realised_auc(predictions, usecase: UseCase, batch_id: str, version: str, window: pd.DataFrame) -> float:
    """ROC AUC on the window's labels of the scores ``version`` gave the batch in ``predictions``."""
    key = usecase.entity_key
    scored = scores_of(predictions, usecase.batch.column, batch_id, version).toPandas()
    probability = scored.set_index(key)["probability"].reindex(window[key]).to_numpy()
    return roc_auc_score(window[usecase.label.column].astype(int).to_numpy(), probability)


@cache
def _model(name: str, version: str) -> ModelRef:
    return ModelRef.resolve(name, version)


def _cycle_row(result: CycleResult, signals: dict) -> dict:
    return {
        "batch_id": result.batch_id,
        "scored_version": result.scored_by,
        "deployed_version": result.deployed,
        "decision": result.decision,
        "drift_share": signals.get("drift_share"),
        "dataset_drift": signals.get("dataset_drift"),
        "quality_alarms": len(signals.get("quality_alarms", [])),
        "retrained_version": result.retrained_version,
        "promoted": result.promoted,
        "cycle_seconds": round(sum(s.seconds for s in result.stages), 1),
        "retrain_seconds": round(sum(s.seconds for s in result.stages if s.stage in RETRAIN_STAGES), 1),
    }


def _test_auc(name: str, version: str | None) -> float:
    tag = registry.version_tags(name, version).get("test_roc_auc") if version else None
    return float(tag) if tag is not None else float("nan")


def _monitoring_evidence(catalog) -> tuple[dict[tuple[str, str], float], dict[str, str]]:
    """The estimated ROC AUC per (batch, monitored version), and per labelled batch the cycle whose
    monitoring first measured its labels."""
    history = catalog.load("monitoring_history")
    if history is None:
        return {}, {}
    rows = history.filter(
        ((F.col("kind") == ESTIMATED) & (F.col("metric") == "roc_auc") & F.col("value").isNotNull())
        | ((F.col("kind") == PERFORMANCE) & (F.col("metric") == "breach") & (F.col("status") != INSUFFICIENT))
    ).select("kind", "batch_id", "model_version", "monitored_batch_id", "value")
    estimated, measured_at = {}, defaultdict(list)
    for r in rows.collect():
        if r["kind"] == ESTIMATED:
            estimated[(r["batch_id"], r["model_version"])] = r["value"]
        else:
            measured_at[r["batch_id"]].append(r["monitored_batch_id"])
    return estimated, {batch: min(cycles) for batch, cycles in measured_at.items()}


def _gate_metrics(name: str, result: CycleResult) -> dict:
    """The gate's AUC of the retrained candidate and of the champion on the gate's window, and the
    lower confidence bound of the candidate's gain (none without a champion)."""
    if result.retrained_version is None:
        return {}
    raw = registry.version_tags(name, result.retrained_version).get("gate.metrics")
    metrics = json.loads(raw) if raw else {}
    auc_gain = metrics.get("champion_comparison", {}).get("roc_auc", {})
    return {
        "gate_candidate_auc": metrics.get("candidate", {}).get("roc_auc"),
        "gate_champion_auc": metrics.get("champion", {}).get("roc_auc"),
        "gate_auc_gain_lower_bound": auc_gain.get("lower_bound"),
    }


def _refit_before(examples: pd.DataFrame, batch: str, best: dict, params: dict, usecase: UseCase):
    """The static model's hyperparameters refit on every label known when ``batch`` was scored
    (the last ``validation_days`` of that history choose its threshold)."""
    cutoff = pd.Timestamp(batch_start(batch, usecase.batch.cadence))
    history = examples[pd.to_datetime(examples["label_known_at"]) <= cutoff]
    days = parse_training(params["training"]).windows.validation_days
    windows = TimeWindows.count_back(history[usecase.event_time], test_days=0, validation_days=days)
    train, valid, _ = windows.split(history, usecase.event_time)
    return fit_final_model(train, valid, best, params["training"], params["usecase"])


def _monitoring_decisions(catalog) -> dict[str, dict]:
    decisions = catalog.load("ml_decision_history")
    if decisions is None:
        return {}
    rows = (
        decisions.filter(F.col("kind") == "monitoring")
        .orderBy("decided_at")
        .select("batch_id", "metrics")
        .collect()
    )
    return {r["batch_id"]: json.loads(r["metrics"]) for r in rows}


def summarise(frame: pd.DataFrame, static: str) -> dict:
    scored = (
        frame.dropna(subset=AUC_COLUMNS)
        if not frame.empty and set(AUC_COLUMNS) <= set(frame)
        else frame.iloc[0:0]
    )
    means = {c: float(scored[c].mean()) if len(scored) else float("nan") for c in AUC_COLUMNS}
    retrains = int(frame["retrained_version"].notna().sum()) if not frame.empty else 0
    always = len(frame)
    return {
        "months": len(frame),
        "labelled_months": len(scored),
        "static_version": static,
        **{f"mean_{c}": v for c, v in means.items()},
        "share_of_always_retrain_auc": means["auc_deployed"] / means["auc_always_retrain"]
        if means["auc_always_retrain"]
        else float("nan"),
        "retrains": retrains,
        "always_retrain_retrains": always,
        "promotions": int(frame["promoted"].sum()) if not frame.empty else 0,
        # months on which the deployed model scored below the model it replaced
        "months_deployed_below_replaced": int((frame["auc_deployed"] < frame["auc_replaced_model"]).sum())
        if not frame.empty
        else 0,
        **(quality_summary(frame) if not frame.empty else {}),
    }


def timeline_figure(frame: pd.DataFrame) -> plt.Figure:
    fig, ax = plt.subplots(figsize=(9, 4.5))
    x = np.arange(len(frame))
    drift = frame["drift_share"].astype(float).fillna(0)
    ax2 = ax.twinx()
    ax2.bar(x, drift, color="#cccccc", alpha=0.6, label="drift share")
    ax2.set_ylim(0, 1)
    ax2.set_ylabel("share of features drifted")
    for column, label in zip(AUC_COLUMNS, ["deployed (loop)", "static", "always retrain"], strict=True):
        ax.plot(x, frame[column].astype(float), marker="o", label=label)
    ax.plot(
        x, frame["estimated_auc"].astype(float), linestyle=":", marker="s", label="estimated before labels"
    )
    bad = frame["degraded"].eq(True).to_numpy()
    ax.scatter(
        x[bad],
        frame["auc_deployed"].astype(float)[bad],
        s=160,
        facecolors="none",
        edgecolors="#d9534f",
        linewidths=2,
        zorder=5,
        label="degraded (below test AUC − bar)",
    )
    for i, row in frame.iterrows():
        if isinstance(row["retrained_version"], str):
            ax.axvline(i, color="#d9534f" if row["promoted"] else "#f0ad4e", linestyle="--", alpha=0.8)
    ax.set_zorder(ax2.get_zorder() + 1)
    ax.patch.set_visible(False)
    ax.set_xticks(x, frame["batch_id"], rotation=45, ha="right")  # a year of monthly batches overlaps flat
    ax.set(ylabel="ROC AUC on the month's labels", title="replay: dashed = retrain (red: promoted)")
    ax.legend(loc="lower left")
    fig.tight_layout()
    return fig


def timeline_html(frame: pd.DataFrame, summary: dict) -> str:
    items = "".join(
        f"<tr><th>{k}</th><td>{v:.4f}</td></tr>"
        if isinstance(v, float)
        else f"<tr><th>{k}</th><td>{v}</td></tr>"
        for k, v in summary.items()
    )
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Replay timeline</title>"
        f"<style>{STYLE}</style></head><body><h1>Replay timeline</h1><table>{items}</table>"
        f"{figure_html(timeline_figure(frame), 'replay timeline')}{table_html(frame)}</body></html>"
    )
