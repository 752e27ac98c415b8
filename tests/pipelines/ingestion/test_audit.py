"""The nothing-lost audit on real Spark frames: it balances what was written and flags what was not."""

from __future__ import annotations

from lakehouse_mlops.pipelines.ingestion import audit


def _bronze(spark, feed: str, batch: str, rows: int, files: tuple[str, ...]):
    data = [(batch, files[i % len(files)]) for i in range(rows)]
    return spark.createDataFrame(data, "_batch_id string, _source_file string")


def _quarantine(spark, rows: list[tuple[str, str]]):
    return spark.createDataFrame(rows, "source_table string, _batch_id string")


def _counts(batch: str, silver: int, quarantined: int, duplicates: int) -> list[dict]:
    return [
        {"batch_id": batch, "disposition": "silver", "rows": silver},
        {"batch_id": batch, "disposition": "quarantine", "rows": quarantined},
        {"batch_id": batch, "disposition": "duplicate", "rows": duplicates},
    ]


def test_every_feed_balances_when_the_tables_hold_what_validation_wrote(spark):
    flights_files = ("flights/2013-01/a.csv", "flights/2013-01/b.csv")
    rows = audit.audit_feeds(
        counts={"flights": _counts("2013-01", 7, 2, 1), "planes": _counts("2013-01", 3, 0, 0)},
        bronze={
            "flights": _bronze(spark, "flights", "2013-01", 10, flights_files),
            "planes": _bronze(spark, "planes", "2013-01", 3, ("planes/2013-01/p.csv",)),
        },
        silver={
            "flights": _bronze(spark, "flights", "2013-01", 7, flights_files),
            "planes": _bronze(spark, "planes", "2013-01", 3, ("planes/2013-01/p.csv",)),
        },
        quarantine=_quarantine(spark, [("flights", "2013-01")] * 2 + [("planes", "2013-02")]),
    )
    by_feed = {r["feed"]: r for r in rows}
    assert by_feed["flights"]["files"] == list(flights_files)
    assert (by_feed["flights"]["landed"], by_feed["flights"]["quarantined_in_table"]) == (10, 2)
    assert by_feed["planes"]["quarantined_in_table"] == 0  # another batch's quarantine is not counted
    assert [r["status"] for r in rows] == [audit.OK, audit.OK]


def test_a_row_missing_from_silver_or_quarantine_or_uncounted_is_a_mismatch(spark):
    files = ("flights/2013-01/a.csv",)
    bronze = {"flights": _bronze(spark, "flights", "2013-01", 10, files)}
    quarantine = _quarantine(spark, [("flights", "2013-01")] * 2)

    def status(counts, silver_rows, quarantine_table):
        silver = {"flights": _bronze(spark, "flights", "2013-01", silver_rows, files)}
        (row,) = audit.audit_feeds({"flights": counts}, bronze, silver, quarantine_table)
        return row["status"]

    assert status(_counts("2013-01", 7, 2, 1), 7, quarantine) == audit.OK
    assert status(_counts("2013-01", 7, 2, 1), 6, quarantine) == audit.MISMATCH  # silver lost a row
    assert status(_counts("2013-01", 7, 2, 1), 7, None) == audit.MISMATCH  # quarantine not written
    assert status(_counts("2013-01", 7, 2, 0), 7, quarantine) == audit.MISMATCH  # a row unaccounted for
    summary = audit.summarize(
        audit.audit_feeds(
            {"flights": _counts("2013-01", 7, 2, 0)},
            bronze,
            {"flights": _bronze(spark, "flights", "2013-01", 7, files)},
            quarantine,
        ),
        [],
    )
    assert summary["mismatches"] == [
        "flights 2013-01: landed 10 != silver 7 + quarantined 2 + duplicates 0 + superseded 0 "
        "(tables hold silver 7, quarantine 2; files ['flights/2013-01/a.csv'])"
    ]


def test_pending_batches_are_those_whose_files_differ_from_a_successful_audit(spark):
    reports = [
        {"batch_id": "2013-01", "source_file": "f/2013-01/a.csv", "status": "ingested"},
        {"batch_id": "2013-02", "source_file": "f/2013-02/b.csv", "status": "ingested"},
        {"batch_id": "2013-02", "source_file": "f/2013-02/late.csv", "status": "ingested"},
        {"batch_id": "2013-03", "source_file": "f/2013-03/bad.csv", "status": "rejected"},
        {"batch_id": "2013-01", "source_file": "f/2013-01/again.csv", "status": "duplicate_file"},
    ]
    in_bronze = audit.files_by_batch(reports)
    assert in_bronze == {"2013-01": ["f/2013-01/a.csv"], "2013-02": ["f/2013-02/b.csv", "f/2013-02/late.csv"]}
    state = spark.createDataFrame(
        [
            ("f", "2013-01", ["f/2013-01/a.csv"], "ok"),
            ("f", "2013-02", ["f/2013-02/b.csv"], "ok"),  # a file landed late in the batch since
            ("other", "2013-03", ["x"], "ok"),
            ("f", "2013-04", ["f/2013-04/c.csv"], "mismatch"),  # a failed audit completes nothing
        ],
        "feed string, _batch_id string, files array<string>, status string",
    )
    audited = audit.audited_batches(state)
    assert audited == {
        "f": {"2013-01": ["f/2013-01/a.csv"], "2013-02": ["f/2013-02/b.csv"]},
        "other": {"2013-03": ["x"]},
    }
    assert audit.pending_batches(in_bronze, audited["f"]) == {"2013-02"}
    assert audit.pending_batches(in_bronze, {}) == {"2013-01", "2013-02"}
    assert audit.audited_batches(None) == {}
