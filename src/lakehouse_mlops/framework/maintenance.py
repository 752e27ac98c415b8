"""Lakehouse maintenance of one Delta table: its declared properties, compaction, VACUUM, under the
lineage guard.

The lineage guard keeps every table version that a registered model version (any alias or none) or a
stored reference profile pins readable by time travel. For each table the oldest pinned version's
commit time sets a floor: VACUUM's retention is widened to cover it (plus ``GUARD_MARGIN_HOURS``), so
no file that version reads is deleted, and the table's ``delta.deletedFileRetentionDuration`` (how
long tombstones stay in the log) and ``delta.logRetentionDuration`` (how long commits and checkpoints
stay) are widened to cover it too, so time travel to it keeps working between two maintenance runs.
A pin disappears only when its model version is deleted from the registry.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import unquote, urlparse

import fsspec
from delta.tables import DeltaTable
from kedro.io.core import get_protocol_and_path
from mlflow.tracking import MlflowClient
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from lakehouse_mlops.framework.datasets import DeltaSparkDataset
from lakehouse_mlops.framework.datasets.table_maintenance import (
    DEFAULT_HOURS,
    FILE_RETENTION,
    LOG_RETENTION,
    interval_days,
    interval_hours,
)
from lakehouse_mlops.framework.errors import LakehouseError
from lakehouse_mlops.framework.model_registry import LINEAGE_PREFIX
from lakehouse_mlops.framework.sql_text import sql_name, sql_string

#: the guard keeps this much more than the oldest pinned version's age (clock skew, slow commits)
GUARD_MARGIN_HOURS = 1
#: tables whose pins outlive their declared log retention get it widened by at least this much, so
#: that cycles between two maintenance runs (whose checkpoints clean the log) keep the pins
LOG_SLACK_HOURS = 24
RETENTION_CHECK = "spark.databricks.delta.retentionDurationCheck.enabled"


class MaintenanceError(LakehouseError):
    """A maintenance run cannot go ahead as asked (e.g. a retention below the safety check)."""


@dataclass
class TableReport:
    name: str
    live_files_before: int
    live_files_after: int
    disk_files_before: int
    disk_files_after: int
    bytes_freed: int
    optimized: bool
    vacuum_hours: float | None  # None: not vacuumed (``no_vacuum`` says why)
    pinned_version: int | None
    no_vacuum: str = ""

    def line(self) -> str:
        hours = self.vacuum_hours
        vacuum = f"no vacuum ({self.no_vacuum})" if hours is None else f"vacuum {hours:g}h"
        guard = f" (guard: v{self.pinned_version} pinned)" if self.pinned_version is not None else ""
        return (
            f"{self.name:<28} live files {self.live_files_before:>4} -> {self.live_files_after:<4} "
            f"files on disk {self.disk_files_before:>4} -> {self.disk_files_after:<4} "
            f"bytes freed {self.bytes_freed:>10}  {'optimized' if self.optimized else 'not optimized'}, "
            f"{vacuum}{guard}"
        )


def pinned_versions(model_names: Iterable[str], profiles: DataFrame | None) -> dict[str, int]:
    """Table path → the oldest Delta version still needed: pinned by the lineage tags of any version
    of ``model_names`` in the registry, or by a stored reference profile (``source_table``,
    ``source_version``)."""
    pins: dict[str, int] = {}

    def pin(path: str, version: int) -> None:
        pins[path] = min(version, pins.get(path, version))

    client = MlflowClient()
    for name in model_names:
        for model_version in client.search_model_versions(f"name='{name}'"):
            tags = model_version.tags
            for key, path in tags.items():
                if key.startswith(LINEAGE_PREFIX) and key.endswith(".path"):
                    version = tags.get(f"{key.removesuffix('.path')}.version")
                    if version is not None:
                        pin(path, int(version))
    if profiles is not None:
        oldest = profiles.groupBy("source_table").agg(F.min("source_version").alias("v")).collect()
        for row in oldest:
            if row["source_table"] is not None and row["v"] is not None:
                pin(row["source_table"], int(row["v"]))
    return pins


def guard_hours(commit_time: datetime, now: datetime) -> float:
    """The retention (hours) that keeps a version committed at ``commit_time`` readable at ``now``."""
    return float(math.ceil((now - commit_time).total_seconds() / 3600) + GUARD_MARGIN_HOURS)


def guarded_properties(declared: dict[str, str], current: dict[str, str], floor_hours: float | None) -> dict:
    """The retention properties to set: the catalog's, widened to ``floor_hours`` (the guard) where they
    would let a pinned version go; only what differs from the table's ``current`` properties."""
    wanted = dict(declared)
    if floor_hours is not None:
        for key, slack in ((FILE_RETENTION, 0), (LOG_RETENTION, LOG_SLACK_HOURS)):
            effective = _hours(wanted.get(key) or current.get(key), key)
            if effective < floor_hours + slack:
                wanted[key] = interval_days(floor_hours + max(slack, _hours(declared.get(key), key)))
    return {k: str(v) for k, v in wanted.items() if current.get(k) != str(v)}


