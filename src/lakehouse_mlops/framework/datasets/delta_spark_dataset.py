"""A Delta table as a Kedro dataset: append, overwrite, merge on keys, replace partitions, time travel."""

from __future__ import annotations

import logging
import os
import re
from functools import reduce
from typing import Any

import fsspec
from delta.tables import DeltaTable
from kedro.io.core import AbstractDataset, DatasetError, get_protocol_and_path
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import ArrayType, DataType, MapType, StructField, StructType

from lakehouse_mlops.framework.datasets.table_maintenance import (
    MaintenanceSpec,
    check_table_properties,
    parse_maintenance,
)
from lakehouse_mlops.framework.sql_text import sql_name

logger = logging.getLogger(__name__)

WRITE_MODES = ("append", "overwrite", "merge", "insert_new", "replace_partitions")
KEYED_MODES = ("merge", "insert_new")
IF_MISSING = ("error", "none")
SCHEMA_EVOLUTION = ("fail", "add_columns")
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
COMMIT_FILE = re.compile(r"\d{20}\.json")


class DeltaSparkDataset(AbstractDataset[DataFrame, DataFrame]):
    """Loads a Delta table as a Spark DataFrame and saves with declared table semantics.

    Write modes:
        - ``append``: add the rows.
        - ``overwrite``: replace the whole table.
        - ``merge``: upsert on ``merge_keys`` (``DeltaTable.merge``); matched rows are updated only
          when one of ``update_when_changed`` differs (all matched rows when it is empty), unmatched
          rows are inserted.
        - ``insert_new``: insert the rows whose ``merge_keys`` are not in the table yet and never
          change a stored row (the first write of a key wins; no commit when every key is present).
        - ``replace_partitions``: replace exactly the ``partition_by`` partitions present in the
          incoming rows (dynamic partition overwrite), e.g. one batch.

    Schema changes are never silent: a save whose columns are not the table's fails naming the
    columns, unless ``schema_evolution: add_columns`` lets new columns be added to the table (MERGE
    with schema evolution, or ``mergeSchema`` for the other modes). A column the table has and the
    rows lack always fails (it would be written as nulls).

    Every save records the committed table version in ``last_saved_version``; every load records
    the version read in ``last_loaded_version`` (lineage for MLflow). ``version`` pins loads to one
    table version (time travel). Empty writes to an existing table are skipped so that re-running
    a no-op run creates no new table version.

    Example catalog entry::

        silver_orders:
          type: lakehouse_mlops.framework.datasets.DeltaSparkDataset
          filepath: data/03_silver/orders
          write_mode: merge
          merge_keys: [order_id]
          update_when_changed: [_row_hash, _batch_id]
          partition_by: [order_month]
          schema_evolution: add_columns   # or fail (default): new columns are an error
          constraints:
            amount_positive: amount > 0
          not_null: [order_id, customer_id]
          column_comments:
            amount: Order total in the shop's currency.
          table_properties:             # retention for VACUUM and time travel (`kedro maintain`)
            delta.deletedFileRetentionDuration: interval 7 days
            delta.logRetentionDuration: interval 30 days
            delta.checkpointInterval: "10"
          maintenance:                  # all optional; the defaults shown
            optimize_min_small_files: 10   # OPTIMIZE once this many live files are small
            small_file_mb: 32
            vacuum: true

    A column comment can also come from the DataFrame (``F.col(c).alias(c, metadata={"comment": ...})``),
    so that tables built from definitions in conf document themselves.
    """

    def __init__(  # noqa: PLR0913 - mirrors the YAML keys
        self,
        *,
        filepath: str,
        write_mode: str = "append",
        merge_keys: list[str] | None = None,
        update_when_changed: list[str] | None = None,
        partition_by: list[str] | None = None,
        version: int | None = None,
        if_missing: str = "error",
        constraints: dict[str, str] | None = None,
        not_null: list[str] | None = None,
        column_comments: dict[str, str] | None = None,
        table_properties: dict[str, str] | None = None,
        schema_evolution: str = "fail",
        maintenance: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        if write_mode not in WRITE_MODES:
            raise DatasetError(f"write_mode '{write_mode}' is not one of {list(WRITE_MODES)}")
        if write_mode in KEYED_MODES and not merge_keys:
            raise DatasetError(f"write_mode '{write_mode}' needs merge_keys (the table's business key)")
        if write_mode == "replace_partitions" and not partition_by:
            raise DatasetError("write_mode 'replace_partitions' needs partition_by")
        for name in constraints or {}:
            if not IDENTIFIER.fullmatch(name):
                raise DatasetError(f"constraints: name '{name}' is not a plain identifier")
        if schema_evolution not in SCHEMA_EVOLUTION:
            raise DatasetError(
                f"schema_evolution '{schema_evolution}' is not one of {list(SCHEMA_EVOLUTION)}"
            )
        if if_missing not in IF_MISSING:
            raise DatasetError(f"if_missing '{if_missing}' is not one of {list(IF_MISSING)}")
        check_table_properties(dict(table_properties or {}), filepath)
        self.maintenance: MaintenanceSpec = parse_maintenance(maintenance, filepath)
        self._filepath = _absolute_if_local(filepath)
        self._write_mode = write_mode
        self._merge_keys = list(merge_keys or [])
        self._update_when_changed = list(update_when_changed or [])
        self._partition_by = list(partition_by or [])
        self._version = version
        self._if_missing = if_missing
        self._constraints = dict(constraints or {})
        self._not_null = list(not_null or [])
        self._column_comments = dict(column_comments or {})
        self._table_properties = dict(table_properties or {})
        self._add_columns = schema_evolution == "add_columns"
        self.metadata = metadata
        self.last_saved_version: int | None = None
        self.last_loaded_version: int | None = None

    @property
    def filepath(self) -> str:
        return self._filepath

    @property
    def table_properties(self) -> dict[str, str]:
        """The properties the catalog declares (CHECK constraints aside), as `kedro maintain` applies them."""
        return dict(self._table_properties)

    def _describe(self) -> dict[str, Any]:
        return {
            "filepath": self._filepath,
            "write_mode": self._write_mode,
            "merge_keys": self._merge_keys,
            "partition_by": self._partition_by,
            "version": self._version,
        }

    @staticmethod
    def _spark() -> SparkSession:
        return SparkSession.builder.getOrCreate()

    def _exists(self) -> bool:
        return DeltaTable.isDeltaTable(self._spark(), self._filepath)

    def current_version(self) -> int | None:
        """The latest committed version, read from the newest commit file in ``_delta_log``.

        Listing the log is much cheaper than ``DeltaTable.history()`` (a Spark job); every commit
        leaves a ``<version>.json`` there, and log cleanup keeps the newest ones.
        """
        fs, path = self._filesystem()
        log = f"{path.rstrip('/')}/_delta_log"
        if not fs.exists(log):
            return None
        versions = [
            int(name.rsplit("/", 1)[-1][:-5])
            for name in fs.ls(log, detail=False)
            if COMMIT_FILE.fullmatch(name.rsplit("/", 1)[-1])
        ]
        return max(versions) if versions else None

    def load(self) -> DataFrame | None:
        if not self._exists():
            if self._if_missing == "none":
                return None
            raise DatasetError(f"Delta table '{self._filepath}' does not exist yet")
        reader = self._spark().read.format("delta")
        if self._version is not None:
            reader = reader.option("versionAsOf", self._version)
        self.last_loaded_version = self._version if self._version is not None else self.current_version()
        return reader.load(self._filepath)

    def save(self, data: DataFrame) -> None:
        # A merge reads its input up to three times (emptiness, changed rows, MERGE): compute it once.
        cached = self._write_mode in KEYED_MODES
        if cached:
            data = data.persist()
        try:
            self._save_rows(data)
        finally:
            if cached:
                data.unpersist()

    def _save_rows(self, data: DataFrame) -> None:
        exists = self._exists()
        if exists and data.isEmpty():
            logger.info("%s: nothing to write, table left at its version", self._filepath)
            self.last_saved_version = self.current_version()
            return
        if not exists and not self._not_null:
            self._create_with_rows(data)
        else:
            if not exists:
                self._create_table(data)  # NOT NULL can only be declared before the first rows
            evolve = exists and self._schema_change(data)
            self._write_rows(data, into_new_table=not exists, evolve=evolve)
        self.last_saved_version = self.current_version()
        logger.info("%s: committed version %s", self._filepath, self.last_saved_version)

    def _schema_change(self, data: DataFrame) -> bool:
        """True when the rows bring columns the table lacks and ``add_columns`` allows adding them;
        any other difference fails here, naming the columns, before anything is written."""
        table = {
            f.name.lower() for f in self._spark().read.format("delta").load(self._filepath).schema.fields
        }
        rows = {f.name.lower(): f.name for f in data.schema.fields}
        new = sorted(name for key, name in rows.items() if key not in table)
        missing = sorted(name for name in table if name not in rows)
        if missing:
            raise DatasetError(
                f"Delta table '{self._filepath}': the rows lack column(s) {missing} of the table, which "
                "would be written as nulls: produce them, or migrate the table (drop or rename the columns)"
            )
        if new and not self._add_columns:
            raise DatasetError(
                f"Delta table '{self._filepath}': the rows bring new column(s) {new} the table does not "
                "have: declare `schema_evolution: add_columns` on its catalog entry to add them, or drop "
                "them from the rows (nothing was written)"
            )
        if new:
            logger.info(
                "%s: adding column(s) %s to the table (schema_evolution: add_columns)", self._filepath, new
            )
        return bool(new)

    def _write_rows(self, data: DataFrame, into_new_table: bool, evolve: bool = False) -> None:
        if self._write_mode in KEYED_MODES and not into_new_table:
            if not self._merge(data, evolve):
                logger.info("%s: every row already present, table left at its version", self._filepath)
        elif self._write_mode == "replace_partitions":
            self._writer(data, "overwrite", evolve).option("partitionOverwriteMode", "dynamic").save(
                self._filepath
            )
        else:  # append, overwrite, and the first merge into a new table (nothing to match yet)
            mode = "append" if self._write_mode in KEYED_MODES else self._write_mode
            self._writer(data, mode, evolve).save(self._filepath)

    def _writer(self, data: DataFrame, mode: str, evolve: bool = False):
        writer = data.write.format("delta").mode(mode)
        if evolve:  # new nullable columns are added to the table (schema_evolution: add_columns)
            writer = writer.option("mergeSchema", "true")
        if self._partition_by:
            writer = writer.partitionBy(*self._partition_by)
        return writer

    def _create_with_rows(self, data: DataFrame) -> None:
        """Create the table and write its first rows in one commit (CREATE TABLE AS SELECT).

        Half the commits of create-then-write, and no empty version 0. Delta makes every column of
        a table created from a query nullable, so tables with ``not_null`` use ``_create_table``.
        """
        columns = [
            F.col(f"`{f.name}`").alias(f.name, metadata={**f.metadata, "comment": comment})
            if (comment := self._column_comments.get(f.name))
            else F.col(f"`{f.name}`")
            for f in data.schema.fields
        ]
        writer = data.select(*columns).writeTo(f"delta.{sql_name(self._filepath)}").using("delta")
        if self._partition_by:
            writer = writer.partitionedBy(*[F.col(c) for c in self._partition_by])
        for key, value in self._properties().items():
            writer = writer.tableProperty(key, value)
        if self._fs_path_exists():
            # A first write that died before its commit left files but no table: start over.
            writer.createOrReplace()
        else:
            writer.create()

    def _fs_path_exists(self) -> bool:
        fs, path = self._filesystem()
        return fs.exists(path)

    def _filesystem(self) -> tuple[fsspec.AbstractFileSystem, str]:
        protocol, path = get_protocol_and_path(self._filepath)
        return fsspec.filesystem(protocol), path

    def _properties(self) -> dict[str, str]:
        """Table properties, CHECK constraints included (Delta keeps them as properties)."""
        checks = {f"delta.constraints.{name}": expr for name, expr in self._constraints.items()}
        return {**self._table_properties, **checks}

    def _create_table(self, data: DataFrame) -> None:
        """Create the empty table with its schema, comments, NOT NULL and CHECK constraints."""
        builder = DeltaTable.createIfNotExists(self._spark()).location(self._filepath)
        not_null = set(self._not_null)
        for field in data.schema.fields:
            builder = builder.addColumn(
                field.name,
                nullable_nested(field.dataType),
                nullable=field.name not in not_null,
                comment=self._column_comments.get(field.name) or field.metadata.get("comment"),
            )
        if self._partition_by:
            builder = builder.partitionedBy(*self._partition_by)
        # CHECK constraints are table properties in Delta; set at creation, they cost no extra commit.
        for key, value in self._properties().items():
            builder = builder.property(key, value)
        builder.execute()

    def _merge(self, data: DataFrame, evolve: bool = False) -> bool:
        """MERGE ``data`` on the keys; returns False when no row would change (no commit)."""
        target = DeltaTable.forPath(self._spark(), self._filepath)
        inserts_only = self._write_mode == "insert_new"
        if self._update_when_changed or inserts_only:
            # Delta commits even a merge that changes nothing; keep only new or changed rows.
            same = [*self._merge_keys, *([] if inserts_only else self._update_when_changed)]
            current = target.toDF().select(*same)
            data = data.join(current, _null_safe_equal(data, current, same), "left_anti")
            if data.isEmpty():
                return False
        on = reduce(
            lambda acc, cond: acc & cond,
            [F.col(f"target.`{k}`") == F.col(f"source.`{k}`") for k in self._merge_keys],
        )
        merge = target.alias("target").merge(data.alias("source"), on)
        if evolve:  # without it, Delta writes the old columns and drops the new ones silently
            merge = merge.withSchemaEvolution()
        if not inserts_only:
            merge = merge.whenMatchedUpdateAll(condition=self._changed_condition())
        merge.whenNotMatchedInsertAll().execute()
        return True

    def _changed_condition(self) -> Column | None:
        if not self._update_when_changed:
            return None
        return reduce(
            lambda acc, cond: acc | cond,
            [~F.col(f"target.`{c}`").eqNullSafe(F.col(f"source.`{c}`")) for c in self._update_when_changed],
        )


def _null_safe_equal(left: DataFrame, right: DataFrame, columns: list[str]) -> Column:
    return reduce(lambda acc, c: acc & c, [left[c].eqNullSafe(right[c]) for c in columns])


def _absolute_if_local(filepath: str) -> str:
    """Local paths made absolute (Delta SQL needs them); URIs such as s3://… are left alone."""
    protocol, _ = get_protocol_and_path(filepath)
    return os.path.abspath(filepath) if protocol == "file" and "://" not in filepath else filepath


def nullable_nested(data_type: DataType) -> DataType:
    """The type with every nested field nullable: Delta rejects NOT NULL inside arrays and maps."""
    if isinstance(data_type, StructType):
        return StructType(
            [StructField(f.name, nullable_nested(f.dataType), True, f.metadata) for f in data_type.fields]
        )
    if isinstance(data_type, ArrayType):
        return ArrayType(nullable_nested(data_type.elementType), True)
    if isinstance(data_type, MapType):
        return MapType(nullable_nested(data_type.keyType), nullable_nested(data_type.valueType), True)
    return data_type
