"""Copy one registered model version from one MLflow registry to another (the exceptional path).

The default is "deploy code, not models": every environment trains its own model on its own data and
promotes it through its own gate. When a version must nevertheless move (say staging → prod, or a
workspace registry → Unity Catalog), this copies its artifacts into a run of a destination
experiment, registers them as a new version of the destination model and records where it came
from. It never moves a destination alias: whether the copy serves is the destination's gate (or an
operator's recorded ``promote --force``), not a side effect of the copy.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import mlflow
from mlflow.entities import LoggedModelOutput, Metric, Param, Run
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.models import Model
from mlflow.protos.databricks_pb2 import RESOURCE_ALREADY_EXISTS, ErrorCode
from mlflow.tracking import MlflowClient

from lakehouse_mlops.framework.errors import LakehouseError
from lakehouse_mlops.framework.model_registry import actor

TAG_PREFIX = "transfer."
# Version tags that record the source registry's own decisions: carried over under TAG_PREFIX so a
# copy never looks as if the destination's gate had judged it (the cycle reads `gate.decision`).
REGISTRY_LOCAL_TAGS = ("gate.", "champion_since")
DATABRICKS_REGISTRIES = ("databricks", "databricks-uc", "uc")
# mlflow's per-request limits of log_batch
PARAMS_PER_BATCH, METRICS_PER_BATCH = 100, 1000


class TransferError(LakehouseError):
    """The source version cannot be found, or the request is ambiguous."""


@dataclass(frozen=True)
class Endpoint:
    """One side of a copy: a tracking server (runs, artifacts) and its model registry."""

    tracking_uri: str
    registry_uri: str | None = None  # None: the tracking server's own registry
    # environment variables only this side's requests see (MLFLOW_TRACKING_USERNAME/PASSWORD): two
    # servers with two logins in one process; Databricks sides select theirs by databricks://<profile>
    credentials: Mapping[str, str] | None = None

    def client(self) -> MlflowClient:
        # explicit registry: an MLFLOW_REGISTRY_URI in the environment must not redirect the copy
        return MlflowClient(
            tracking_uri=self.tracking_uri, registry_uri=self.registry_uri or self.tracking_uri
        )

    @property
    def public_uri(self) -> str:
        """The tracking URI without any user:password, safe to record in a tag."""
        parts = urlsplit(self.tracking_uri)
        if parts.username is None and parts.password is None:
            return self.tracking_uri
        return urlunsplit(parts._replace(netloc=parts.hostname + (f":{parts.port}" if parts.port else "")))


@dataclass(frozen=True)
class CopiedVersion:
    source_name: str
    source_version: str
    name: str
    version: str
    run_id: str
    model_id: str
    aliases: dict[str, str]  # the destination model's aliases after the copy (unchanged by it)

    @property
    def model_uri(self) -> str:
        return f"models:/{self.name}/{self.version}"


@contextmanager
def _credentials(variables: Mapping[str, str] | None) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in variables or {}}
    os.environ.update({key: str(value) for key, value in (variables or {}).items()})
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _chunks(items: Sequence, size: int) -> Iterator[Sequence]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclass(frozen=True)
class _Source:
    """What the copy takes from the source registry, read with the source's login only."""

    version: ModelVersion
    run: Run | None
    metric_history: list[Metric]
    logged_model_name: str
    model_dir: Path


