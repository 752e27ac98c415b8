"""LandingCsvDataset: raw lines numbered exactly as in the file."""

from __future__ import annotations

import hashlib

from lakehouse_mlops.framework.datasets import LandingCsvDataset


def test_lines_are_numbered_in_file_order_across_partitions(spark, tmp_path):
    path = tmp_path / "big.csv"
    path.write_text("header\n" + "".join(f"{n}\n" for n in range(2, 30001)))
    spark.conf.set("spark.sql.files.maxPartitionBytes", "16384")
    try:
        landed = LandingCsvDataset(filepath=str(path)).load()
        assert landed.lines.rdd.getNumPartitions() > 4
        wrong = landed.lines.filter("_row_number > 1 AND _line != CAST(_row_number AS STRING)")
        assert wrong.count() == 0
        assert landed.lines.count() == 30000
    finally:
        spark.conf.unset("spark.sql.files.maxPartitionBytes")
    assert landed.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert landed.size_bytes == path.stat().st_size


def test_empty_file_has_no_lines(spark, tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    assert LandingCsvDataset(filepath=str(path)).load().lines.count() == 0
