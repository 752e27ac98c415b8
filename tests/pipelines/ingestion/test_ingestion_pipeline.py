"""The ingestion pipeline end to end on real Spark + Delta, with every kind of bad input."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from pyspark.sql import functions as F

from lakehouse_mlops.framework.errors import LandingFileError
from lakehouse_mlops.usecases.flights import source as simulator
from tests.conftest import run_pipeline

pytestmark = pytest.mark.integration

HEADER = ",".join(simulator.FLIGHT_SCHEDULE)
GOOD = "2013,1,1,515,819,UA,1545,N14228,EWR,IAH,1400,5,15,2013-01-01T10:00:00Z"
GOOD_B = "2013,1,1,529,830,UA,1714,N24211,LGA,IAH,1416,5,29,2013-01-01T10:00:00Z"
GOOD_C = "2013,1,2,540,850,AA,1141,N619AA,JFK,MIA,1089,5,40,2013-01-02T10:00:00Z"
SJU = "2013,1,2,600,900,B6,1,N599JB,JFK,SJU,1598,6,0,2013-01-02T11:00:00Z"

#: line number in the January file → (rule expected in quarantine, words of the reason)
JANUARY_BAD = {
    6: ("type", "'abc' is not a valid double"),
    7: ("not_null", "column 'carrier' is required but empty"),
    8: ("type", "column 'sched_dep_time': '9:99' is not a valid int"),
    9: ("valid_date", "'2013-2-30' is not a valid calendar date"),
    10: ("greater_than", "column 'distance': -5 is not greater than 0"),
    11: ("greater_than", "column 'distance': 0 is not greater than 0"),
    12: ("references", "'ZZZ' is not a known airports.faa"),
    13: ("references", "'QQ' is not a known airlines.carrier"),
    15: ("unique_key", "appears with different values in flights/2013-01/flights_2013-01.csv"),
    16: ("unique_key", "appears with different values in flights/2013-01/flights_2013-01.csv"),
    17: ("well_formed", "does not have the header's 14 fields"),
}


def january_flights() -> str:
    lines = [
        HEADER,
        GOOD,  # 2
        GOOD_B,  # 3
        GOOD_C,  # 4
        SJU,  # 5 known via also_known
        GOOD.replace(",1400,", ",abc,"),  # 6 wrong type
        GOOD_B.replace(",UA,", ",,"),  # 7 null key part
        GOOD_C.replace(",540,", ",9:99,"),  # 8 malformed key
        "2013,2,30,515,819,UA,1545,N14228,EWR,IAH,1400,5,15,2013-02-28T10:00:00Z",  # 9
        GOOD.replace(",1545,", ",1546,").replace(",1400,", ",-5,"),  # 10 negative distance
        GOOD.replace(",1545,", ",1547,").replace(",1400,", ",0,"),  # 11 zero distance
        GOOD.replace(",1545,", ",1548,").replace(",EWR,", ",ZZZ,"),  # 12 unknown airport
        GOOD.replace(",1545,", ",1549,").replace(",UA,", ",QQ,"),  # 13 unknown carrier
        GOOD,  # 14 exact duplicate of 2
        GOOD.replace(",1545,", ",1550,"),  # 15 same key twice,
        GOOD.replace(",1545,", ",1550,").replace(",IAH,", ",ORD,"),  # 16 different values
        "2013,1,3,600,900,UA,77,N1",  # 17 truncated last line
    ]
    return "\n".join(lines)  # no newline at the end: the last line was cut off


def land(project: Path) -> Path:
    landing = project / "data" / "01_landing"
    for feed in simulator.REFERENCE_FEEDS:
        frame = simulator.feeds_for_month("2013-01")[feed]
        simulator.write_landing_file(frame, landing / feed / "2013-01" / f"{feed}_2013-01.csv")
    flights = landing / "flights"
    (flights / "2013-01").mkdir(parents=True)
    (flights / "2013-01" / "flights_2013-01.csv").write_text(january_flights())
    (flights / "2013-02").mkdir()
    february = f"{HEADER},gate\n{GOOD.replace(',1,1,', ',2,1,').replace('2013-01-01', '2013-02-01')},B22\n"
    (flights / "2013-02" / "flights_2013-02.csv").write_text(february)
    shutil.copy(flights / "2013-02" / "flights_2013-02.csv", flights / "2013-02" / "resent.csv")
    (flights / "2013-03").mkdir()
    no_distance = HEADER.replace(",distance", "")
    (flights / "2013-03" / "flights_2013-03.csv").write_text(f"{no_distance}\n")
    (flights / "2013-03" / "empty.csv").write_bytes(b"")
    (flights / "misc").mkdir()
    (flights / "misc" / "notes.csv").write_text(f"{HEADER}\n{GOOD}\n")
    airports = landing / "airports" / "2013-02"
    airports.mkdir(parents=True)
    latin1 = "faa,name,lat,lon,alt,tz,dst,tzone\nXYZ,Aéroport du Test,45.0,5.0,100,-5,A,America/New_York\n"
    (airports / "airports_2013-02.csv").write_bytes(latin1.encode("latin-1"))
    return landing


def delta(spark, project: Path, layer: str, table: str):
    return spark.read.format("delta").load(str(project / "data" / layer / table))


def snapshot(spark, project: Path) -> dict[str, tuple[int, int]]:
    """rows and latest version of every Delta table under the project's lakehouse."""
    from delta.tables import DeltaTable

    found = {}
    for log in sorted((project / "data").glob("*/*/_delta_log")):
        path = str(log.parent)
        version = DeltaTable.forPath(spark, path).history(1).first()["version"]
        found[log.parent.name] = (spark.read.format("delta").load(path).count(), version)
    return found