def copy_model_version(
    source: Endpoint,
    source_name: str,
    destination: Endpoint,
    name: str,
    *,
    version: str | None = None,
    alias: str | None = None,
    experiment: str,
) -> CopiedVersion:
    """Copy version ``version`` (or the one ``alias`` points at) of ``source_name`` in ``source`` to a
    new version of ``name`` in ``destination``, logged in a run of ``experiment`` there."""
    if (version is None) == (alias is None):
        raise TransferError("name the source version with exactly one of a version number or an alias")
    with tempfile.TemporaryDirectory(prefix="model-transfer-") as tmp:
        with _credentials(source.credentials):
            read = _read_source(source, source_name, version, alias, Path(tmp))
        provenance = {
            f"{TAG_PREFIX}source_uri": source.public_uri,
            f"{TAG_PREFIX}source_registry_uri": source.registry_uri or source.public_uri,
            f"{TAG_PREFIX}source_model": source_name,
            f"{TAG_PREFIX}source_version": str(read.version.version),
            f"{TAG_PREFIX}source_alias": alias or "",
            f"{TAG_PREFIX}source_run_id": read.version.run_id or "",
            f"{TAG_PREFIX}copied_by": actor(),
            f"{TAG_PREFIX}copied_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        with _credentials(destination.credentials):
            return _write_destination(destination, name, experiment, read, provenance)


def _read_source(source: Endpoint, name: str, version: str | None, alias: str | None, tmp: Path) -> _Source:
    client = source.client()
    try:
        picked = (
            client.get_model_version_by_alias(name, alias)
            if alias is not None
            else client.get_model_version(name, str(version))
        )
    except MlflowException as exc:
        what = f"alias '{alias}'" if alias is not None else f"version {version}"
        raise TransferError(f"model '{name}' at {source.public_uri} has no {what}: {exc.message}") from exc
    try:
        run = client.get_run(picked.run_id) if picked.run_id else None
    except MlflowException:
        run = None  # a deleted run (or one in another workspace) still leaves a copyable version
    # every step of every metric (trial-loss curves included), not only the latest values
    history = (
        [p for key in run.data.metrics for p in client.get_metric_history(run.info.run_id, key)]
        if run
        else []
    )
    try:
        logged_name = client.get_logged_model(picked.model_id).name if picked.model_id else "model"
    except MlflowException:
        logged_name = "model"  # registered from a run's artifacts (MLflow 2): no logged model entity
    model_dir = _download(source, client, picked, tmp)
    return _Source(picked, run, history, logged_name, model_dir)


def _download(source: Endpoint, client: MlflowClient, picked: ModelVersion, tmp: Path) -> Path:
    registry = source.registry_uri or source.tracking_uri
    if registry.split(":", 1)[0] in DATABRICKS_REGISTRIES:
        # mlflow resolves models:/ through the given registry (and its temporary credentials) here
        uri = f"models:/{picked.name}/{picked.version}"
    else:
        # ...but for other registries it asks the process-wide one: resolve the location ourselves
        uri = client.get_model_version_download_uri(picked.name, picked.version)
        if uri.startswith("models:/"):
            uri = client.get_logged_model(picked.model_id).artifact_location
    return Path(
        mlflow.artifacts.download_artifacts(
            artifact_uri=uri, dst_path=str(tmp), tracking_uri=source.tracking_uri, registry_uri=registry
        )
    )


def _experiment_id(client: MlflowClient, experiment: str) -> str:
    found = client.get_experiment_by_name(experiment)
    return found.experiment_id if found is not None else client.create_experiment(experiment)


def _ensure_registered_model(client: MlflowClient, name: str) -> None:
    try:
        client.create_registered_model(name)
    except MlflowException as exc:
        if exc.error_code != ErrorCode.Name(RESOURCE_ALREADY_EXISTS):
            raise


def _version_tags(source_tags: Mapping[str, str], provenance: dict[str, str], run_id: str) -> dict[str, str]:
    tags = {}
    for key, value in source_tags.items():
        local = key.startswith(REGISTRY_LOCAL_TAGS)
        tags[f"{TAG_PREFIX}source.{key}" if local else key] = value
    # the project reads `run_id` to find a version's run: it must name the run in this registry
    return {**tags, **provenance, "run_id": run_id}


def _write_destination(
    destination: Endpoint, name: str, experiment: str, read: _Source, provenance: dict[str, str]
) -> CopiedVersion:
    client = destination.client()
    experiment_id = _experiment_id(client, experiment)
    run = read.run
    run_tags = {k: v for k, v in (run.data.tags.items() if run else []) if not k.startswith("mlflow.")}
    created = client.create_run(
        experiment_id,
        run_name=f"copy of {read.version.name} v{read.version.version}",
        tags={**run_tags, **provenance},
    )
    run_id = created.info.run_id
    try:
        params = [Param(k, v) for k, v in (run.data.params.items() if run else [])]
        for chunk in _chunks(params, PARAMS_PER_BATCH):
            client.log_batch(run_id, params=chunk)
        for chunk in _chunks(read.metric_history, METRICS_PER_BATCH):
            client.log_batch(run_id, metrics=[Metric(m.key, m.value, m.timestamp, m.step) for m in chunk])
        if run is not None and run.inputs and run.inputs.dataset_inputs:
            client.log_inputs(run_id, datasets=list(run.inputs.dataset_inputs))
        logged = client.create_logged_model(
            experiment_id, name=read.logged_model_name, source_run_id=run_id, tags=provenance
        )
        # the downloaded MLmodel names the source's run and logged model; the copy names its own
        model = Model.load(read.model_dir)
        model.run_id, model.model_id = run_id, logged.model_id
        model.save(read.model_dir / "MLmodel")
        client.log_model_artifacts(logged.model_id, str(read.model_dir))
        client.finalize_logged_model(logged.model_id, "READY")
        client.log_outputs(run_id, [LoggedModelOutput(logged.model_id, step=0)])
        _ensure_registered_model(client, name)
        copied = client.create_model_version(
            name,
            # the location, not models:/<id>: a SQL registry resolves that through the process-wide
            # tracking URI (mlflow's own TODO), which is not the destination's
            source=logged.artifact_location,
            run_id=run_id,
            tags=_version_tags(read.version.tags, provenance, run_id),
            model_id=logged.model_id,
            description=(
                f"Copy of {read.version.name} version {read.version.version} from "
                f"{provenance[f'{TAG_PREFIX}source_uri']}; serves only once this registry promotes it."
            ),
        )
    except BaseException:
        client.set_terminated(run_id, "FAILED")
        raise
    client.set_terminated(run_id, "FINISHED")
    aliases = {alias: str(v) for alias, v in client.get_registered_model(name).aliases.items()}
    return CopiedVersion(
        source_name=read.version.name,
        source_version=str(read.version.version),
        name=name,
        version=str(copied.version),
        run_id=run_id,
        model_id=logged.model_id,
        aliases=aliases,
    )
