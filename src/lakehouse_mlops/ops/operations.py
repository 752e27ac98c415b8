"""Operator commands on the model life cycle: forced promotion, rollback, approval, reproduce (status:
``ops.status``)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from mlflow.exceptions import MlflowException

from lakehouse_mlops.framework import model_registry as registry
from lakehouse_mlops.framework.decisions import decision_rows
from lakehouse_mlops.framework.examples import TimeWindows, labelled_examples
from lakehouse_mlops.framework.lineage import load_pinned
from lakehouse_mlops.framework.metrics import classification_metrics
from lakehouse_mlops.framework.usecase import parse_usecase
from lakehouse_mlops.pipelines.promotion.gate import PROMOTE, REJECT
from lakehouse_mlops.pipelines.training import nodes as training_nodes

logger = logging.getLogger(__name__)


def force_promote(name: str, version: str, reason: str) -> tuple[dict, object]:
    """Bypass the gate (an operator's decision, with a reason); returns the move and decision rows."""
    if not reason.strip():
        raise registry.RegistryError("--force needs --reason: say why the gate is bypassed")
    move = registry.set_champion(name, version, registry.actor(), f"forced: {reason}")
    registry.tag_decision(name, version, "forced_promotion", [reason], {})
    rows = decision_rows(
        [
            {
                "kind": "forced_promotion",
                "model_name": name,
                "candidate_version": version,
                "champion_version": move["previous"],
                "decision": "promote",
                "reasons": [reason],
            }
        ]
    )
    return move, rows


def rollback(name: str, reason: str) -> tuple[dict, object]:
    """Point ``champion`` back at the version it replaced; the move is recorded like any other."""
    current = registry.alias_version(name, registry.CHAMPION)
    moves = [m for m in registry.champion_history(name) if m["version"] == current]
    previous = moves[-1]["previous"] if moves else None
    if current is None or previous is None:
        raise registry.RegistryError(
            f"model '{name}' has no previous champion to roll back to (champion: {current or 'none'})"
        )
    move = registry.set_champion(name, previous, registry.actor(), f"rollback: {reason}")
    rows = decision_rows(
        [
            {
                "kind": "rollback",
                "model_name": name,
                "candidate_version": previous,
                "champion_version": current,
                "decision": "rollback",
                "reasons": [reason],
            }
        ]
    )
    return move, rows


def approve(name: str, version: str, reason: str, recheck: Callable[[], dict]) -> tuple[dict | None, object]:
    """An operator's approval of the version the gate left pending. ``recheck`` is the gate's verdict
    on it against the champion of now: ``champion`` moves only if it still promotes; either way the
    candidate leaves ``approved_pending`` and the decision (who, when, why) is returned as a row."""
    _check_pending(name, version, reason, "approve")
    verdict = recheck()
    approved = verdict["decision"] == PROMOTE
    decision = PROMOTE if approved else REJECT
    reasons = [f"approved: {reason}" if approved else f"approved ({reason}) but the re-check rejects it"]
    reasons += verdict["reasons"]
    move = None
    with _operator_only(name, version, "approve"):
        if approved:
            move = registry.set_champion(name, version, registry.actor(), f"approved: {reason}")
        registry.clear_pending(name)
    registry.tag_decision(name, version, decision, reasons, verdict["metrics"])
    row = _approval_row(name, version, verdict["champion"], decision, reasons)
    row.update({k: verdict[k] for k in ("window_start", "window_end", "metrics")})
    return move, decision_rows([row])


def reject(name: str, version: str, reason: str) -> object:
    """An operator's rejection of the version the gate left pending: it leaves ``approved_pending``,
    ``champion`` stays; the decision is returned as a row."""
    _check_pending(name, version, reason, "reject")
    with _operator_only(name, version, "reject"):
        registry.clear_pending(name)
    reasons = [f"rejected: {reason}"]
    registry.tag_decision(name, version, REJECT, reasons, {})
    champion = registry.alias_version(name, registry.CHAMPION)
    return decision_rows([_approval_row(name, version, champion, REJECT, reasons)])


def _approval_row(name: str, version: str, champion: str | None, decision: str, reasons: list[str]) -> dict:
    return {
        "kind": "approval",
        "model_name": name,
        "candidate_version": version,
        "champion_version": champion,
        "decision": decision,
        "reasons": reasons,
    }


def _check_pending(name: str, version: str, reason: str, command: str) -> None:
    if not reason.strip():
        raise registry.RegistryError(f"{command} needs --reason: say why (it is recorded in decisions)")
    pending = registry.alias_version(name, registry.PENDING)
    if pending != str(version):
        raise registry.RegistryError(
            f"model '{name}' version {version} is not awaiting approval ({registry.PENDING} is "
            f"{pending or 'unset'}): `kedro status` shows the pending version, if any"
        )


@contextmanager
def _operator_only(name: str, version: str, command: str) -> Iterator[None]:
    """A registry that refuses the alias move (the team server: only the ``ops`` role holds MANAGE on
    the model) fails the command before anything is recorded."""
    try:
        yield
    except MlflowException as exc:
        if exc.error_code != "PERMISSION_DENIED":
            raise
        raise registry.RegistryError(
            f"'{registry.actor()}' may not {command} model '{name}' version {version}: moving "
            f"{registry.CHAMPION} or {registry.PENDING} needs MANAGE on the model (on the team server, "
            "the ops role); nothing was recorded"
        ) from exc


def reproduce(name: str, version: str, training: dict, usecase: dict) -> dict:
    """Retrain ``version`` from its pinned Delta versions, windows and hyperparameters; compare."""
    tags = registry.version_tags(name, version)
    contract = parse_usecase(usecase)
    features, labels = load_pinned(tags, "gold_features"), load_pinned(tags, "gold_labels")
    examples = labelled_examples(features, labels, contract)
    train, valid, test = TimeWindows.from_tags(tags).split(examples, contract.event_time)
    model = training_nodes.fit_final_model(train, valid, hyperparameters(tags), training, usecase)
    y = test[contract.label.column].astype(int).to_numpy()
    metrics = classification_metrics(
        y, model.predict_proba(test[contract.features.all])[:, 1], model.decision_threshold_
    )
    recorded = float(tags["test_roc_auc"])
    return {
        "version": version,
        "recorded_test_roc_auc": recorded,
        "reproduced_test_roc_auc": metrics["roc_auc"],
        "difference": metrics["roc_auc"] - recorded,
        "test_rows": len(test),
    }


def hyperparameters(tags: dict[str, str]) -> dict:
    """The tuned hyperparameters recorded on a model version (``param.*`` tags)."""
    return {k.removeprefix("param."): _number(v) for k, v in tags.items() if k.startswith("param.")}


def _number(text: str) -> float | int:
    value = float(text)
    return int(value) if value.is_integer() and "." not in text else value
