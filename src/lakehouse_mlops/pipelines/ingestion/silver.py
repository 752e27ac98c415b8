"""Classified bronze rows → silver rows, quarantine rows and duplicate counts."""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from lakehouse_mlops.framework.sql_text import sql_name, sql_string
from lakehouse_mlops.pipelines.ingestion.rules import FeedRules
from lakehouse_mlops.pipelines.ingestion.validation import FAILURES, RAW, failure

DISPOSITION = "_disposition"
SILVER, QUARANTINE, DUPLICATE, SUPERSEDED = "silver", "quarantine", "duplicate", "superseded"
#: dispositions written to the quarantine table (a superseded row is kept there, counted apart)
IN_QUARANTINE = (QUARANTINE, SUPERSEDED)
LINEAGE_COLUMNS = ["_batch_id", "_source_file", "_row_number", "_ingested_at"]
#: rows of one ingestion run share this timestamp: files of a later run are later versions
GENERATION = "_ingested_at"


def dispose(classified: DataFrame, feed: FeedRules) -> DataFrame:
    """Give every row one disposition: silver, quarantine (with reasons), duplicate or superseded.

    Rows are compared by business key. Files ingested in one run are one *generation*; a later run's
    file is a correction of what came before (a re-send, a fix):

    - within one generation, the same key with different values is ambiguous: every version of that
      generation is quarantined for a person to decide (an older accepted version stays);
    - across generations the latest unambiguous version wins; an older version with other values
      (ambiguous ones included: a later file settled them) is ``superseded`` (kept in the quarantine
      table, naming the file that replaced it), an exact copy of the winner is a counted ``duplicate``;
      a row that failed a rule and whose key a later file corrected is ``superseded`` as well, so the
      quarantine's open rows are those without a ``superseded`` rule.
    Across batches a key is an upsert (the later batch wins).
    """
    business = [F.col(c) for c in feed.columns] + [F.col(c) for c in feed.derived]
    rows = classified.withColumn("_row_hash", F.sha2(F.to_json(F.struct(*business)), 256)).withColumn(
        "_valid", F.size(FAILURES) == 0
    )
    valid = F.col("_valid")  # read before the failures below are added
    # The smallest and largest hash of a key's valid rows in one generation tell whether they disagree
    # (cheaper than collecting the set).
    valid_hash = F.when(valid, F.col("_row_hash"))
    by_key = Window.partitionBy(*feed.key)
    by_generation = Window.partitionBy(*feed.key, GENERATION)
    ambiguous = valid & (F.min(valid_hash).over(by_generation) != F.max(valid_hash).over(by_generation))
    rows = rows.withColumn("_ambiguous", ambiguous).withColumn(
        "_files", F.array_sort(F.collect_set("_source_file").over(by_generation))
    )
    candidate = valid & ~F.col("_ambiguous")
    latest = F.max(F.when(candidate, F.col(GENERATION))).over(by_key)
    in_latest = candidate & (F.col(GENERATION) == latest)
    rows = rows.withColumn("_winner_hash", F.max(F.when(in_latest, F.col("_row_hash"))).over(by_key))
    rows = rows.withColumn("_winner_file", F.max(F.when(in_latest, F.col("_source_file"))).over(by_key))
    # a generation older than the latest unambiguous one is settled: its conflicts were corrected
    settled = F.coalesce(F.col(GENERATION) < latest, F.lit(False))
    rows = rows.withColumn("_ambiguous", F.col("_ambiguous") & ~settled)
    winner = F.coalesce(
        valid & ~F.col("_ambiguous") & (F.col("_row_hash") == F.col("_winner_hash")), F.lit(False)
    )
    # an invalid row whose key a later file corrected is superseded too (its failures are kept)
    rows = rows.withColumn("_superseded", (valid & ~F.col("_ambiguous") & ~winner) | (~valid & settled))
    # the first copy of the winning version goes to silver: the oldest, so an unchanged row stays put
    copy = F.row_number().over(
        by_key.orderBy(F.when(winner, 0).otherwise(1), GENERATION, "_source_file", "_row_number")
    )
    key_text = "concat_ws('|', " + ", ".join(f"CAST({sql_name(k)} AS STRING)" for k in feed.key) + ")"
    key_words = f"concat({sql_string('key (' + ', '.join(feed.key) + ') = ')}, {key_text})"
    conflict_failure = failure(
        "unique_key",
        "+".join(feed.key),
        key_text,
        f"concat({key_words}, ' appears with different values in ', array_join(_files, ', '), "
        "' (every version is quarantined; land one corrected file to settle it)')",
    )
    superseded_failure = failure(
        "superseded",
        "+".join(feed.key),
        key_text,
        f"concat({key_words}, ': replaced by the version in ', _winner_file, "
        "' (landed later); this older version is kept here')",
    )
    return (
        rows.withColumn("_copy", copy)
        .withColumn(
            FAILURES,
            F.when(F.col("_ambiguous"), F.array(F.expr(conflict_failure)))
            .when(F.col("_superseded"), F.concat(F.array(F.expr(superseded_failure)), F.col(FAILURES)))
            .otherwise(F.col(FAILURES)),
        )
        .withColumn(
            DISPOSITION,
            F.when(F.col("_superseded"), F.lit(SUPERSEDED))
            .when(~valid | F.col("_ambiguous"), F.lit(QUARANTINE))
            .when(F.col("_copy") > 1, F.lit(DUPLICATE))
            .otherwise(F.lit(SILVER)),
        )
        .drop("_valid", "_ambiguous", "_files", "_winner_hash", "_winner_file", "_copy", "_superseded")
    )


def silver_rows(disposed: DataFrame, feed: FeedRules) -> DataFrame:
    """Typed business columns, derived columns and lineage, for the rows that pass."""
    return disposed.filter(F.col(DISPOSITION) == SILVER).select(
        *feed.columns, *feed.derived, "_row_hash", *LINEAGE_COLUMNS
    )


def quarantine_rows(disposed: DataFrame, feed_name: str) -> DataFrame:
    """The raw row and every rule it failed, with one readable reason line."""
    messages = F.transform(F.col(FAILURES), lambda f: f["message"])
    return disposed.filter(F.col(DISPOSITION).isin(*IN_QUARANTINE)).select(
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
