"""The nothing-lost invariant: rows landed = rows in silver + quarantined + counted duplicates +
superseded (older versions replaced by a later file, kept in the quarantine table)."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import reduce

from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import (
    ArrayType,
    LongType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

from lakehouse_mlops.pipelines.ingestion.bronze import DUPLICATE_FILE, FAILED, IN_BRONZE
from lakehouse_mlops.pipelines.ingestion.silver import DUPLICATE, QUARANTINE, SILVER, SUPERSEDED

OK, MISMATCH = "ok", "mismatch"
BRONZE_TABLE, SILVER_TABLE, QUARANTINE_TABLE = "bronze", "silver", "quarantine"
AUDIT_SCHEMA = StructType(
    [
        StructField("feed", StringType(), False),
        StructField("_batch_id", StringType(), False),
        StructField("files", ArrayType(StringType()), False),
        StructField("landed", LongType(), False),
        StructField("silver", LongType(), False),
        StructField("quarantined", LongType(), False),
        StructField("duplicates", LongType(), False),
        StructField("silver_in_table", LongType(), False),
        StructField("quarantined_in_table", LongType(), False),
        StructField("status", StringType(), False),
        StructField("checked_at", TimestampType(), False),
        StructField("superseded", LongType(), True),  # null in audits written before it was counted
    ]
)
FILE_LOG_SCHEMA = StructType(
    [
        StructField("feed", StringType(), False),
        StructField("batch_id", StringType(), False),
        StructField("source_file", StringType(), False),
        StructField("sha256", StringType(), True),
        StructField("status", StringType(), False),
        StructField("reason", StringType(), True),
        StructField("rows", LongType(), True),
    ]
)


def files_by_batch(file_reports: list[dict]) -> dict[str, list[str]]:
    """batch → sorted files in bronze, from the land node's reports (no scan of bronze needed)."""
    files: dict[str, list[str]] = {}
    for report in file_reports:
        if report["status"] in IN_BRONZE:
            files.setdefault(report["batch_id"], []).append(report["source_file"])
    return {batch: sorted(names) for batch, names in files.items()}


def audited_batches(audit_state: DataFrame | None) -> dict[str, dict[str, list[str]]]:
    """feed → batch → its files at its last successful audit, for every feed in one read of the audit."""
    if audit_state is None:
        return {}
    audited: dict[str, dict[str, list[str]]] = {}
    for r in audit_state.filter(F.col("status") == OK).select("feed", "_batch_id", "files").collect():
        audited.setdefault(r["feed"], {})[r["_batch_id"]] = list(r["files"])
    return audited


def pending_batches(in_bronze: dict[str, list[str]], audited: dict[str, list[str]]) -> set[str]:
    """Batches whose bronze files are not exactly the files of a successful audit (``audited``: one
    feed's entry of :func:`audited_batches`)."""
    return {batch for batch, files in in_bronze.items() if audited.get(batch) != files}


def audit_feeds(
    counts: dict[str, list[dict]],
    bronze: dict[str, DataFrame],
    silver: dict[str, DataFrame | None],
    quarantine: DataFrame | None,
) -> list[dict]:
    """One audit row per feed and batch ingested now: landed = silver + quarantined + duplicates,
    and the tables hold what the validation said it wrote.

    One grouped count for all feeds and tables (bronze rows and files, silver rows, quarantine rows
    of the batches being audited), not one per table or feed.
    """
    by_batch: dict[tuple[str, str], dict[str, int]] = {}
    for feed, rows in counts.items():
        for c in rows:
            by_batch.setdefault((feed, c["batch_id"]), {})[c["disposition"]] = c["rows"]
    if not by_batch:
        return []
    batches = {feed: sorted(b for f, b in by_batch if f == feed) for feed in counts}
    tables = _table_counts(bronze, {f: t for f, t in silver.items() if t is not None}, quarantine, batches)
    landed, in_silver, in_quarantine = (
        {(feed, batch): c["rows"] for (t, feed, batch), c in tables.items() if t == table}
        for table in (BRONZE_TABLE, SILVER_TABLE, QUARANTINE_TABLE)
    )
    files = {(feed, batch): c["files"] for (t, feed, batch), c in tables.items() if t == BRONZE_TABLE}
    now = datetime.now(UTC).replace(tzinfo=None)
    rows = []
    for feed, batch in sorted(by_batch):
        got, key = by_batch[feed, batch], (feed, batch)
        s, q, d, sup = (got.get(k, 0) for k in (SILVER, QUARANTINE, DUPLICATE, SUPERSEDED))
        balanced = landed.get(key, 0) == s + q + d + sup
        written = in_silver.get(key, 0) == s and in_quarantine.get(key, 0) == q + sup
        rows.append(
            {
                "feed": feed,
                "_batch_id": batch,
                "files": files.get(key, []),
                "landed": landed.get(key, 0),
                "silver": s,
                "quarantined": q,
                "duplicates": d,
                "superseded": sup,
                "silver_in_table": in_silver.get(key, 0),
                "quarantined_in_table": in_quarantine.get(key, 0),
                "status": OK if balanced and written else MISMATCH,
                "checked_at": now,
            }
        )
    return rows