def _hours(text: str | None, key: str) -> float:
    return interval_hours(text) if text else DEFAULT_HOURS[key]


def maintain_table(
    name: str,
    dataset: DeltaSparkDataset,
    pinned: int | None,
    retain_hours: float | None = None,
    now: datetime | None = None,
) -> TableReport:
    """Apply the declared properties, OPTIMIZE when the small-file bar is passed, VACUUM with the
    declared retention (or ``retain_hours``) widened by the guard to keep version ``pinned`` readable."""
    spark = SparkSession.builder.getOrCreate()
    table = DeltaTable.forPath(spark, dataset.filepath)
    spec = dataset.maintenance
    floor = guard_hours(_commit_time(table, pinned), now or datetime.now(UTC)) if pinned is not None else None
    current = table.detail().first()["properties"] or {}
    changes = guarded_properties(dataset.table_properties, current, floor)
    if changes:
        _set_properties(spark, dataset.filepath, changes)
    disk_before, bytes_before = _disk(dataset.filepath)
    live = _live_file_sizes(spark, dataset.filepath)
    small = sum(size < spec.small_file_mb * 2**20 for size in live)
    optimized = small >= spec.optimize_min_small_files
    if optimized:
        table.optimize().executeCompaction()
    hours, no_vacuum = None, "maintenance.vacuum: false"
    # a data file on storage that the current version does not read (VACUUM's only prey) exists only
    # after a compaction or when there are more data files than live ones
    if spec.vacuum and not optimized and disk_before <= len(live):
        no_vacuum = "every data file is live"
    elif spec.vacuum:
        declared = _hours({**current, **changes}.get(FILE_RETENTION), FILE_RETENTION)
        hours = max(retain_hours if retain_hours is not None else declared, floor or 0.0)
        _check_retention(spark, name, hours, declared)
        table.vacuum(hours)
    disk_after, bytes_after = _disk(dataset.filepath)
    # VACUUM never removes a live file: only a compaction changes them
    live_after = len(_live_file_sizes(spark, dataset.filepath)) if optimized else len(live)
    freed = bytes_before - bytes_after
    return TableReport(
        name, len(live), live_after, disk_before, disk_after, freed, optimized, hours, pinned, no_vacuum
    )


def _commit_time(table: DeltaTable, version: int) -> datetime:
    epoch = F.col("timestamp").cast("double")
    rows = table.history().filter(F.col("version") == version).select(epoch.alias("t")).collect()
    if not rows:  # the pinned version's commit is no longer in the log: keep everything there is
        rows = table.history().agg(F.min(epoch).alias("t")).collect()
    return datetime.fromtimestamp(rows[0]["t"], UTC)


def _check_retention(spark: SparkSession, name: str, hours: float, declared: float) -> None:
    checked = spark.conf.get(RETENTION_CHECK, "true").lower() == "true"
    if checked and hours < declared:
        raise MaintenanceError(
            f"table '{name}': VACUUM retention {hours:g}h is below its {FILE_RETENTION} ({declared:g}h), "
            f"which Delta refuses while {RETENTION_CHECK} is true: keep the declared retention (no "
            "--retain-hours), or set that Spark option to false if readers older than that are known gone"
        )


def _set_properties(spark: SparkSession, path: str, properties: dict[str, str]) -> None:
    # no typed builder sets properties of an existing table; keys and values were validated in the
    # dataset's constructor (or built here), so the statement only quotes them
    assignments = ", ".join(f"{sql_string(k)} = {sql_string(v)}" for k, v in sorted(properties.items()))
    spark.sql(f"ALTER TABLE delta.{sql_name(path)} SET TBLPROPERTIES ({assignments})")


def _live_file_sizes(spark: SparkSession, path: str) -> list[int]:
    """The sizes of the data files the table's current version reads."""
    fs, root = _filesystem(path)
    sizes = {_plain(p): info["size"] for p, info in fs.find(root, detail=True).items()}
    files = spark.read.format("delta").load(path).inputFiles()
    return [sizes.get(_plain(f), 0) for f in files]


def _disk(path: str) -> tuple[int, int]:
    """The table's data files on storage, live or not (the log aside: VACUUM itself adds commits to
    it), and their bytes."""
    fs, root = _filesystem(path)
    found = fs.find(root, detail=True)
    data = [info["size"] for p, info in found.items() if "/_delta_log/" not in p and p.endswith(".parquet")]
    return len(data), sum(data)


def _filesystem(path: str) -> tuple[fsspec.AbstractFileSystem, str]:
    protocol, root = get_protocol_and_path(path)
    return fsspec.filesystem(protocol), root


def _plain(uri: str) -> str:
    """A file's URI or path as the filesystem lists it (no scheme, no percent-escapes)."""
    parsed = urlparse(uri)
    path = parsed.path if parsed.scheme in ("", "file") else f"{parsed.netloc}{parsed.path}"
    return unquote(path).rstrip("/")
