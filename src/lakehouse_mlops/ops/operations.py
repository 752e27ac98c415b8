"""Operator commands on the model life cycle: status, forced promotion, rollback, reproduce."""

from __future__ import annotations

import logging
from collections.abc import Iterator

from lakehouse_mlops.framework import model_registry as registry
from lakehouse_mlops.framework.decisions import decision_rows
from lakehouse_mlops.framework.examples import TimeWindows, labelled_examples
from lakehouse_mlops.framework.lineage import load_pinned
from lakehouse_mlops.framework.metrics import classification_metrics
from lakehouse_mlops.framework.usecase import parse_usecase
from lakehouse_mlops.pipelines.training import nodes as training_nodes

logger = logging.getLogger(__name__)
SHOWN_TAGS = (
    "test_roc_auc",
    "test_pr_auc",
    "test_brier",
    "gate.decision",
    "git_commit",
    "window.train_start",
    "window.test_start",
    "window.test_end",
    "run_id",
)


def status_lines(name: str) -> Iterator[str]:
    aliases = registry.aliases(name)
    if not aliases:
        yield f"model '{name}': no champion or challenger yet (run the training pipeline)"
        return
    for alias in (registry.CHAMPION, registry.CHALLENGER):
        version = aliases.get(alias)
        yield f"{alias:<10} {name} version {version or '-'}"
        if version is None:
            continue
        tags = registry.version_tags(name, version)
        for key in SHOWN_TAGS:
            if key in tags:
                yield f"    {key:<22} {tags[key]}"
        for key in sorted(k for k in tags if k.startswith(registry.LINEAGE_PREFIX)):
            yield f"    {key:<40} {tags[key]}"
    for move in registry.champion_history(name)[-5:]:
        yield (
            f"history    {move['at']} champion {move['previous'] or '-'} -> {move['version']} "
            f"by {move['by']}: {move['reason']}"
        )


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
