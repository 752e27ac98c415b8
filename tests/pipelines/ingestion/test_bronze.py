"""Reading a landing file's header and place: every problem named, never a crash."""

from __future__ import annotations

import gzip
import logging

import pytest

from lakehouse_mlops.framework.datasets import LandingCsvDataset, LandingZoneDataset
from lakehouse_mlops.framework.datasets.landing_csv_dataset import LandedFile, quoted_spans
from lakehouse_mlops.pipelines.ingestion import bronze
from lakehouse_mlops.pipelines.ingestion.rules import ColumnRule, FeedRules
from lakehouse_mlops.usecases.flights import source as simulator
from tests.pipelines.ingestion.test_ingestion_pipeline import GOOD

FEED = FeedRules(key=["id"], columns={"id": ColumnRule(), "amount": ColumnRule()})


def first_line(content: bytes) -> LandedFile:
    return LandedFile("f.csv", "sha", len(content), content.split(b"\n", 1)[0] if content else None)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"", "empty file: no header line"),
        (gzip.compress(b"id,amount\n1,2\n"), "file is gzip-compressed"),
        (b"id,am\x00ount\n", "file holds binary data (NUL bytes)"),
        (b"id,amount\r1,2\r", "lines end with a bare carriage return"),
    ],
)
def test_an_unreadable_header_is_a_reason_not_an_exception(content, problem):
    header, reason = bronze.header_of(first_line(content), ",")
    assert header is None and reason.startswith(problem)


def test_a_bom_and_crlf_are_stripped_from_the_header():
    assert bronze.header_of(first_line(b"\xef\xbb\xbfid,amount\r\n1,2\r\n"), ",") == (["id", "amount"], None)


@pytest.mark.parametrize(
    ("header", "problem"),
    [
        (["id", "amount"], None),
        (["id", "amount", "extra"], None),
        (["id", "Amount"], "header column(s) ['Amount'] differ from declared ['amount'] only by letter case"),
        (["id", " amount"], "header column(s) [' amount'] differ from declared ['amount']"),
        (["id", "amount", "AMOUNT"], "header repeats column(s) ['AMOUNT', 'amount']"),
        (["id"], "header lacks column(s) ['amount']"),
    ],
)
def test_declared_names_match_exactly_and_near_misses_are_named(header, problem):
    found = bronze.header_problem(header, FEED)
    assert found == problem if problem is None else found.startswith(problem)


@pytest.mark.parametrize(
    ("source_file", "batch", "ok"),
    [
        ("orders/2013-01/a.csv", "2013-01", True),
        ("orders/2013-13/a.csv", "2013-13", False),
        ("orders/2013-1/a.csv", "2013-1", False),
        ("orders/2013-02.csv", "", False),
        ("orders/2013-01/deeper/a.csv", "2013-01", False),
    ],
)
def test_a_file_must_sit_in_a_folder_named_as_a_real_batch(source_file, batch, ok):
    assert (bronze.batch_problem(source_file, batch, "month") is None) == ok


def test_landing_files_keep_their_names_and_a_file_outside_a_folder_has_no_batch():
    def load():
        raise AssertionError("not read")

    files = bronze.landing_files({"2013-01/a[1].CSV": load, "2013-02.csv": load}, "orders")
    assert [(f, b) for f, b, _ in files] == [
        ("orders/2013-01/a[1].CSV", "2013-01"),
        ("orders/2013-02.csv", ""),
    ]


def test_quoted_fields_pair_up_and_an_unclosed_or_too_long_one_is_left_alone():
    assert quoted_spans([3, 4, 10, 12]) == [(3, 4), (10, 12)]
    assert quoted_spans([3, 4, 10]) == [(3, 4)]
    assert quoted_spans([3, 500]) == []


def test_a_file_that_fails_to_load_is_rejected_by_name_and_the_others_are_read(spark, tmp_path):
    from lakehouse_mlops.pipelines.ingestion.nodes import land_files_to_bronze
    from tests.conftest import project_parameters

    good = tmp_path / "good.csv"
    good.write_text(",".join(simulator.FLIGHT_SCHEDULE) + "\n" + GOOD + "\n")

    def broken():
        raise OSError("Input/output error: the disk went away")

    params = project_parameters()
    rows, reports = land_files_to_bronze(
        {"2013-01/a.csv": broken, "2013-01/b.csv": LandingCsvDataset(filepath=str(good)).load},
        None,
        {},
        params["ingestion"],
        params["usecase"],
        feed_name="flights",
    )
    by_file = {r["source_file"]: r for r in reports}
    assert by_file["flights/2013-01/a.csv"]["status"] == bronze.REJECTED
    assert by_file["flights/2013-01/a.csv"]["reason"] == (
        "could not be read: OSError: Input/output error: the disk went away"
    )
    assert by_file["flights/2013-01/b.csv"]["status"] == bronze.INGESTED
    assert rows.count() == 1


def test_the_landing_zone_reads_any_letter_case_of_the_suffix_and_names_what_it_ignores(tmp_path, caplog):
    for name in ("2013-01/a.csv", "2013-01/b.CSV", "2013-01/notes.txt"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x\n")
    zone = LandingZoneDataset(path=str(tmp_path), filename_suffix=".csv", dataset=LandingCsvDataset)
    with caplog.at_level(logging.WARNING):
        assert sorted(zone.load()) == ["2013-01/a.csv", "2013-01/b.CSV"]
    assert "ignored 1 file(s) not named *.csv" in caplog.text and "notes.txt" in caplog.text
    assert (
        LandingZoneDataset(
            path=str(tmp_path / "none"), filename_suffix=".csv", dataset=LandingCsvDataset
        ).load()
        == {}
    )


def test_the_settled_files_of_every_feed_come_from_one_read_of_the_file_log(spark):
    log = spark.createDataFrame(
        [
            ("flights", "flights/2013-01/empty.csv", "aa", bronze.NO_ROWS),
            ("flights", "flights/2013-01/a.csv", "bb", bronze.INGESTED),
            ("weather", "weather/2013-01/empty.csv", "cc", bronze.NO_ROWS),
            ("weather", "weather/2013-01/bad.csv", "dd", bronze.REJECTED),
        ],
        "feed string, source_file string, sha256 string, status string",
    )
    assert bronze.settled_files(log) == {
        "flights": {"flights/2013-01/empty.csv": "aa"},
        "weather": {"weather/2013-01/empty.csv": "cc"},
    }
    assert bronze.settled_files(None) == {}
