"""The MLflow model registry as the project uses it: aliases, lineage tags, alias history."""

from __future__ import annotations

import getpass
import json
import os
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature
from mlflow.tracking import MlflowClient

from lakehouse_mlops.framework.errors import LakehouseError

CHAMPION, CHALLENGER = "champion", "challenger"
#: the candidate that passed the gate and waits for `kedro approve` (promotion.require_approval)
PENDING = "approved_pending"
HISTORY_TAG = "champion_history"
LINEAGE_PREFIX = "lineage."


class RegistryError(LakehouseError):
    """The registry does not hold what an operation needs (model, version, alias)."""


def git_commit(path: Path | None = None) -> dict[str, str]:
    """The code version: commit and whether the work tree had uncommitted changes."""
    cwd = str(path or Path.cwd())
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=cwd,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return {"git_commit": "unknown", "git_dirty": "unknown"}
    return {"git_commit": commit, "git_dirty": str(bool(dirty)).lower()}


def actor() -> str:
    """Who acts: the user signed in to the tracking server (MLFLOW_TRACKING_USERNAME), else the OS user."""
    if os.environ.get("MLFLOW_TRACKING_USERNAME"):
        return os.environ["MLFLOW_TRACKING_USERNAME"]
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def aliases(name: str) -> dict[str, str]:
    """alias → version of the registered model (empty when it does not exist yet)."""
    try:
        return {alias: str(v) for alias, v in MlflowClient().get_registered_model(name).aliases.items()}
    except MlflowException:
        return {}


def alias_version(name: str, alias: str) -> str | None:
    return aliases(name).get(alias)


def log_and_register(model: Any, example: pd.DataFrame, name: str, tags: dict[str, str]) -> dict:
    """Log the sklearn model in the active run (signature, input example), register a version,
    tag it with the run's lineage and ``tags``, and point the ``challenger`` alias at it."""
    run = mlflow.active_run()
    if run is None:
        raise RegistryError("no active MLflow run: run the training pipeline through Kedro")
    signature = infer_signature(example, model.predict_proba(example))
    info = mlflow.sklearn.log_model(
        model,
        name="model",
        signature=signature,
        input_example=example.head(5),
        serialization_format="cloudpickle",
        pyfunc_predict_fn="predict_proba",
        registered_model_name=name,
    )
    version = str(info.registered_model_version)
    client = MlflowClient()
    run_tags = client.get_run(run.info.run_id).data.tags
    lineage = {k: v for k, v in run_tags.items() if k.startswith(LINEAGE_PREFIX) or k.startswith("git_")}
    for key, value in {**lineage, **tags, "run_id": run.info.run_id}.items():
        client.set_model_version_tag(name, version, key, str(value))
    client.set_registered_model_alias(name, CHALLENGER, version)
    return {
        "name": name,
        "version": version,
        "run_id": run.info.run_id,
        "model_uri": f"models:/{name}/{version}",
    }


def champion_history(name: str) -> list[dict]:
    try:
        raw = MlflowClient().get_registered_model(name).tags.get(HISTORY_TAG, "[]")
    except MlflowException:
        return []
    return json.loads(raw)


def set_champion(name: str, version: str, who: str, why: str) -> dict:
    """Move ``champion`` to ``version`` and append the move (who, why, when) to the history."""
    client = MlflowClient()
    try:
        client.get_model_version(name, version)
    except MlflowException as exc:
        raise RegistryError(f"model '{name}' has no version {version}") from exc
    previous = alias_version(name, CHAMPION)
    client.set_registered_model_alias(name, CHAMPION, version)
    return _record_move(name, version, previous, who, why)


def ensure_champion(name: str, version: str, who: str, why: str) -> dict:
    """``version`` as champion with its move in the history, doing only what is missing.

    A promotion killed between its registry calls is completed by applying it again: the alias is
    not moved twice and the history gets no second (``version`` → ``version``) move, which would make
    a later rollback return to the same version.
    """
    if alias_version(name, CHAMPION) != version:
        return set_champion(name, version, who, why)
    history = champion_history(name)
    last = history[-1] if history else None
    if last is not None and last["version"] == version:
        move = last
    else:  # the alias moved, the history did not: the champion before is the last one recorded
        move = _record_move(name, version, last["version"] if last else None, who, why)
    client = MlflowClient()
    if client.get_model_version(name, version).tags.get("champion_since") != move["at"]:
        client.set_model_version_tag(name, version, "champion_since", move["at"])
    return move


def _record_move(name: str, version: str, previous: str | None, who: str, why: str) -> dict:
    move = {
        "version": version,
        "previous": previous,
        "by": who,
        "reason": why,
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    client = MlflowClient()
    history = [*champion_history(name), move]
    client.set_registered_model_tag(name, HISTORY_TAG, json.dumps(history[-50:]))
    client.set_model_version_tag(name, version, "champion_since", move["at"])
    return move


def set_pending(name: str, version: str) -> None:
    """Point ``approved_pending`` at ``version`` (it passed the gate and waits for an operator)."""
    MlflowClient().set_registered_model_alias(name, PENDING, version)


def clear_pending(name: str) -> None:
    MlflowClient().delete_registered_model_alias(name, PENDING)


def version_tags(name: str, version: str) -> dict[str, str]:
    try:
        return dict(MlflowClient().get_model_version(name, version).tags)
    except MlflowException as exc:
        raise RegistryError(f"model '{name}' has no version {version}") from exc


def version_for_tag(name: str, tag: str, value: str) -> str | None:
    """The newest version of ``name`` whose tag ``tag`` equals ``value``."""
    versions = MlflowClient().search_model_versions(f"name='{name}'")
    found = [v.version for v in versions if v.tags.get(tag) == value]
    return str(max(int(v) for v in found)) if found else None


def load_model(name: str, version: str):
    return mlflow.sklearn.load_model(f"models:/{name}/{version}")


def tag_decision(name: str, version: str, decision: str, reasons: list[str], metrics: dict) -> None:
    """Tag the gate's decision on the version; ``gate.decision`` last, as the mark that it is complete."""
    client = MlflowClient()
    client.set_model_version_tag(name, version, "gate.reasons", "; ".join(reasons)[:4000])
    client.set_model_version_tag(name, version, "gate.metrics", json.dumps(metrics)[:4000])
    client.set_model_version_tag(name, version, "gate.decision", decision)
