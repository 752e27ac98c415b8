"""Landing files → bronze rows: raw string values, lineage columns, each file exactly once."""

from __future__ import annotations

import csv
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import LongType, StringType, StructField, StructType, TimestampType

from lakehouse_mlops.framework.batches import SHAPES, Cadence, is_batch_id
from lakehouse_mlops.framework.datasets.landing_csv_dataset import LandedFile
from lakehouse_mlops.pipelines.ingestion.rules import FeedRules

MALFORMED_ENCODING, MALFORMED_BLANK, MALFORMED_FIELDS = "encoding", "blank", "field_count"
INGESTED = "ingested"  # a file report's status once its rows are in bronze
LINEAGE = StructType(
    [
        StructField("_batch_id", StringType(), False),
        StructField("_source_file", StringType(), False),
        StructField("_file_sha256", StringType(), False),
        StructField("_row_number", LongType(), False),
        StructField("_ingested_at", TimestampType(), False),
    ]
)


@dataclass(frozen=True)
class FileReport:
    """What happened to one landing file in this run."""

    feed: str
    batch_id: str
    source_file: str
    sha256: str | None
    status: str  # ingested | duplicate_file | rejected
    reason: str | None
    rows: int | None

    def as_row(self) -> dict:
        return asdict(self)


def bronze_schema(feed: FeedRules) -> StructType:
    """Every declared column as a raw string, the rescue columns, then the lineage columns."""
    raw = [StructField(c, StringType(), True) for c in feed.columns]
    rescue = [
        StructField("_rescued_data", StringType(), True),
        StructField("_corrupt_record", StringType(), True),
        StructField("_malformed", StringType(), True),
    ]
    return StructType(raw + rescue + LINEAGE.fields)


def ingested_files(bronze: DataFrame | None) -> dict[str, tuple[str, str]]:
    """source file → (batch id, sha256) of every file already in bronze (a small, distinct list)."""
    if bronze is None:
        return {}
    rows = bronze.select("_source_file", "_batch_id", "_file_sha256").distinct().collect()
    return {r["_source_file"]: (r["_batch_id"], r["_file_sha256"]) for r in rows}


def new_partitions(
    landing: Mapping[str, Callable[[], LandedFile]],
    feed_name: str,
    suffix: str,
    known: Mapping[str, tuple[str, str]],
) -> list[tuple[str, str, Callable[[], LandedFile]]]:
    """(source_file, batch_id, loader) of landing files not yet in bronze, in name order."""
    pending = []
    for partition_id in sorted(landing):
        source_file = f"{feed_name}/{partition_id}{suffix}"
        if source_file not in known:
            pending.append((source_file, partition_id.split("/")[0], landing[partition_id]))
    return pending


def read_header(landed: LandedFile, delimiter: str) -> list[str] | None:
    """Column names from the file's first line (BOM and CR stripped), None for an empty file."""
    if landed.first_line is None:
        return None
    text = landed.first_line.decode("utf-8", errors="replace").lstrip("\ufeff").rstrip("\r")
    return next(csv.reader([text], delimiter=delimiter))


def header_problem(header: list[str] | None, feed: FeedRules) -> str | None:
    """Why a file cannot be read at all, or None when its header is usable."""
    if header is None:
        return "empty file: no header line"
    duplicated = sorted({h for h in header if header.count(h) > 1})
    if duplicated:
        return f"header repeats column(s) {duplicated}"
    missing = [c for c in feed.columns if c not in header]
    if missing:
        return f"header lacks column(s) {missing} (header: {header})"
    return None


def parse_rows(
    landed: LandedFile,
    header: list[str],
    feed: FeedRules,
    delimiter: str,
    source_file: str,
    batch_id: str,
) -> DataFrame:
    """The file's data lines as bronze rows (columns by header name, extras rescued as JSON)."""
    ddl = ", ".join(f"`{h.replace('`', '``')}` STRING" for h in header) + ", _corrupt_record STRING"
    options = {
        "sep": delimiter,
        "mode": "PERMISSIVE",
        "columnNameOfCorruptRecord": "_corrupt_record",
    }
    line = F.regexp_replace("_line", "\r$", "")
    parsed = landed.lines.filter(F.col("_row_number") > 1).withColumn("_p", F.from_csv(line, ddl, options))
    extras = [h for h in header if h not in feed.columns]
    rescued = F.to_json(F.struct(*[F.col(f"_p.`{h}`") for h in extras])) if extras else F.lit(None)
    # Checked on the raw bytes: the CSV parser would silently turn invalid UTF-8 into U+FFFD.
    malformed = (
        F.when(~F.is_valid_utf8("_line"), F.lit(MALFORMED_ENCODING))
        .when(line == "", F.lit(MALFORMED_BLANK))
        .when(F.col("_p._corrupt_record").isNotNull(), F.lit(MALFORMED_FIELDS))
    )
    corrupt = F.when(malformed.isNotNull(), F.col("_line"))
    return parsed.select(
        *[F.col(f"_p.`{c}`").alias(c) for c in feed.columns],
        rescued.cast("string").alias("_rescued_data"),
        corrupt.alias("_corrupt_record"),
        malformed.alias("_malformed"),
        F.lit(batch_id).alias("_batch_id"),
        F.lit(source_file).alias("_source_file"),
        F.lit(landed.sha256).alias("_file_sha256"),
        F.col("_row_number"),
        F.current_timestamp().alias("_ingested_at"),
    )


def empty_bronze(feed: FeedRules) -> DataFrame:
    spark = SparkSession.getActiveSession() or SparkSession.builder.getOrCreate()
    return spark.createDataFrame([], bronze_schema(feed))


def batch_problem(batch_id: str, cadence: Cadence) -> str | None:
    if is_batch_id(batch_id, cadence):
        return None
    shape = SHAPES[cadence]
    return f"file is not inside a batch folder named {shape} ({cadence} batches; found '{batch_id}')"
