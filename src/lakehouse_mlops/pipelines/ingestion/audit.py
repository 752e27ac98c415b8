"""The nothing-lost invariant: rows landed = rows in silver + quarantined + counted duplicates."""

from __future__ import annotations

from datetime import UTC, datetime

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

from lakehouse_mlops.pipelines.ingestion.silver import DUPLICATE, QUARANTINE, SILVER

OK, MISMATCH = "ok", "mismatch"
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


def pending_batches(bronze_table: DataFrame, audit_state: DataFrame | None, feed: str) -> set[str]:
    """Batches whose bronze files are not exactly the files of a successful audit."""
    files = (
        bronze_table.groupBy("_batch_id")
        .agg(F.array_sort(F.collect_set("_source_file")).alias("files"))
        .collect()
    )
    done = {}
    if audit_state is not None:
        rows = audit_state.filter((F.col("feed") == feed) & (F.col("status") == OK)).collect()
        done = {r["_batch_id"]: list(r["files"]) for r in rows}
    return {r["_batch_id"] for r in files if done.get(r["_batch_id"]) != list(r["files"])}


def _count_by_batch(table: DataFrame | None, batches: list[str]) -> dict[str, int]:
    if table is None or not batches:
        return {}
    rows = table.filter(F.col("_batch_id").isin(batches)).groupBy("_batch_id").count().collect()
    return {r["_batch_id"]: r["count"] for r in rows}


def audit_batches(
    counts: list[dict],
    bronze_table: DataFrame,
    silver_table: DataFrame | None,
    quarantine_table: DataFrame | None,
    feed: str,
) -> list[dict]:
    by_batch: dict[str, dict[str, int]] = {}
    for c in counts:
        by_batch.setdefault(c["batch_id"], {})[c["disposition"]] = c["rows"]
    batches = sorted(by_batch)
    landed, files = _bronze_by_batch(bronze_table, batches)
    in_silver = _count_by_batch(silver_table, batches)
    feed_quarantine = (
        quarantine_table.filter(F.col("source_table") == feed) if quarantine_table is not None else None
    )
    in_quarantine = _count_by_batch(feed_quarantine, batches)
    now = datetime.now(UTC).replace(tzinfo=None)
    rows = []
    for b in batches:
        got = by_batch[b]
        s, q, d = got.get(SILVER, 0), got.get(QUARANTINE, 0), got.get(DUPLICATE, 0)
        balanced = landed.get(b, 0) == s + q + d
        written = in_silver.get(b, 0) == s and in_quarantine.get(b, 0) == q
        rows.append(
            {
                "feed": feed,
                "_batch_id": b,
                "files": files.get(b, []),
                "landed": landed.get(b, 0),
                "silver": s,
                "quarantined": q,
                "duplicates": d,
                "silver_in_table": in_silver.get(b, 0),
                "quarantined_in_table": in_quarantine.get(b, 0),
                "status": OK if balanced and written else MISMATCH,
                "checked_at": now,
            }
        )
    return rows


def _bronze_by_batch(
    bronze_table: DataFrame, batches: list[str]
) -> tuple[dict[str, int], dict[str, list[str]]]:
    """Rows and files per batch, in one pass over the batches' bronze partitions."""
    rows = (
        bronze_table.filter(F.col("_batch_id").isin(batches))
        .groupBy("_batch_id")
        .agg(F.count("*").alias("rows"), F.array_sort(F.collect_set("_source_file")).alias("files"))
        .collect()
    )
    return (
        {r["_batch_id"]: r["rows"] for r in rows},
        {r["_batch_id"]: list(r["files"]) for r in rows},
    )


def summarize(audits: list[dict], files: list[dict]) -> dict:
    """Readable lines per feed and batch, plus the mismatches and rejected files by name."""
    lines = [
        f"{a['feed']:<9} {a['_batch_id']}: landed {a['landed']:>7} = silver {a['silver']:>7} "
        f"+ quarantined {a['quarantined']:>5} + duplicates {a['duplicates']:>4}  [{a['status']}]"
        for a in audits
    ]
    mismatches = [
        f"{a['feed']} {a['_batch_id']}: landed {a['landed']} != silver {a['silver']} + quarantined "
        f"{a['quarantined']} + duplicates {a['duplicates']} (tables hold silver "
        f"{a['silver_in_table']}, quarantine {a['quarantined_in_table']})"
        for a in audits
        if a["status"] != OK
    ]
    rejected = [f"{f['source_file']}: {f['reason']}" for f in files if f["status"] == "rejected"]
    skipped = [
        f"{f['source_file']}: skipped, {f['reason']}" for f in files if f["status"] == "duplicate_file"
    ]
    return {"lines": lines + skipped, "mismatches": mismatches, "rejected": rejected}
