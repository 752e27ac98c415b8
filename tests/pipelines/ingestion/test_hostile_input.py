"""Ingestion under hostile input (issue 19), on real Spark + Delta: a bad file never blocks its feed,
re-sends and in-place edits neither break nor bypass a batch, and no value is mangled on the way."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from pyspark.sql import functions as F

from lakehouse_mlops.framework.errors import LandingFileError
from lakehouse_mlops.usecases.flights import source as simulator
from tests.conftest import run_pipeline
from tests.pipelines.ingestion.test_ingestion_pipeline import (
    GOOD,
    GOOD_B,
    GOOD_C,
    HEADER,
    SJU,
    delta,
    snapshot,
)

pytestmark = pytest.mark.integration

HUGE = "X" * (1 << 20)
#: a row whose quoted airport name holds a line break (RFC 4180): one record over two lines
QUOTED_NEWLINE_AIRPORT = 'QNL,"Quoted\nNewline Field",45.0,5.0,100,-5,A,America/New_York'


def land_reference_feeds(landing: Path) -> None:
    for feed in simulator.REFERENCE_FEEDS:
        frame = simulator.feeds_for_month("2013-01")[feed]
        simulator.write_landing_file(frame, landing / feed / "2013-01" / f"{feed}_2013-01.csv")


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def test_unreadable_files_are_rejected_by_name_after_the_good_files_are_in(spark, project):
    landing = project / "data" / "01_landing"
    land_reference_feeds(landing)
    airports = landing / "airports" / "2013-01" / "airports_2013-01.csv"
    airports.write_text(airports.read_text().rstrip("\n") + "\n" + QUOTED_NEWLINE_AIRPORT + "\n")
    january = landing / "flights" / "2013-01"
    good = "\n".join([HEADER, GOOD, GOOD_B]) + "\n"
    write(january / "flights_2013-01.csv", good)
    # D1: each of these used to fail the whole feed, naming no file (or was read as a glob pattern)
    write(january / "packed.csv", gzip.compress(good.encode()))
    write(january / "old_mac.csv", "\r".join([HEADER, GOOD_C]) + "\r")
    write(january / "cased.csv", f"{HEADER},DISTANCE\n{GOOD_C},1089\n")
    write(january / "spaced.csv", f"{HEADER.replace(',distance', ',Distance ')}\n{GOOD_C}\n")
    write(january / "flights_2013-01[1].csv", f"{HEADER}\n{GOOD_C}\n")
    # smaller defects: upper-case suffix, a month 13, a file outside any batch folder
    write(january / "UPPER.CSV", f"{HEADER}\n{SJU}\n")
    write(landing / "flights" / "2013-13" / "flights_2013-13.csv", good)
    write(landing / "flights" / "2013-02.csv", good)
    # D4: a header-only file
    write(january / "header_only.csv", HEADER + "\n")
    # values: a 1 MiB value, a NULL token, a departure time that is not HHMM
    huge = GOOD.replace(",1545,", ",1601,").replace(",N14228,", f",{HUGE},")
    null_tailnum = GOOD.replace(",1545,", ",1602,").replace(",N14228,", ",NULL,")
    not_hhmm = GOOD.replace(",1545,", ",1603,").replace(",515,819,", ",575,819,")
    write(january / "values.csv", "\n".join([HEADER, huge, null_tailnum, not_hhmm]) + "\n")

    with pytest.raises(LandingFileError) as error:
        run_pipeline(project, "ingestion")
    message = str(error.value)
    assert "flights/2013-01/packed.csv: file is gzip-compressed" in message
    assert "flights/2013-01/old_mac.csv: lines end with a bare carriage return" in message
    assert "flights/2013-01/cased.csv: header repeats column(s) ['DISTANCE', 'distance']" in message
    spaced = "flights/2013-01/spaced.csv: header column(s) ['Distance '] differ from declared ['distance']"
    assert spaced in message
    assert "flights/2013-13/flights_2013-13.csv: file is not inside a batch folder named YYYY-MM" in message
    assert "flights/2013-02.csv: file is not inside a batch folder named YYYY-MM" in message
    for accepted in ("flights_2013-01.csv", "flights_2013-01[1].csv", "UPPER.CSV", "header_only.csv"):
        assert accepted not in message

    silver = {r["flight_key"]: r for r in delta(spark, project, "03_silver", "flights").collect()}
    assert set(silver) == {
        "2013-01-01|UA|1545|EWR|515",  # flights_2013-01.csv
        "2013-01-01|UA|1714|LGA|529",
        "2013-01-02|AA|1141|JFK|540",  # the file named like a glob pattern
        "2013-01-02|B6|1|JFK|600",  # the .CSV file
        "2013-01-01|UA|1602|EWR|515",  # NULL is an empty value
    }
    assert silver["2013-01-01|UA|1602|EWR|515"]["tailnum"] is None
    assert silver["2013-01-02|B6|1|JFK|600"]["_source_file"] == "flights/2013-01/UPPER.CSV"

    quarantine = delta(spark, project, "03_silver", "quarantine").filter(F.col("source_table") == "flights")
    by_line = {r["_source_file"] + f":{r['_row_number']}": r for r in quarantine.collect()}
    assert set(by_line) == {"flights/2013-01/values.csv:2", "flights/2013-01/values.csv:4"}
    too_long = by_line["flights/2013-01/values.csv:2"]
    assert len(too_long["reason"]) < 500 and "1048576 characters" in too_long["reason"]
    assert HUGE in too_long["raw_values"]
    assert [f["rule"] for f in by_line["flights/2013-01/values.csv:4"]["failed_rules"]] == ["hhmm"]

    names = {r["faa"]: r["name"] for r in delta(spark, project, "03_silver", "airports").collect()}
    assert names["QNL"] == "Quoted\nNewline Field"

    files = {r["source_file"]: r for r in delta(spark, project, "02_bronze", "_file_log").collect()}
    assert files["flights/2013-01/header_only.csv"]["status"] == "no_rows"
    assert files["flights/2013-01/packed.csv"]["status"] == "rejected"
    assert files["flights/2013-01/UPPER.CSV"]["status"] == "ingested"

    # D4: run again with the same landing: the rejected files are named again, nothing is re-processed
    before = snapshot(spark, project)
    with pytest.raises(LandingFileError):
        run_pipeline(project, "ingestion")
    assert snapshot(spark, project) == before


def test_a_resend_corrects_its_batch_and_an_in_place_edit_is_rejected_loudly(spark, project):
    landing = project / "data" / "01_landing"
    land_reference_feeds(landing)
    january = landing / "flights" / "2013-01"
    original = write(january / "flights_2013-01.csv", "\n".join([HEADER, GOOD, GOOD_B]) + "\n")
    run_pipeline(project, "ingestion")

    # D2: a later file of the same batch with one value changed is a correction: it wins
    corrected = GOOD.replace(",1400,", ",1401,")
    resend = write(january / "flights_2013-01_x1.csv", "\n".join([HEADER, corrected, GOOD_B]) + "\n")
    run_pipeline(project, "ingestion")
    silver = {r["flight_key"]: r for r in delta(spark, project, "03_silver", "flights").collect()}
    assert silver["2013-01-01|UA|1545|EWR|515"]["distance"] == 1401.0
    assert silver["2013-01-01|UA|1545|EWR|515"]["_source_file"] == "flights/2013-01/flights_2013-01_x1.csv"
    quarantine = delta(spark, project, "03_silver", "quarantine").filter(F.col("source_table") == "flights")
    (old,) = quarantine.collect()
    assert (old["_source_file"], old["_row_number"]) == ("flights/2013-01/flights_2013-01.csv", 2)
    assert [f["rule"] for f in old["failed_rules"]] == ["superseded"]
    assert "flights/2013-01/flights_2013-01_x1.csv" in old["reason"]
    audit = delta(spark, project, "03_silver", "_ingestion_audit").filter("feed = 'flights'").first()
    assert (audit["landed"], audit["silver"], audit["quarantined"], audit["duplicates"]) == (4, 2, 0, 1)
    assert (audit["superseded"], audit["status"]) == (1, "ok")

    # the re-send removed from landing: its rows are in bronze, nothing changes
    resend.unlink()
    before = snapshot(spark, project)
    run_pipeline(project, "ingestion")
    assert snapshot(spark, project) == before

    # D3: an ingested file edited in place is rejected by name, never skipped silently
    original.write_text("\n".join([HEADER, GOOD, GOOD_B.replace(",1416,", ",1417,")]) + "\n")
    with pytest.raises(LandingFileError) as error:
        run_pipeline(project, "ingestion")
    assert "flights/2013-01/flights_2013-01.csv: content changed since it was ingested" in str(error.value)
    assert snapshot(spark, project)["flights"] == before["flights"]
    original.write_text("\n".join([HEADER, GOOD, GOOD_B]) + "\n")  # put back: the run passes again
    run_pipeline(project, "ingestion")
    tables = snapshot(spark, project)
    assert tables.pop("_file_log")[1] > before.pop("_file_log")[1]  # "changed", then "ingested" again
    assert tables == before
    files = {r["source_file"]: r["status"] for r in delta(spark, project, "02_bronze", "_file_log").collect()}
    assert files["flights/2013-01/flights_2013-01.csv"] == "ingested"
