"""Performance per slice (as Databricks Lakehouse Monitoring's ``slicing_exprs``).

Each of the use case's slicing expressions (``usecase.monitoring.slices``: Spark SQL over the scored
rows and their features, e.g. ``region`` or ``amount > 1000``) splits a window by its value; every
value is a slice (``long_haul=true``; a null value is the slice ``long_haul=(null)``). Per slice:

- the deployed version's estimated performance on the monitored batch (CBPE with the version's
  calibrator, as the whole window's, without its bias correction: a slice's error history is short);
- once labels land, every version's realised performance on the labelled window, and the slice's
  estimation error (realised − the estimate stored when the window was monitored).

All expressions are counted in one Spark aggregate per kind (the rows are repeated once per
expression inside Spark). An expression with more than ``max_values`` values keeps its
``max_values − 1`` largest slices and adds the others up as ``(other)``: no row is left out. Slices
below ``min_rows`` rows are reported ``insufficient``. Slices are reported, never alarmed: the policy
decides on the whole window.
"""

from __future__ import annotations

from collections import defaultdict

from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import ArrayType, MapType, StructType

from lakehouse_mlops.framework.errors import ConfigError
from lakehouse_mlops.framework.usecase import SOURCE
from lakehouse_mlops.pipelines.monitoring.config import Performance, Slices
from lakehouse_mlops.pipelines.monitoring.drift import INSUFFICIENT, metric
from lakehouse_mlops.pipelines.monitoring.estimated import (
    ESTIMATED,
    estimated_rows,
    estimation_errors,
    expected_from_bins,
    scored_bins,
)
from lakehouse_mlops.pipelines.monitoring.estimation import Calibrator
from lakehouse_mlops.pipelines.monitoring.expressions import analysed_field
from lakehouse_mlops.pipelines.monitoring.performance import PERFORMANCE, bin_metrics, labelled_bins

SLICE_ESTIMATED, SLICE_PERFORMANCE = f"slice_{ESTIMATED}", f"slice_{PERFORMANCE}"
#: realised slice rows are compared with the estimated slice rows of the same label
ESTIMATE_OF_SLICE = {SLICE_PERFORMANCE: SLICE_ESTIMATED}
SLICING, SLICE = "_slicing", "_slice"
OTHER, NULL = "(other)", "(null)"
REALISED_METRICS = ("roc_auc", "pr_auc", "precision", "recall", "brier", "positive_rate", "predicted_rate")


def check_expressions(frame: DataFrame, slices: dict[str, str]) -> None:
    """Each expression must parse, name columns of ``frame`` and give one plain value per row (no
    aggregate, no array, map or struct); the error names its config key and Spark's reason."""
    # beside a row-level column an aggregate fails to analyse (alone it would be a global aggregate)
    anchor = F.col(frame.columns[0])
    for name, sql in slices.items():
        key = f"{SOURCE}: monitoring.slices.{name}"
        field = analysed_field(
            frame,
            lambda rows: rows.select(F.expr(sql), anchor),  # noqa: B023 - called at once
            key,
            sql,
            "a row-level Spark SQL expression over the scored rows",
        )
        if isinstance(field.dataType, ArrayType | MapType | StructType):
            raise ConfigError(
                f"{key}: `{sql}` gives {field.dataType.simpleString()}: a slice needs one plain value "
                "per row (a column, a comparison, a CASE expression)"
            )


def sliced(frame: DataFrame, slices: dict[str, str]) -> DataFrame:
    """``frame``'s rows once per slicing expression, with its name (``_slicing``) and the row's value
    as text (``_slice``; nulls as ``(null)``)."""
    pairs = [
        F.struct(F.lit(name).alias(SLICING), F.coalesce(F.expr(sql).cast("string"), F.lit(NULL)).alias(SLICE))
        for name, sql in slices.items()
    ]
    return frame.withColumn("_pair", F.explode(F.array(*pairs))).select("*", "_pair.*").drop("_pair")


def label(slicing: str, value: str) -> str:
    return f"{slicing}={value}"


def largest(groups: dict[tuple, list[dict]], max_values: int) -> dict[tuple, list[dict]]:
    """``groups`` keyed ``(slicing, slice, *rest)`` with their bins: per slicing, the ``max_values − 1``
    slices with the most rows and ``(other)`` holding the bins of the rest (all of them when they fit)."""
    rows: dict[tuple, float] = defaultdict(float)
    for (slicing, value, *_), bins in groups.items():
        rows[(slicing, value)] += sum(b["rows"] for b in bins)
    values: dict[str, list[str]] = defaultdict(list)
    for slicing, value in sorted(rows, key=lambda sv: (-rows[sv], sv[1])):
        values[slicing].append(value)
    kept = {
        (slicing, value)
        for slicing, ordered in values.items()
        for value in (ordered if len(ordered) <= max_values else ordered[: max_values - 1])
    }
    merged: dict[tuple, list[dict]] = defaultdict(list)
    for (slicing, value, *rest), bins in groups.items():
        merged[(slicing, value if (slicing, value) in kept else OTHER, *rest)].extend(bins)
    return dict(sorted(merged.items()))


def estimated_slice_rows(
    scored: DataFrame,
    slices: dict[str, str],
    predicted: str,
    calibrator: Calibrator,
    performance: Performance,
    settings: Slices,
) -> list[dict]:
    """Estimated metrics per slice of the rows one version scored (``probability``, ``predicted``)."""
    if not slices:
        return []
    bins = scored_bins(sliced(scored, slices), predicted, performance.score_bins, [SLICING, SLICE])
    per_slice = performance.model_copy(update={"min_labelled_rows": settings.min_rows})
    rows = []
    for (slicing, value), slice_bins in largest(bins, settings.max_values).items():
        expected, confusion = expected_from_bins(slice_bins, calibrator, performance.score_bins)
        rows += [
            {**r, "kind": SLICE_ESTIMATED, "feature": label(slicing, value)}
            for r in estimated_rows(expected, confusion, per_slice)
        ]
    return rows


def realised_slice_rows(
    labelled: DataFrame,
    slices: dict[str, str],
    target: str,
    predicted: str,
    performance: Performance,
    settings: Slices,
    batch: str,
) -> list[dict]:
    """Realised metrics per slice, window (``batch`` column) and version of the labelled rows."""
    if not slices:
        return []
    grouped = labelled_bins(
        sliced(labelled, slices), target, performance, predicted, [SLICING, SLICE, batch, "model_version"]
    )
    rows = []
    for (slicing, value, window, version), bins in largest(grouped, settings.max_values).items():
        measured = bin_metrics(bins, performance, predicted)
        n = int(measured["rows"])
        status = {"status": INSUFFICIENT} if n < settings.min_rows else {}
        rows += [
            {
                **metric(
                    SLICE_PERFORMANCE, label(slicing, value), name, measured[name], current_rows=n, **status
                ),
                "batch_id": window,
                "model_version": version,
            }
            for name in (*REALISED_METRICS, "rows")
        ]
    return rows


def slice_estimation_errors(realised: list[dict], stored_estimates: list[dict]) -> list[dict]:
    """realised − estimated per slice, for the windows whose labels landed now."""
    return estimation_errors(realised, stored_estimates, ESTIMATE_OF_SLICE)
