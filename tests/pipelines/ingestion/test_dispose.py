"""Which version of a key wins: within one run conflicts are quarantined, a later run's file corrects."""

from __future__ import annotations

from datetime import datetime

from lakehouse_mlops.pipelines.ingestion import silver
from lakehouse_mlops.pipelines.ingestion.rules import ColumnRule, FeedRules

FEED = FeedRules(key=["k"], columns={"k": ColumnRule(), "v": ColumnRule()})
FIRST_RUN, SECOND_RUN = datetime(2026, 1, 1, 8), datetime(2026, 1, 2, 8)
FAILED_TYPE = (("type", "v", "x", "column 'v': 'x' is not a valid int"),)
SCHEMA = (
    "k string, v string, _failures array<struct<rule:string,column:string,value:string,message:string>>, "
    "_source_file string, _row_number long, _ingested_at timestamp, _batch_id string"
)

#: (key, value, file, line, run, failures) → expected disposition
ROWS = {
    ("corrected", "1", "f/b/one.csv", 2, FIRST_RUN, ()): silver.SUPERSEDED,
    ("corrected", "2", "f/b/two.csv", 2, SECOND_RUN, ()): silver.SILVER,
    ("resent", "1", "f/b/one.csv", 3, FIRST_RUN, ()): silver.SILVER,
    ("resent", "1", "f/b/two.csv", 3, SECOND_RUN, ()): silver.DUPLICATE,
    ("ambiguous", "1", "f/b/one.csv", 4, FIRST_RUN, ()): silver.QUARANTINE,
    ("ambiguous", "2", "f/b/one.csv", 5, FIRST_RUN, ()): silver.QUARANTINE,
    ("newest_ambiguous", "1", "f/b/one.csv", 6, FIRST_RUN, ()): silver.SILVER,
    ("newest_ambiguous", "2", "f/b/two.csv", 4, SECOND_RUN, ()): silver.QUARANTINE,
    ("newest_ambiguous", "3", "f/b/two.csv", 5, SECOND_RUN, ()): silver.QUARANTINE,
    ("settled", "1", "f/b/one.csv", 7, FIRST_RUN, ()): silver.SUPERSEDED,
    ("settled", "2", "f/b/one.csv", 8, FIRST_RUN, ()): silver.SUPERSEDED,
    ("settled", "3", "f/b/two.csv", 6, SECOND_RUN, ()): silver.SILVER,
    ("invalid_first", "x", "f/b/one.csv", 9, FIRST_RUN, FAILED_TYPE): silver.QUARANTINE,
    ("invalid_first", "1", "f/b/one.csv", 10, FIRST_RUN, ()): silver.SILVER,
    ("fixed", "x", "f/b/one.csv", 11, FIRST_RUN, FAILED_TYPE): silver.SUPERSEDED,
    ("fixed", "1", "f/b/fix1.csv", 2, SECOND_RUN, ()): silver.SILVER,
}


def test_a_later_run_corrects_a_key_and_a_conflict_within_a_run_is_quarantined(spark):
    data = [(k, v, list(failures), f, line, run, "b") for (k, v, f, line, run, failures) in ROWS]
    disposed = silver.dispose(spark.createDataFrame(data, SCHEMA), FEED)
    got = {
        (r["k"], r["v"], r["_source_file"], r["_row_number"]): (r[silver.DISPOSITION], r["_failures"])
        for r in disposed.collect()
    }
    expected = {(k, v, f, line): disposition for (k, v, f, line, _, _), disposition in ROWS.items()}
    assert {key: value[0] for key, value in got.items()} == expected

    (replaced,) = got["corrected", "1", "f/b/one.csv", 2][1]
    assert replaced["message"] == (
        "key (k) = corrected: replaced by the version in f/b/two.csv (landed later); "
        "this older version is kept here"
    )
    assert [f["rule"] for f in got["fixed", "x", "f/b/one.csv", 11][1]] == ["superseded", "type"]
    (conflict,) = got["newest_ambiguous", "2", "f/b/two.csv", 4][1]
    assert (
        conflict["rule"] == "unique_key"
        and "appears with different values in f/b/two.csv" in conflict["message"]
    )
