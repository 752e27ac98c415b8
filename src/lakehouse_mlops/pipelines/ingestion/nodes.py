"""Ingestion nodes: landing → bronze → silver + quarantine, and the nothing-lost audit."""

from __future__ import annotations

import csv
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import reduce

from py4j.protocol import Py4JError
from pyspark import StorageLevel
from pyspark.errors import PySparkException
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from lakehouse_mlops.framework.batches import Cadence
from lakehouse_mlops.framework.datasets.landing_csv_dataset import LandedFile
from lakehouse_mlops.framework.errors import LandingFileError, NothingLostError
from lakehouse_mlops.framework.usecase import parse_usecase
from lakehouse_mlops.pipelines.ingestion import audit, bronze, silver
from lakehouse_mlops.pipelines.ingestion.rules import FeedRules, parse_rules
from lakehouse_mlops.pipelines.ingestion.validation import classify

logger = logging.getLogger(__name__)


#: failures of reading one file (its bytes, its header, Spark's first look at it): that file is rejected
UNREADABLE = (csv.Error, UnicodeError, OSError, ValueError, PySparkException, Py4JError)


def read_settled_files(file_log_state: DataFrame | None) -> dict[str, dict[str, str]]:
    """The files the log settled with no data rows, per feed: read once for all feeds' landing."""
    return bronze.settled_files(file_log_state)


def read_audited_batches(audit_state: DataFrame | None) -> dict[str, dict[str, list[str]]]:
    """Each feed's batches and their files at their last successful audit: read once for all feeds."""
    return audit.audited_batches(audit_state)


def land_files_to_bronze(
    landing: Mapping[str, Callable[[], LandedFile]],
    bronze_state: DataFrame | None,
    settled_files: Mapping[str, Mapping[str, str]],
    ingestion: dict,
    usecase: dict,
    feed_name: str,
) -> tuple[DataFrame, list[dict]]:
    """Read the landing files not yet in bronze into raw rows with lineage columns.

    One file's problem never blocks the others: a file that cannot be read (empty, compressed,
    bare-CR line endings, a header lacking a column, outside a folder named as a batch of the use
    case's cadence, …) is reported as ``rejected`` and stays in landing. A file already in bronze
    is skipped when its SHA-256 is unchanged and reported as ``changed`` when it was edited in place
    (bronze keeps what was ingested; corrections land as a new file). A new path with the content
    of an ingested file is a ``duplicate_file``; a header-only file is logged once as ``no_rows``.
    """
    rules, cadence = parse_rules(ingestion), parse_usecase(usecase).batch.cadence
    feed = rules.feed(feed_name)
    known = bronze.ingested_files(bronze_state)
    settled = settled_files.get(feed_name, {})
    seen_sha = {sha: path for path, (_, sha) in known.items()}
    parts, reports = [], []
    for source_file, batch_id, load in bronze.landing_files(landing, feed_name):
        landing_file = LandingFile(source_file, batch_id, load)
        try:
            report, rows = _land_one(landing_file, feed, rules.delimiter, cadence, known, settled, seen_sha)
        except UNREADABLE as exc:
            reason = f"could not be read: {type(exc).__name__}: {(str(exc).splitlines() or [''])[0][:300]}"
            report, rows = landing_file.report(None, bronze.REJECTED, reason), None
        if report is None:
            continue
        if rows is not None:
            seen_sha[report.sha256] = source_file
            parts.append(rows)
        reports.append(report)
    for report in reports:
        reason = f" ({report.reason})" if report.reason else ""
        logger.info("%s: %s%s", report.source_file, report.status, reason)
    rows = reduce(DataFrame.unionByName, parts) if parts else bronze.empty_bronze(feed)
    # The file log is written at the end of the run: after a run killed once its bronze append had
    # committed, the files are skipped as already ingested and would never be logged. Every file in
    # bronze is reported again (not logged here); entries already in the log are left untouched.
    reported = {r.source_file for r in reports}
    in_bronze = [
        bronze.FileReport(feed_name, batch, path, sha, bronze.INGESTED, None, None)
        for path, (batch, sha) in known.items()
        if path not in reported
    ]
    return rows, [r.as_row() for r in [*in_bronze, *reports]]


@dataclass(frozen=True)
class LandingFile:
    """A file found in landing, before it is read."""

    source_file: str  # <feed>/<batch>/<name>, as landed
    batch_id: str
    load: Callable[[], LandedFile]

    def report(self, sha: str | None, status: str, reason: str | None = None, rows: int | None = None):
        feed_name = self.source_file.split("/")[0]
        return bronze.FileReport(feed_name, self.batch_id, self.source_file, sha, status, reason, rows)


def _land_one(
    landing_file: LandingFile,
    feed: FeedRules,
    delimiter: str,
    cadence: Cadence,
    known: Mapping[str, tuple[str, str]],
    settled: Mapping[str, str],
    seen_sha: Mapping[str, str],
) -> tuple[bronze.FileReport | None, DataFrame | None]:
    """What to do with one landing file: its report (None: nothing new) and its bronze rows."""
    source_file, report = landing_file.source_file, landing_file.report
    if source_file in known:  # checked first: a file ingested under older rules stays accepted
        landed = landing_file.load()
        ingested_sha = known[source_file][1]
        if landed.sha256 == ingested_sha:
            return None, None
        return report(
            landed.sha256,
            bronze.CHANGED,
            f"content changed since it was ingested (sha256 {ingested_sha[:12]}… → {landed.sha256[:12]}…): "
            "bronze keeps the ingested version; restore the file, and land corrections as a new file "
            "in the batch folder (the later file wins)",
        ), None
    problem = bronze.batch_problem(source_file, landing_file.batch_id, cadence)
    if problem:
        return report(None, bronze.REJECTED, problem), None
    landed = landing_file.load()
    if settled.get(source_file) == landed.sha256:
        return None, None
    if landed.sha256 in seen_sha:
        return report(
            landed.sha256, bronze.DUPLICATE_FILE, f"same content as {seen_sha[landed.sha256]}", 0
        ), None
    header, problem = bronze.header_of(landed, delimiter)
    problem = problem or bronze.header_problem(header, feed)
    if problem:
        return report(landed.sha256, bronze.REJECTED, problem), None
    if landed.line_count <= 1:
        return report(landed.sha256, bronze.NO_ROWS, "header only: no data rows", 0), None
    rows = bronze.parse_rows(landed, header, feed, delimiter, source_file, landing_file.batch_id)
    return report(landed.sha256, bronze.INGESTED), rows


def validate_batches(
    bronze_table: DataFrame,
    file_reports: list[dict],
    audited_batches: Mapping[str, Mapping[str, list[str]]],
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
    pending = audit.pending_batches(audit.files_by_batch(file_reports), audited_batches.get(feed_name, {}))
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
