"""Lineage: which Delta table versions and which code a run used, recorded in MLflow."""

from __future__ import annotations

import logging
from functools import cache

import mlflow

from lakehouse_mlops.framework.datasets import DeltaSparkDataset
from lakehouse_mlops.framework.model_registry import LINEAGE_PREFIX, RegistryError, git_commit

logger = logging.getLogger(__name__)


@cache
def _code_version() -> dict[str, str]:
    """The git commit of the code, looked up once per process (not once per table read)."""
    return git_commit()


def record_lineage(dataset, name: str, data, node_name: str) -> None:
    """Tag the active run with the table's path and version and log it as a dataset input.

    Does nothing outside an MLflow run (e.g. ingestion, whose tracking is disabled) or for
    datasets that are not Delta tables.
    """
    run = mlflow.active_run()
    if run is None or not isinstance(dataset, DeltaSparkDataset) or data is None:
        return
    version = dataset.last_loaded_version
    if version is None:
        return
    tags = {f"{LINEAGE_PREFIX}{name}.path": dataset.filepath, f"{LINEAGE_PREFIX}{name}.version": str(version)}
    tags.update(_code_version())
    mlflow.set_tags(tags)
    source = mlflow.data.from_spark(data, path=dataset.filepath, version=str(version), name=name)
    mlflow.log_input(source, context=node_name)
    logger.info("lineage: %s = %s @ version %s", name, dataset.filepath, version)


def load_pinned(version_tags: dict[str, str], table: str):
    """The table exactly as a model version read it: the path and Delta version in its lineage tags."""
    try:
        path = version_tags[f"{LINEAGE_PREFIX}{table}.path"]
        version = int(version_tags[f"{LINEAGE_PREFIX}{table}.version"])
    except KeyError as exc:
        raise RegistryError(f"the model version has no lineage for table '{table}'") from exc
    return DeltaSparkDataset(filepath=path, version=version).load()