def test_bad_input_is_quarantined_or_rejected_by_name_and_nothing_is_lost(spark, project):
    landing = land(project)
    with pytest.raises(LandingFileError) as error:
        run_pipeline(project, "ingestion")
    message = str(error.value)
    assert "flights/2013-03/flights_2013-03.csv: header lacks column(s) ['distance']" in message
    assert "flights/2013-03/empty.csv: empty file: no header line" in message
    assert "flights/misc/notes.csv: file is not inside a batch folder named YYYY-MM" in message

    quarantine = delta(spark, project, "03_silver", "quarantine")
    flights_q = {r["_row_number"]: r for r in quarantine.filter(F.col("source_table") == "flights").collect()}
    assert set(flights_q) == set(JANUARY_BAD)
    for line, (rule, words) in JANUARY_BAD.items():
        row = flights_q[line]
        assert rule in [f["rule"] for f in row["failed_rules"]], (line, row["reason"])
        assert words in row["reason"], (line, row["reason"])
        assert row["_source_file"] == "flights/2013-01/flights_2013-01.csv"
        assert row["raw_values"]

    airports_q = quarantine.filter(F.col("source_table") == "airports").collect()
    assert [r["failed_rules"][0]["rule"] for r in airports_q] == ["encoding"]
    assert "not valid UTF-8" in airports_q[0]["reason"]

    silver = delta(spark, project, "03_silver", "flights")
    keys = {r["flight_key"] for r in silver.collect()}
    assert keys == {
        "2013-01-01|UA|1545|EWR|515",
        "2013-01-01|UA|1714|LGA|529",
        "2013-01-02|AA|1141|JFK|540",
        "2013-01-02|B6|1|JFK|600",
        "2013-02-01|UA|1545|EWR|515",
    }
    february = silver.filter(F.col("_batch_id") == "2013-02").first()
    assert february["_source_file"] == "flights/2013-02/flights_2013-02.csv"
    bronze_feb = delta(spark, project, "02_bronze", "flights").filter("_batch_id = '2013-02'")
    assert bronze_feb.first()["_rescued_data"] == '{"gate":"B22"}'

    audit = {
        (r["feed"], r["_batch_id"]): r
        for r in delta(spark, project, "03_silver", "_ingestion_audit").collect()
    }
    january = audit[("flights", "2013-01")]
    assert (
        january["landed"],
        january["silver"],
        january["quarantined"],
        january["duplicates"],
    ) == (16, 4, 11, 1)
    assert all(a["status"] == "ok" for a in audit.values())

    files = {r["source_file"]: r for r in delta(spark, project, "02_bronze", "_file_log").collect()}
    assert files["flights/2013-02/resent.csv"]["status"] == "duplicate_file"
    assert (
        "same content as flights/2013-02/flights_2013-02.csv" in files["flights/2013-02/resent.csv"]["reason"]
    )
    assert files["flights/2013-03/empty.csv"]["status"] == "rejected"

    # Re-running (the same files landed again) changes no table; the bad files are still named.
    before = snapshot(spark, project)
    simulator.write_landing_file(
        simulator.feeds_for_month("2013-01")["airlines"],
        landing / "airlines" / "2013-01" / "airlines_2013-01.csv",
    )
    with pytest.raises(LandingFileError):
        run_pipeline(project, "ingestion")
    assert snapshot(spark, project) == before

    # Once the operator removes the bad files, the run succeeds and still changes nothing.
    shutil.rmtree(landing / "flights" / "2013-03")
    shutil.rmtree(landing / "flights" / "misc")
    run_pipeline(project, "ingestion")
    assert snapshot(spark, project) == before
