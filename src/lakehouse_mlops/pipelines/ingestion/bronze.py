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
from lakehouse_mlops.framework.sql_text import sql_name
from lakehouse_mlops.pipelines.ingestion.rules import FeedRules

MALFORMED_ENCODING, MALFORMED_BLANK, MALFORMED_FIELDS = "encoding", "blank", "field_count"
# a file report's status
INGESTED = "ingested"  # its rows are in bronze
NO_ROWS = "no_rows"  # a header and no data line: recorded once, never re-read
DUPLICATE_FILE = "duplicate_file"  # the same bytes as a file already in bronze
REJECTED = "rejected"  # unreadable: stays in landing, named in the run's error
CHANGED = "changed"  # in bronze, but the landed file was edited in place: named in the run's error
IN_BRONZE = (INGESTED, CHANGED)
FAILED = (REJECTED, CHANGED)
GZIP_MAGIC = b"\x1f\x8b"
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
    status: str  # one of the statuses above
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


def settled_files(file_log: DataFrame | None) -> dict[str, dict[str, str]]:
    """feed → source file → sha256 of the files logged with no data rows (never in bronze), for every
    feed in one read of the log."""
    if file_log is None:
        return {}
    settled: dict[str, dict[str, str]] = {}
    for r in file_log.filter(F.col("status") == NO_ROWS).select("feed", "source_file", "sha256").collect():
        settled.setdefault(r["feed"], {})[r["source_file"]] = r["sha256"]
    return settled


def landing_files(
    landing: Mapping[str, Callable[[], LandedFile]], feed_name: str
) -> list[tuple[str, str, Callable[[], LandedFile]]]:
    """(source file, batch folder, loader) of every landing file, in name order."""
    return [
        (f"{feed_name}/{partition_id}", partition_id.split("/")[0] if "/" in partition_id else "", load)
        for partition_id, load in sorted(landing.items())
    ]


def header_of(landed: LandedFile, delimiter: str) -> tuple[list[str] | None, str | None]:
    """Column names from the file's first line (BOM and CR stripped), or why there are none."""
    line = landed.first_line
    if line is None:
        return None, "empty file: no header line"
    if line.startswith(GZIP_MAGIC):
        return None, "file is gzip-compressed: land it uncompressed (gunzip it) under a .csv name"
    if b"\x00" in line:
        return None, "file holds binary data (NUL bytes), not CSV text"
    text = line.decode("utf-8", errors="replace").lstrip("\ufeff").rstrip("\r")
    if "\r" in text:
        return None, (
            "lines end with a bare carriage return (\\r, old Mac style): convert the line endings "
            "to \\n or \\r\\n"
        )
    try:
        return next(csv.reader([text], delimiter=delimiter)), None
    except csv.Error as exc:
        return None, f"header line is not valid CSV ({exc})"


def header_problem(header: list[str], feed: FeedRules) -> str | None:
    """Why a file's header cannot be used, or None. Declared names match exactly; a name that
    matches one only when letter case and spaces are ignored is named (Spark would mix them up)."""
    folded = [h.strip().lower() for h in header]
    duplicated = sorted({h for h, f in zip(header, folded, strict=True) if folded.count(f) > 1})
    if duplicated:
        return f"header repeats column(s) {duplicated} (names are compared ignoring case and spaces)"
    declared = {c.lower(): c for c in feed.columns}
    near = {h: declared[f] for h, f in zip(header, folded, strict=True) if f in declared and h != declared[f]}
    if near:
        return (
            f"header column(s) {sorted(near)} differ from declared {sorted(near.values())} only by "
            "letter case or spaces: name them exactly as declared"
        )
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
    ddl = ", ".join(f"{sql_name(h)} STRING" for h in header) + ", _corrupt_record STRING"
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


def batch_problem(source_file: str, batch_id: str, cadence: Cadence) -> str | None:
    """Why a file is not where a batch's file must be (``<feed>/<batch>/<file>``), or None."""
    if source_file.count("/") == 2 and is_batch_id(batch_id, cadence):
        return None
    shape = SHAPES[cadence]
    return (
        f"file is not inside a batch folder named {shape} ({cadence} batches; found "
        f"'{batch_id or source_file}'): move it to <feed>/{shape}/<file>"
    )
