"""Project hooks: thin adapters that call plain functions."""

from __future__ import annotations

from kedro.framework.context import KedroContext
from kedro.framework.hooks import hook_impl

from lakehouse_mlops.spark_session import build_spark_session


class SparkHooks:
    """Create the Delta-enabled SparkSession once per run from ``spark*.yml``."""

    @hook_impl
    def after_context_created(self, context: KedroContext) -> None:
        build_spark_session(context.config_loader["spark"])