def _of_batches(tables: dict[str, DataFrame], batches: dict[str, list[str]]) -> list[DataFrame]:
    """Each feed's table restricted to the batches being audited, tagged with the feed's name."""
    return [
        table.filter(F.col("_batch_id").isin(batches[feed])).withColumn("_feed", F.lit(feed))
        for feed, table in tables.items()
        if batches.get(feed)
    ]


def _table_counts(
    bronze: dict[str, DataFrame],
    silver: dict[str, DataFrame],
    quarantine: DataFrame | None,
    batches: dict[str, list[str]],
) -> dict[tuple[str, str, str], dict]:
    """(table, feed, batch) → rows, and for bronze the batch's sorted files: one query over the audited
    batches of every feed's bronze and silver tables and of the quarantine."""
    no_file = F.lit(None).cast("string")
    parts = [
        p.select(F.lit(table).alias("_table"), "_feed", "_batch_id", file.alias("_file"))
        for table, tables, file in (
            (BRONZE_TABLE, bronze, F.col("_source_file")),
            (SILVER_TABLE, silver, no_file),
        )
        for p in _of_batches(tables, batches)
    ]
    if quarantine is not None:
        wanted = reduce(
            lambda acc, cond: acc | cond,
            [(F.col("source_table") == f) & F.col("_batch_id").isin(b) for f, b in batches.items() if b],
        )
        parts.append(
            quarantine.filter(wanted).select(
                F.lit(QUARANTINE_TABLE).alias("_table"),
                F.col("source_table").alias("_feed"),
                "_batch_id",
                no_file.alias("_file"),
            )
        )
    if not parts:
        return {}
    rows = (
        reduce(DataFrame.unionByName, parts)
        .groupBy("_table", "_feed", "_batch_id")
        .agg(F.count("*").alias("rows"), F.array_sort(F.collect_set("_file")).alias("files"))
        .collect()
    )
    return {(r._table, r._feed, r._batch_id): {"rows": r.rows, "files": list(r.files)} for r in rows}


def summarize(audits: list[dict], files: list[dict]) -> dict:
    """Readable lines per feed and batch, plus the mismatches and rejected files by name."""
    lines = [
        f"{a['feed']:<9} {a['_batch_id']}: landed {a['landed']:>7} = silver {a['silver']:>7} "
        f"+ quarantined {a['quarantined']:>5} + duplicates {a['duplicates']:>4} "
        f"+ superseded {a['superseded']:>4}  [{a['status']}]"
        for a in audits
    ]
    mismatches = [
        f"{a['feed']} {a['_batch_id']}: landed {a['landed']} != silver {a['silver']} + quarantined "
        f"{a['quarantined']} + duplicates {a['duplicates']} + superseded {a['superseded']} (tables hold "
        f"silver {a['silver_in_table']}, quarantine {a['quarantined_in_table']}; files {a['files']})"
        for a in audits
        if a["status"] != OK
    ]
    rejected = [f"{f['source_file']}: {f['reason']}" for f in files if f["status"] in FAILED]
    skipped = [f"{f['source_file']}: skipped, {f['reason']}" for f in files if f["status"] == DUPLICATE_FILE]
    return {"lines": lines + skipped, "mismatches": mismatches, "rejected": rejected}
