"""A use case's Spark SQL in its conf (custom metrics, slices), analysed before any job runs."""

from __future__ import annotations

from collections.abc import Callable

from pyspark.errors import AnalysisException, ParseException
from pyspark.sql import DataFrame
from pyspark.sql.types import StructField

from lakehouse_mlops.framework.errors import ConfigError


def analysed_field(
    frame: DataFrame, query: Callable[[DataFrame], DataFrame], key: str, sql: str, what: str
) -> StructField:
    """The only field of ``query(frame)``, the query built on ``sql`` (analysis only, no Spark job); a
    ``sql`` Spark cannot parse or resolve is a ConfigError naming its config ``key``, Spark's reason and
    the columns of ``frame``. ``what``: what it should have been, e.g. "an aggregate over the rows"."""
    try:
        return query(frame).schema[0]
    except (AnalysisException, ParseException) as exc:
        reason = str(exc).splitlines()[0]
        raise ConfigError(
            f"{key}: `{sql}` is not {what} ({reason}); the columns there are {sorted(frame.columns)}"
        ) from exc
