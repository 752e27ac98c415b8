"""Validation's rules are Spark SQL text: every name and literal from the rules' conf is quoted."""

from __future__ import annotations

from datetime import datetime

from lakehouse_mlops.pipelines.ingestion.bronze import bronze_schema
from lakehouse_mlops.pipelines.ingestion.rules import ColumnRule, FeedRules
from lakehouse_mlops.pipelines.ingestion.validation import FAILURES, classify

#: names, patterns, formats and allowed values holding what SQL text must escape: ' ` \
ODD = "it's `odd`"
FEED = FeedRules(
    key=["k"],
    columns={
        "k": ColumnRule(pattern=r"^\d{2}'\\$"),
        ODD: ColumnRule(allowed=["a'b", "c\\d"]),
        "at": ColumnRule(type="timestamp", format="yyyy-MM-dd'T'HH:mm"),
        "n": ColumnRule(type="double", max=1e-3),
    },
)


def classified(spark, *rows: tuple) -> list:
    lineage = (None, None, None, "2013-01", "f/2013-01/a.csv", "sha", 2, datetime(2026, 1, 1))
    frame = spark.createDataFrame([(*row, *lineage) for row in rows], bronze_schema(FEED))
    return classify(frame, FEED, {}, ["", "NA"]).orderBy("at").collect()


def test_names_patterns_formats_and_values_with_quotes_and_backslashes_are_checked_as_written(spark):
    good, bad = classified(
        spark,
        ("12'\\", "c\\d", "2013-01-05T10:30", "0.0005"),
        ("1x", "a\\'b", "2013-01-06T10:30", "0.5"),
    )
    assert good[FAILURES] == []
    assert (good["k"], good[ODD], good["at"], good["n"]) == (
        "12'\\",
        "c\\d",
        datetime(2013, 1, 5, 10, 30),
        5e-4,
    )
    assert [(f.rule, f.column, f.value, f.message) for f in bad[FAILURES]] == [
        ("pattern", "k", "1x", "column 'k': '1x' does not match ^\\d{2}'\\\\$"),
        ("allowed", ODD, "a\\'b", f"column '{ODD}': 'a\\'b' is not one of {FEED.columns[ODD].allowed}"),
        ("max", "n", "0.5", "column 'n': 0.5 is above the maximum 0.001"),
    ]


def test_a_value_too_long_to_quote_is_shortened_in_the_reason_and_kept_whole_in_the_raw_row(spark):
    (row,) = classified(spark, ("1" * 200, "a'b", "2013-01-05T10:30", "NA"))
    (failure,) = row[FAILURES]
    assert failure.value == "1" * 120 + "… (200 characters)"
    assert failure.message == f"column 'k': '{'1' * 120}… (200 characters)' does not match ^\\d{{2}}'\\\\$"
    assert row["_raw"]["k"] == "1" * 200 and row["n"] is None
