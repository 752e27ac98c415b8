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
    row_hash = F.sha2(F.to_json(F.struct(*business)), 256)
    rows = classified.withColumn("_row_hash", row_hash)
    by_key = Window.partitionBy(*feed.key)
    by_copy = Window.partitionBy(*feed.key, "_row_hash").orderBy("_source_file", "_row_number")
    where = F.concat(F.col("_source_file"), F.lit(":"), F.col("_row_number").cast("string"))
    rows = (
        rows.withColumn("_versions", F.size(F.collect_set(F.when(valid, F.col("_row_hash"))).over(by_key)))
        .withColumn("_copy", F.row_number().over(by_copy))
        .withColumn("_key_rows", F.array_sort(F.collect_list(F.when(valid, where)).over(by_key)))
    )
    conflict = valid & (F.col("_versions") > 1)
    key_text = F.concat_ws("|", *[F.col(k).cast("string") for k in feed.key])
    conflict_failure = failure(
        "unique_key",
        "+".join(feed.key),
        key_text,
        F.concat(
            F.lit(f"key ({', '.join(feed.key)}) = "),
            key_text,
            F.lit(" appears with different values at "),
            F.array_join("_key_rows", ", "),
        ),
    )
    return (
        rows.withColumn(FAILURES, F.when(conflict, F.array(conflict_failure)).otherwise(F.col(FAILURES)))
        .withColumn(
            DISPOSITION,
            F.when(~valid | conflict, F.lit(QUARANTINE))
            .when(F.col("_copy") > 1, F.lit(DUPLICATE))
            .otherwise(F.lit(SILVER)),
        )
        .drop("_versions", "_copy", "_key_rows")
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
