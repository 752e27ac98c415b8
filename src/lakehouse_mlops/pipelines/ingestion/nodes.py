"""Ingestion nodes: landing → bronze → silver + quarantine, and the nothing-lost audit."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from functools import reduce

from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from lakehouse_mlops.framework.datasets.landing_csv_dataset import LandedFile
from lakehouse_mlops.framework.errors import LandingFileError, NothingLostError
from lakehouse_mlops.framework.usecase import parse_usecase
from lakehouse_mlops.pipelines.ingestion import audit, bronze, silver
from lakehouse_mlops.pipelines.ingestion.rules import parse_rules
from lakehouse_mlops.pipelines.ingestion.validation import classify

logger = logging.getLogger(__name__)


def land_files_to_bronze(
    landing: Mapping[str, Callable[[], LandedFile]],
    bronze_state: DataFrame | None,
    ingestion: dict,
    usecase: dict,
    feed_name: str,
    file_suffix: str,
) -> tuple[DataFrame, list[dict]]:
    """Read the landing files not yet in bronze into raw rows with lineage columns.

    A file already in bronze (same path) is skipped; a new path with the content of an ingested
    file is reported as ``duplicate_file``; an unreadable file (empty, header lacking a column,
    outside a folder named as a batch of the use case's cadence) is reported as ``rejected`` and
    stays in landing.
    """
    rules, cadence = parse_rules(ingestion), parse_usecase(usecase).batch.cadence
    feed = rules.feed(feed_name)
    known = bronze.ingested_files(bronze_state)
    seen_sha = {sha: path for path, (_, sha) in known.items()}
    parts, reports = [], []
    for source_file, batch_id, load in bronze.new_partitions(landing, feed_name, file_suffix, known):
        problem = bronze.batch_problem(batch_id, cadence)
        landed = load() if problem is None else None
        if landed is not None and landed.sha256 in seen_sha:
            reports.append(
                bronze.FileReport(
                    feed_name,
                    batch_id,
                    source_file,
                    landed.sha256,
                    "duplicate_file",
                    f"same content as {seen_sha[landed.sha256]}",
                    0,
                )
            )
            continue
        header = bronze.read_header(landed, rules.delimiter) if landed is not None else None
        problem = problem or bronze.header_problem(header, feed)
        sha = landed.sha256 if landed is not None else None
        if problem:
            reports.append(
                bronze.FileReport(feed_name, batch_id, source_file, sha, "rejected", problem, None)
            )
            continue
        seen_sha[sha] = source_file
        parts.append(bronze.parse_rows(landed, header, feed, rules.delimiter, source_file, batch_id))
        reports.append(bronze.FileReport(feed_name, batch_id, source_file, sha, bronze.INGESTED, None, None))
    for report in reports:
        logger.info(
            "%s: %s%s",
            report.source_file,
            report.status,
            f" ({report.reason})" if report.reason else "",
        )
    rows = reduce(DataFrame.unionByName, parts) if parts else bronze.empty_bronze(feed)
    # The file log is written at the end of the run: after a run killed once its bronze append had
    # committed, the files are skipped as already ingested and would never be logged. Every file in
    # bronze is reported again (not logged here); entries already in the log are left untouched.
    in_bronze = [
        bronze.FileReport(feed_name, batch, path, sha, bronze.INGESTED, None, None)
        for path, (batch, sha) in known.items()
    ]
    return rows, [r.as_row() for r in [*in_bronze, *reports]]


def validate_batches(
    bronze_table: DataFrame,
    file_reports: list[dict],
    audit_state: DataFrame | None,
    ingestion: dict,
    feed_name: str,
    **references: DataFrame,
) -> tuple[DataFrame, DataFrame, list[dict]]:
    """Type and validate the bronze rows of every batch not yet audited as complete.

    Which files bronze holds per batch comes from the land node's reports (every file in bronze is
    reported), so finding the pending batches costs no scan of bronze.

    Returns the silver rows (to MERGE), the quarantine rows and the row count per disposition.
    """
    rules = parse_rules(ingestion)
    feed = rules.feed(feed_name)
    pending = audit.pending_batches(audit.files_by_batch(file_reports), audit_state, feed_name)
    rows = bronze_table.filter(F.col("_batch_id").isin(sorted(pending)))
    classified = classify(rows, feed, references, rules.null_tokens)
    # Counted, merged into silver and written to quarantine: computed once, not three times.
    disposed = silver.dispose(classified, feed).persist(StorageLevel.MEMORY_AND_DISK)
    counts = silver.disposition_counts(disposed) if pending else []
    return silver.silver_rows(disposed, feed), silver.quarantine_rows(disposed, feed_name), counts


def collect_quarantine(*quarantines: DataFrame) -> DataFrame:
    """One quarantine table for all feeds (partitioned by source table and batch)."""
    return reduce(DataFrame.unionByName, quarantines)


def audit_ingestion(quarantine_table: DataFrame | None, *per_feed, feeds: tuple[str, ...]) -> list[dict]:
    """Check rows landed = silver + quarantined + duplicates for each batch ingested now.

    ``per_feed``: every feed's disposition counts, then every feed's bronze table, then every
    feed's silver table, each in the order of ``feeds``.
    """
    n = len(feeds)
    counts, bronze_tables, silver_tables = per_feed[:n], per_feed[n : 2 * n], per_feed[2 * n :]
    return audit.audit_feeds(
        dict(zip(feeds, counts, strict=True)),
        dict(zip(feeds, bronze_tables, strict=True)),
        dict(zip(feeds, silver_tables, strict=True)),
        quarantine_table,
    )


def record_ingestion(audits: list[dict], *file_reports: list[dict]) -> tuple[DataFrame, DataFrame, dict]:
    """Audit rows and file log (every feed's file reports) as tables, plus a summary for the final check."""
    files = [row for rows in file_reports for row in rows]
    spark = SparkSession.getActiveSession() or SparkSession.builder.getOrCreate()
    summary = audit.summarize(audits, files)
    return (
        spark.createDataFrame(audits, audit.AUDIT_SCHEMA),
        spark.createDataFrame(files, audit.FILE_LOG_SCHEMA),
        summary,
    )


def enforce_nothing_lost(summary: dict) -> None:
    """Fail the run, loudly and by name, when a batch does not add up or a file was rejected."""
    for line in summary["lines"]:
        logger.info(line)
    if summary["mismatches"]:
        raise NothingLostError("rows were lost or double counted: " + "; ".join(summary["mismatches"]))
    if summary["rejected"]:
        raise LandingFileError(
            "landing file(s) could not be ingested (they stay in landing; fix or remove them and "
            "re-run): " + "; ".join(summary["rejected"])
        )
