"""Freshness and completeness of the feeds (pure logic): which feed is missing or short for a batch,
against its own trailing median, and what the policy and the report make of it."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import pytest

from lakehouse_mlops.framework.errors import ConfigError
from lakehouse_mlops.pipelines.ingestion.rules import parse_rules
from lakehouse_mlops.pipelines.monitoring import decision as monitoring_decision
from lakehouse_mlops.pipelines.monitoring import report
from lakehouse_mlops.pipelines.monitoring.config import Feeds, Policy, parse_monitoring
from lakehouse_mlops.pipelines.monitoring.freshness import (
    FEED_INCOMPLETE,
    FEED_MISSING,
    AuditedBatch,
    feed_alarms,
    feed_rows,
)
from lakehouse_mlops.pipelines.monitoring.policy import ALERT, NONE, History, WindowSignals, policy_decision
from tests.conftest import PROJECT_ROOT

SPEC = Feeds()  # ratio 0.5, window 6, at least 3 previous batches
ARRIVALS = {"events": "every_batch", "answers": "every_batch", "codes": "once"}
MONTHS = ["2020-01", "2020-02", "2020-03", "2020-04", "2020-05"]


def audit(counts: dict[str, dict[str, int]]) -> list[AuditedBatch]:
    """feed → batch → accepted rows (landed = accepted: nothing quarantined)."""
    return [AuditedBatch(f, b, n, n) for f, batches in counts.items() for b, n in batches.items()]


def by_check(rows: list[dict]) -> dict[tuple[str, str], dict]:
    return {(r["feature"], r["metric"]): r for r in rows}


FULL = {
    "events": dict(zip(MONTHS, [1000, 1100, 900, 1000, 950], strict=True)),
    "answers": dict(zip(MONTHS, [500, 500, 500, 500, 500], strict=True)),
    "codes": {"2020-01": 40},
}


def test_every_feed_present_and_complete_raises_nothing():
    rows = feed_rows("2020-05", ARRIVALS, audit(FULL), SPEC)
    assert feed_alarms(rows, "2020-05") == []
    checks = by_check(rows)
    # the reference feed landed once, months ago: present, and never judged on its size
    assert checks["codes", FEED_MISSING]["status"] == "ok"
    assert ("codes", FEED_INCOMPLETE) not in checks
    events = checks["events", FEED_INCOMPLETE]
    assert events["status"] == "ok" and events["reference_rows"] == 1000 and events["current_rows"] == 950
    assert events["value"] == pytest.approx(0.95) and events["threshold"] == 0.5


def test_a_per_batch_feed_that_did_not_land_is_feed_missing_naming_feed_and_batch():
    counts = {**FULL, "answers": {m: 500 for m in MONTHS[:-1]}}
    rows = feed_rows("2020-05", ARRIVALS, audit(counts), SPEC)
    missing = by_check(rows)["answers", FEED_MISSING]
    assert missing["flagged"] and missing["status"] == "flagged" and missing["current_rows"] == 0
    assert feed_alarms(rows, "2020-05") == ["feed_missing: feed 'answers' did not land for batch 2020-05"]


def test_a_file_without_data_rows_counts_as_not_landed():
    counts = audit(FULL)
    counts = [
        a if (a.feed, a.batch_id) != ("events", "2020-05") else AuditedBatch("events", "2020-05", 0, 0)
        for a in counts
    ]
    assert by_check(feed_rows("2020-05", ARRIVALS, counts, SPEC))["events", FEED_MISSING]["flagged"]


def test_a_reference_feed_is_missing_only_until_some_batch_brought_it():
    no_codes = {k: v for k, v in FULL.items() if k != "codes"}
    assert by_check(feed_rows("2020-05", ARRIVALS, audit(no_codes), SPEC))["codes", FEED_MISSING]["flagged"]
    # landed later than the monitored batch: not there yet when that batch was monitored
    later = {**no_codes, "codes": {"2020-06": 40}}
    assert by_check(feed_rows("2020-05", ARRIVALS, audit(later), SPEC))["codes", FEED_MISSING]["flagged"]


def test_a_batch_far_below_the_trailing_median_is_feed_incomplete_with_its_numbers():
    counts = {**FULL, "events": {**FULL["events"], "2020-05": 120}}
    rows = feed_rows("2020-05", ARRIVALS, audit(counts), SPEC)
    incomplete = by_check(rows)["events", FEED_INCOMPLETE]
    assert incomplete["flagged"] and incomplete["value"] == pytest.approx(0.12)
    assert (incomplete["current_rows"], incomplete["reference_rows"]) == (120, 1000)
    assert feed_alarms(rows, "2020-05") == [
        "feed_incomplete: feed 'events' batch 2020-05 has 120 accepted rows, 0.12 x the trailing median "
        "1000 of 4 previous batches (< 0.5)"
    ]
    assert not by_check(rows)["events", FEED_MISSING]["flagged"]  # it landed: one alarm, not two


def test_the_median_counts_only_the_window_of_previous_batches():
    months = [f"2019-{m:02d}" for m in range(1, 13)]
    # six old batches of 10,000 rows, then six of 400: the window of 6 sees only the 400s
    history = dict(zip(months, [10_000] * 6 + [400] * 6, strict=True))
    later = {f"2020-{m:02d}": 50_000 for m in range(2, 6)}  # batches after the monitored one: ignored
    counts = {"events": {**history, "2020-01": 300, **later}}
    incomplete = by_check(feed_rows("2020-01", {"events": "every_batch"}, audit(counts), SPEC))
    assert incomplete["events", FEED_INCOMPLETE]["reference_rows"] == 400
    assert not incomplete["events", FEED_INCOMPLETE]["flagged"]
    wide = Feeds(completeness_window=12)  # median of 6 x 10,000 and 6 x 400: 5,200
    assert by_check(feed_rows("2020-01", {"events": "every_batch"}, audit(counts), wide))[
        "events", FEED_INCOMPLETE
    ]["flagged"]


def test_too_few_previous_batches_is_insufficient_and_said_not_alarmed():
    counts = {"events": {"2020-01": 1000, "2020-02": 1000, "2020-03": 10}}
    rows = feed_rows("2020-03", {"events": "every_batch"}, audit(counts), SPEC)
    incomplete = by_check(rows)["events", FEED_INCOMPLETE]
    assert (
        incomplete["status"] == "insufficient" and not incomplete["flagged"] and incomplete["value"] is None
    )
    signals = monitoring_decision.signals([], [], {"batch_id": "2020-03", "version": "1"}, {}, rows)
    assert signals["feed_alarms"] == [] and signals["feeds_unassessed"] == ["events"]
    decision, reasons = policy_decision(WindowSignals(**signals), History(), Policy())
    assert decision == NONE
    assert "completeness not assessed (too few previous batches): events" in reasons


def test_a_feed_alarm_alerts_and_never_retrains_even_with_retrain_on_quality_alarm():
    counts = {**FULL, "answers": {m: 500 for m in MONTHS[:-1]}}
    rows = feed_rows("2020-05", ARRIVALS, audit(counts), SPEC)
    signals = monitoring_decision.signals([], [], {"batch_id": "2020-05", "version": "1"}, {}, rows)
    assert signals["feed_alarms"] == ["feed_missing: feed 'answers' did not land for batch 2020-05"]
    for policy in (Policy(), Policy(retrain_on_quality_alarm=True)):
        decision, reasons = policy_decision(WindowSignals(**signals), History(), policy)
        assert decision == ALERT
        assert "data quality (feeds): feed_missing: feed 'answers' did not land for batch 2020-05" in reasons


def test_the_report_shows_each_feed_check():
    counts = {**FULL, "events": {**FULL["events"], "2020-05": 120}}
    rows = feed_rows("2020-05", ARRIVALS, audit(counts), SPEC)
    blank = plt.figure()
    decision = {"batch_id": "2020-05", "model_name": "m", "model_version": "1", "decision": "alert"}
    page = report.render(
        {**decision, "reasons": feed_alarms(rows, "2020-05")},
        pd.DataFrame(columns=["kind"]),
        pd.DataFrame(),
        {"drift": blank, "scores": blank, "performance": blank},
        feeds=rows,
    )
    assert "Feed freshness and completeness" in page
    assert '<tr class="flagged"><td>events</td><td>feed_incomplete</td><td>120</td><td>1000</td>' in page
    assert "feed_incomplete: feed &#x27;events&#x27; batch 2020-05 has 120 accepted rows" in page


@pytest.mark.parametrize(
    ("feeds", "message"),
    [
        ({"completeness_min_ratio": 0}, "feeds.completeness_min_ratio: Input should be greater than 0"),
        ({"completeness_min_ratio": 1.5}, "feeds.completeness_min_ratio: Input should be less than or equal"),
        ({"completeness_window": 0}, "feeds.completeness_window: Input should be greater than or equal to 1"),
        (
            {"completeness_window": 2},
            r"completeness_min_batches \(3\) must not exceed completeness_window \(2\)",
        ),
        ({"min_ratio": 0.5}, "feeds.min_ratio: Extra inputs are not permitted"),
    ],
)
def test_bad_feed_settings_name_the_key(feeds, message):
    with pytest.raises(ConfigError, match=rf"parameters_monitoring.yml.*{message}"):
        parse_monitoring({"feeds": feeds})


def test_arrives_is_declared_per_feed_and_checked():
    feed = {"key": ["id"], "columns": {"id": {"type": "string"}}}
    assert parse_rules({"feeds": {"a": feed}}).arrivals == {"a": "every_batch"}  # the default
    with pytest.raises(ConfigError, match=r"feeds\.a\.arrives: Input should be 'every_batch' or 'once'"):
        parse_rules({"feeds": {"a": {**feed, "arrives": "monthly"}}})


@pytest.mark.parametrize(
    ("usecase", "once"), [("flights", {"airlines", "airports", "planes"}), ("car_loans", set())]
)
def test_shipped_use_cases_declare_their_reference_feeds(usecase, once):
    import yaml

    raw = yaml.safe_load(
        (PROJECT_ROOT / f"conf/base/usecases/{usecase}/parameters_ingestion.yml").read_text()
    )
    arrivals = parse_rules(raw["ingestion"]).arrivals
    assert {f for f, how in arrivals.items() if how == "once"} == once


def test_the_feed_settings_are_shipped_and_documented_with_their_defaults():
    import yaml

    shipped = yaml.safe_load((PROJECT_ROOT / "conf/base/parameters_monitoring.yml").read_text())
    assert shipped["monitoring"]["feeds"] == Feeds().model_dump()
    documented = (PROJECT_ROOT / "docs/configuration.md").read_text()
    for key, default in Feeds().model_dump().items():
        assert f"| `feeds.{key}` | {default:g} |" in documented
