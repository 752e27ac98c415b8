"""One landing file as numbered raw lines (``_row_number`` = line number, header = 1).

Every row can be traced to its line in the file."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

import fsspec
from kedro.io.core import AbstractDataset, DatasetError, get_protocol_and_path
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

_PARTITION_SHIFT = 33  # monotonically_increasing_id() keeps the partition index above bit 33
_HASH_CHUNK = 1 << 20


@dataclass(frozen=True)
class LandedFile:
    """A landing file: where it is, its checksum and its lines (``_line``, ``_row_number``)."""

    filepath: str
    sha256: str
    size_bytes: int
    lines: DataFrame
    first_line: bytes | None = None  # raw bytes of line 1 (the header), None for an empty file


class LandingCsvDataset(AbstractDataset[None, LandedFile]):
    """Read-only: a landing CSV as a Spark DataFrame of raw lines numbered from 1 (the header).

    Lines are kept as raw text (no parsing, no decoding repairs) so that validation can name the
    exact line of every problem and nothing is lost before bronze. Meant as the ``dataset`` of a
    ``LandingZoneDataset`` that lists the landing zone of one feed::

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
        spark = SparkSession.builder.getOrCreate()
        uri = self._filepath if self._protocol != "file" else str(PurePosixPath(self._path))
        raw = spark.read.option("lineSep", "\n").text(uri).withColumnRenamed("value", "_line")
        return LandedFile(self._filepath, sha, size, number_lines(raw), first_line)

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


def number_lines(lines: DataFrame) -> DataFrame:
    """Add ``_row_number`` (1-based, in file order) without moving all rows to one partition.

    One small job counts rows per partition; each row's number is its partition's offset plus its
    position inside the partition (both read from ``monotonically_increasing_id``).
    """
    with_id = lines.withColumn("_mid", F.monotonically_increasing_id())
    partition = F.shiftright(F.col("_mid"), _PARTITION_SHIFT)
    counts = sorted(
        (row["p"], row["n"])
        for row in with_id.groupBy(partition.alias("p")).agg(F.count("*").alias("n")).collect()
    )
    offsets, running = {}, 0
    for part, count in counts:
        offsets[part] = running
        running += count
    offset_map = F.create_map(*[F.lit(x) for pair in offsets.items() for x in pair]) if offsets else None
    position = F.col("_mid") - F.shiftleft(partition, _PARTITION_SHIFT)
    number = (F.element_at(offset_map, partition) + position + 1) if offset_map is not None else F.lit(1)
    return with_id.withColumn("_row_number", number.cast("long")).drop("_mid")
