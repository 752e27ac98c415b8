"""Classified bronze rows → silver rows, quarantine rows and duplicate counts."""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from lakehouse_mlops.pipelines.ingestion.rules import FeedRules
from lakehouse_mlops.pipelines.ingestion.validation import FAILURES, RAW, failure

DISPOSITION = "_disposition"
SILVER, QUARANTINE, DUPLICATE = "silver", "quarantine", "duplicate"
LINEAGE_COLUMNS = ["_batch_id", "_source_file", "_row_number", "_ingested_at"]


def dispose(classified: DataFrame, feed: FeedRules) -> DataFrame:
    """Give every row one disposition: silver, quarantine (with reasons) or duplicate.

    Within the rows being ingested, an exact copy of a valid row (same key, same values) is a
    counted duplicate; the same key with different values is ambiguous, so every version of it is
    quarantined for a person to decide. Across batches a key is an upsert (the later batch wins).
    """
    valid = F.size(FAILURES) == 0
    business = [F.col(c) for c in feed.columns] + [F.col(c) for c in feed.derived]
    rows = classified.withColumn("_row_hash", F.sha2(F.to_json(F.struct(*business)), 256))
    # One shuffle on the key: the smallest and largest hash of its valid rows tell whether they
    # disagree (cheaper than collecting the set); the row order tells which copy comes first.
    valid_hash = F.when(valid, F.col("_row_hash"))
    by_key = Window.partitionBy(*feed.key)
    in_order = by_key.orderBy(valid_hash.asc_nulls_last(), "_source_file", "_row_number")
    conflict = valid & (F.min(valid_hash).over(by_key) != F.max(valid_hash).over(by_key))
    copy = F.row_number().over(in_order)
    key_text = F.concat_ws("|", *[F.col(k).cast("string") for k in feed.key])
    conflict_failure = failure(
        "unique_key",
        "+".join(feed.key),
        key_text,
        F.concat(
            F.lit(f"key ({', '.join(feed.key)}) = "),
            key_text,
            F.lit(" appears in this batch with different values (every version is quarantined)"),
        ),
    )
    return (
        rows.withColumn("_conflict", conflict)
        .withColumn("_copy", copy)
        .withColumn(
            FAILURES, F.when(F.col("_conflict"), F.array(conflict_failure)).otherwise(F.col(FAILURES))
        )
        .withColumn(
            DISPOSITION,
            F.when(~valid | F.col("_conflict"), F.lit(QUARANTINE))
            .when(F.col("_copy") > 1, F.lit(DUPLICATE))
            .otherwise(F.lit(SILVER)),
        )
        .drop("_conflict", "_copy")
    )


def silver_rows(disposed: DataFrame, feed: FeedRules) -> DataFrame:
    """Typed business columns, derived columns and lineage, for the rows that pass."""
    return disposed.filter(F.col(DISPOSITION) == SILVER).select(
        *feed.columns, *feed.derived, "_row_hash", *LINEAGE_COLUMNS
    )


def quarantine_rows(disposed: DataFrame, feed_name: str) -> DataFrame:
    """The raw row and every rule it failed, with one readable reason line."""
    messages = F.transform(F.col(FAILURES), lambda f: f["message"])
    return disposed.filter(F.col(DISPOSITION) == QUARANTINE).select(
        F.lit(feed_name).alias("source_table"),
        "_batch_id",
        "_source_file",
        "_row_number",
        F.to_json(F.col(RAW)).alias("raw_values"),
        F.col(FAILURES).alias("failed_rules"),
        F.array_join(messages, "; ").alias("reason"),
        "_ingested_at",
        F.current_timestamp().alias("quarantined_at"),
    )


def disposition_counts(disposed: DataFrame) -> list[dict]:
    """Rows per batch and disposition (one small aggregate)."""
    counts = disposed.groupBy("_batch_id", DISPOSITION).count().collect()
    return [{"batch_id": r["_batch_id"], "disposition": r[DISPOSITION], "rows": r["count"]} for r in counts]
