"""Freshness and completeness for real: May's cycle on a copy of the small lakehouse (Jan–Apr ingested,
a champion), with May's weather never landing and its flights landing a tenth of their rows. The
monitoring run reads the ingestion audit (Delta) and names both feeds and the batch in the metrics
table, the recorded decision and the report; the reference feeds landed in January raise nothing."""

from __future__ import annotations

from pathlib import Path
from statistics import median

import pytest
from pyspark.sql import functions as F

from lakehouse_mlops.framework.landing import landing_path, write_landing_file
from lakehouse_mlops.usecases.flights import source as simulator
from tests.small_lakehouse import copy_lakehouse, make_loop

pytestmark = pytest.mark.integration
BATCH = "2013-05"


def land_short_month(month: str, landing_root: Path, suffix: str = ".csv") -> list[Path]:
    """The small lakehouse's landing of ``month`` without its weather file and with every tenth flight."""
    written = []
    for feed, frame in simulator.feeds_for_month(month).items():
        if feed == "weather":
            continue
        if feed in ("flights", "outcomes"):
            frame = frame[(frame["carrier"] == "UA") & (frame["origin"] == "EWR")]
        if feed == "flights":
            frame = frame.iloc[::10]
        written.append(write_landing_file(frame, landing_path(landing_root, feed, month, suffix)))
    return written


@pytest.fixture(scope="module")
def short_may(small_champion_lakehouse, tmp_path_factory) -> Path:
    project = copy_lakehouse(small_champion_lakehouse, tmp_path_factory.mktemp("short_may"))
    result = make_loop(project, lander=land_short_month).cycle(BATCH, echo=lambda _: None)
    assert result.ok, [s.line() for s in result.stages]
    assert result.decision == "alert", result.headline()
    return project


def delta(spark, project: Path, path: str):
    return spark.read.format("delta").load(str(project / "data" / path))


def test_a_missing_and_a_short_feed_are_alarms_in_metrics_decision_and_report(short_may, spark):
    audit = delta(spark, short_may, "03_silver/_ingestion_audit").filter(F.col("feed") == "flights")
    accepted = {r["_batch_id"]: r["silver"] for r in audit.collect()}
    trailing = median(accepted[b] for b in ("2013-01", "2013-02", "2013-03", "2013-04"))
    metrics = delta(spark, short_may, "05_ml/monitoring_metrics").filter(F.col("monitored_batch_id") == BATCH)
    feeds = {
        (r["feature"], r["metric"]): r for r in metrics.filter(F.col("kind") == "feed_quality").collect()
    }

    assert (
        feeds["weather", "feed_missing"]["flagged"] and feeds["weather", "feed_missing"]["batch_id"] == BATCH
    )
    assert ("weather", "feed_incomplete") not in feeds
    short = feeds["flights", "feed_incomplete"]
    assert short["flagged"] and short["current_rows"] == accepted[BATCH] < 0.2 * trailing
    assert short["reference_rows"] == round(trailing) and short["threshold"] == 0.5
    assert short["value"] == pytest.approx(accepted[BATCH] / trailing)
    # April's labels landed whole; the reference feeds came once, in January, and are not expected again
    assert feeds["outcomes", "feed_incomplete"]["status"] == "ok"
    assert not any(
        feeds[f, "feed_missing"]["flagged"] for f in ("outcomes", "airlines", "airports", "planes")
    )
    summary = metrics.filter((F.col("kind") == "summary") & (F.col("metric") == "feed_alarms")).first()
    assert summary["value"] == 2 and summary["flagged"]

    decision = (
        delta(spark, short_may, "05_ml/decisions")
        .filter((F.col("kind") == "monitoring") & (F.col("batch_id") == BATCH))
        .first()
    )
    assert decision["decision"] == "alert"
    reasons = " | ".join(decision["reasons"])
    assert f"feed_missing: feed 'weather' did not land for batch {BATCH}" in reasons
    assert f"feed_incomplete: feed 'flights' batch {BATCH} has {accepted[BATCH]} accepted rows" in reasons
    report = (short_may / f"data/08_reporting/monitoring/batches/{BATCH}.html").read_text()
    assert "Feed freshness and completeness" in report and "did not land for batch 2013-05" in report
