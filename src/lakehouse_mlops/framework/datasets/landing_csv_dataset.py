"""One landing file as numbered raw records (``_row_number`` = line number, header = 1).

Every row can be traced to its line in the file."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import PurePosixPath
from typing import Any

import fsspec
from kedro.io.core import AbstractDataset, DatasetError, get_protocol_and_path
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

_PARTITION_SHIFT = 33  # monotonically_increasing_id() keeps the partition index above bit 33
_HASH_CHUNK = 1 << 20
#: Hadoop reads these characters in a path as a glob pattern; a file name is data, so they are escaped
_GLOB_CHARACTERS = re.compile(r"([\\\[\]{}*?])")
#: a quoted field may span this many lines at most; a longer span is left as separate (malformed) lines
MAX_RECORD_LINES = 100


@dataclass(frozen=True)
class NumberedLines:
    """The records of a file (``_line``, ``_row_number``) and how many physical lines it has."""

    records: DataFrame
    line_count: int


@dataclass(frozen=True)
class LandedFile:
    """A landing file: where it is, its checksum, its first line, and (read on first use) its records.

    Loading a ``LandedFile`` reads the bytes once for the checksum; Spark reads the records only when
    ``lines`` is used, so comparing a known file's checksum costs no Spark job.
    """

    filepath: str
    sha256: str
    size_bytes: int
    first_line: bytes | None = None  # raw bytes of line 1 (the header), None for an empty file
    read: Callable[[], NumberedLines] | None = field(default=None, compare=False, repr=False)

    @cached_property
    def numbered(self) -> NumberedLines:
        if self.read is None:
            raise DatasetError(f"{self.filepath}: this LandedFile has no reader")
        return self.read()

    @property
    def lines(self) -> DataFrame:
        """One row per record: ``_line`` (raw text; a quoted field's line breaks kept inside) and
        ``_row_number`` (the record's first line)."""
        return self.numbered.records

    @property
    def line_count(self) -> int:
        return self.numbered.line_count


class LandingCsvDataset(AbstractDataset[None, LandedFile]):
    """Read-only: a landing CSV as a Spark DataFrame of raw records numbered by line (header = 1).

    Records are kept as raw text (no parsing, no decoding repairs) so that validation can name the
    exact line of every problem and nothing is lost before bronze. A record is a line, except that a
    quoted field holding line breaks (RFC 4180) keeps its lines together in one record. Meant as the
    ``dataset`` of a ``LandingZoneDataset`` that lists the landing zone of one feed::

        landing_orders:
          type: lakehouse_mlops.framework.datasets.LandingZoneDataset
          path: data/01_landing/orders
          filename_suffix: .csv
          dataset: lakehouse_mlops.framework.datasets.LandingCsvDataset
    """

    def __init__(self, *, filepath: str, metadata: dict[str, Any] | None = None) -> None:
        protocol, path = get_protocol_and_path(filepath)
        self._protocol = protocol
        self._filepath = filepath
        self._fs = fsspec.filesystem(protocol)
        self._path = path
        self.metadata = metadata

    def _describe(self) -> dict[str, Any]:
        return {"filepath": self._filepath}

    def _exists(self) -> bool:
        return self._fs.exists(self._path)

    def save(self, data: None) -> None:
        raise DatasetError("LandingCsvDataset is read-only: the source simulator writes landing files")

    def load(self) -> LandedFile:
        sha, size, first_line = self._checksum()
        return LandedFile(self._filepath, sha, size, first_line, self._read_records)

    def _read_records(self) -> NumberedLines:
        spark = SparkSession.builder.getOrCreate()
        uri = self._filepath if self._protocol != "file" else str(PurePosixPath(self._path))
        raw = spark.read.option("lineSep", "\n").text(_GLOB_CHARACTERS.sub(r"\\\1", uri))
        return number_lines(raw.withColumnRenamed("value", "_line"))

    def _checksum(self) -> tuple[str, int, bytes | None]:
        """SHA-256, size and the first line, in the one pass over the file the checksum needs."""
        digest = hashlib.sha256()
        size, head = 0, b""
        with self._fs.open(self._path, "rb") as handle:
            while chunk := handle.read(_HASH_CHUNK):
                digest.update(chunk)
                if size == 0 or b"\n" not in head:
                    head += chunk
                size += len(chunk)
        first_line = head.split(b"\n", 1)[0] if size else None
        return digest.hexdigest(), size, first_line


def _odd_quotes(line: str = "_line"):
    """A line with an odd number of ``"`` opens or closes a quoted field that spans lines
    (an escaped quote ``""`` counts twice, so it keeps the parity)."""
    return ((F.length(line) - F.length(F.regexp_replace(line, '"', ""))) % 2) == 1


def number_lines(lines: DataFrame) -> NumberedLines:
    """Add ``_row_number`` (1-based, in file order) without moving all rows to one partition, then
    join the lines of quoted fields that span lines.

    One small job counts rows (and lines with an odd number of quotes) per partition; each row's
    number is its partition's offset plus its position inside the partition (both read from
    ``monotonically_increasing_id``).
    """
    with_id = lines.withColumn("_mid", F.monotonically_increasing_id())
    partition = F.shiftright(F.col("_mid"), _PARTITION_SHIFT)
    counts = sorted(
        (row["p"], row["n"], row["odd"])
        for row in with_id.groupBy(partition.alias("p"))
        .agg(F.count("*").alias("n"), F.sum(_odd_quotes().cast("long")).alias("odd"))
        .collect()
    )
    offsets, running = {}, 0
    for part, count, _ in counts:
        offsets[part] = running
        running += count
    offset_map = F.create_map(*[F.lit(x) for pair in offsets.items() for x in pair]) if offsets else None
    position = F.col("_mid") - F.shiftleft(partition, _PARTITION_SHIFT)
    number = (F.element_at(offset_map, partition) + position + 1) if offset_map is not None else F.lit(1)
    numbered = with_id.withColumn("_row_number", number.cast("long")).drop("_mid")
    if any(odd for _, _, odd in counts):
        numbered = join_quoted_lines(numbered)
    return NumberedLines(numbered, running)


def quoted_spans(odd_lines: list[int], max_lines: int = MAX_RECORD_LINES) -> list[tuple[int, int]]:
    """(first, last) line of each quoted field that spans lines: lines with an odd number of quotes
    pair up in order; a pair further apart than ``max_lines`` (or an unpaired line) is not joined."""
    spans = []
    for first, last in zip(odd_lines[::2], odd_lines[1::2], strict=False):
        if last - first < max_lines:
            spans.append((first, last))
    return spans


def join_quoted_lines(numbered: DataFrame) -> DataFrame:
    """The lines of each quoted multi-line field as one record, numbered by its first line (a rare
    case: only the few lines involved are collected)."""
    odd = [r["_row_number"] for r in numbered.filter(_odd_quotes()).select("_row_number").collect()]
    spans = quoted_spans(sorted(odd))
    if not spans:
        return numbered
    inside = [n for first, last in spans for n in range(first, last + 1)]
    spark = numbered.sparkSession
    wanted = spark.createDataFrame([(n,) for n in inside], "_row_number long")
    text = {r["_row_number"]: r["_line"] for r in numbered.join(F.broadcast(wanted), "_row_number").collect()}
    joined = [
        ("\n".join(text[n] for n in range(first, last + 1)), first)
        for first, last in spans
        if all(n in text for n in range(first, last + 1))
    ]
    kept = numbered.join(F.broadcast(wanted), "_row_number", "left_anti").select("_line", "_row_number")
    return kept.unionByName(spark.createDataFrame(joined, "_line string, _row_number long"))
