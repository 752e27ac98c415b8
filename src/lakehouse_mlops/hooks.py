"""Project hooks: thin adapters that call plain functions."""

from __future__ import annotations

import os

from kedro.framework.context import KedroContext
from kedro.framework.hooks import hook_impl

from lakehouse_mlops.framework.lakehouse_owner import claim_lakehouse
from lakehouse_mlops.framework.lineage import record_lineage
from lakehouse_mlops.pipeline_registry import use_session_config
from lakehouse_mlops.platform.spark_session import build_spark_session, spark_wanted


class UseCaseHooks:
    """The session's configuration (the selected use case, its feeds) is what the pipelines are
    built from: `kedro run --env …` or a conf tarball may select another use case than the cwd's."""

    @hook_impl
    def after_context_created(self, context: KedroContext) -> None:
        use_session_config(context.config_loader)
        conf = context.config_loader["globals"]
        claim_lakehouse(str(conf["lakehouse_root"]), conf["usecase_name"], context.project_path)


class SparkHooks:
    """Create the Delta-enabled SparkSession once per run from ``spark*.yml`` (not for commands that
    need no table: ``without_spark``)."""

    @hook_impl
    def after_context_created(self, context: KedroContext) -> None:
        # MLflow draws a progress bar per model download (every scoring run): noise in batch logs.
        os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
        if spark_wanted():
            build_spark_session(context.config_loader["spark"])


class LineageHooks:
    """Record, in the active MLflow run, the path and Delta version of every table a node reads."""

    def __init__(self) -> None:
        self._catalog = None

    @hook_impl
    def after_catalog_created(self, catalog) -> None:
        self._catalog = catalog

    @hook_impl
    def after_dataset_loaded(self, dataset_name: str, data, node) -> None:
        if self._catalog is not None:
            record_lineage(self._catalog.get(dataset_name), dataset_name, data, node.name)
