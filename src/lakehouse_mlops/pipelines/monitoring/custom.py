"""A use case's custom metrics: its Spark SQL aggregates over the scored batch and over the windows
whose labels landed, as metric rows (kind ``custom_metric``) with their bounds.

Every metric of one kind of rows is computed in one aggregate (one Spark job); each expression is
analysed on its own first (no job), so a wrong one is named by its config key before anything runs.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import BooleanType, NumericType

from lakehouse_mlops.framework.errors import ConfigError
from lakehouse_mlops.framework.usecase import SOURCE, CustomMetric
from lakehouse_mlops.pipelines.monitoring.drift import INSUFFICIENT
from lakehouse_mlops.pipelines.monitoring.expressions import analysed_field

CUSTOM = "custom_metric"
ROWS = "__rows"


def check_expressions(frame: DataFrame, metrics: dict[str, CustomMetric]) -> None:
    """Each expression must parse, name columns of ``frame`` and aggregate to a number; the error names
    the metric's key and Spark's reason."""
    for name, metric in metrics.items():
        key = f"{SOURCE}: monitoring.custom_metrics.{name}.sql"
        field = analysed_field(
            frame,
            lambda rows: rows.agg(F.expr(metric.sql)),  # noqa: B023 - called at once
            key,
            metric.sql,
            f"an aggregate Spark SQL can run over the {metric.over} rows",
        )
        if not isinstance(field.dataType, NumericType | BooleanType):
            raise ConfigError(
                f"{key}: `{metric.sql}` gives {field.dataType.simpleString()}, not a number: "
                "wrap it in an aggregate that counts or sums"
            )


def aggregate(frame: DataFrame, metrics: dict[str, CustomMetric], by: list[str]) -> list[dict]:
    """One row per group of ``by``: its rows (``__rows``) and every metric's value (one Spark job)."""
    if not metrics:
        return []
    check_expressions(frame, metrics)
    columns = [F.count(F.lit(1)).alias(ROWS), *(F.expr(m.sql).alias(n) for n, m in metrics.items())]
    grouped = frame.groupBy(*by) if by else frame
    return [r.asDict() for r in grouped.agg(*columns).collect()]


def custom_rows(values: dict, metrics: dict[str, CustomMetric]) -> list[dict]:
    """Metric rows of one aggregate's row: flagged when the value is below ``min`` or above ``max``
    (the bound it crossed is the row's threshold); ``insufficient`` when it is null (no rows, or an
    aggregate of nulls)."""
    rows = []
    for name, metric in metrics.items():
        value = values.get(name)
        value = None if value is None else float(value)
        below = value is not None and metric.min is not None and value < metric.min
        above = value is not None and metric.max is not None and value > metric.max
        bound = metric.min if below else metric.max if metric.max is not None else metric.min
        rows.append(
            {
                "kind": CUSTOM,
                "feature": metric.over,
                "metric": name,
                "value": value,
                "threshold": bound,
                "flagged": below or above,
                "status": INSUFFICIENT if value is None else "flagged" if below or above else "ok",
                "current_rows": int(values.get(ROWS) or 0),
            }
        )
    return rows


def custom_alarm(row: dict) -> str:
    """``expected_loss on the scored batch 2018-09: 1210.5 above its max 1000.0``."""
    side = "below its min" if row["value"] < row["threshold"] else "above its max"
    return (
        f"{row['metric']} on the {row['feature']} batch {row['batch_id']}: "
        f"{row['value']:.6g} {side} {row['threshold']:.6g}"
    )
