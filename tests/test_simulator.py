"""The source simulator: deterministic feeds, outcomes one month late, no leakage in schedules."""

from __future__ import annotations

import pandas as pd

from lakehouse_mlops.usecases.flights import source as simulator


def test_landing_is_deterministic(tmp_path):
    first = simulator.land_month("2013-02", tmp_path / "a")
    second = simulator.land_month("2013-02", tmp_path / "b")
    assert [p.relative_to(tmp_path / "a") for p in first] == [p.relative_to(tmp_path / "b") for p in second]
    for a, b in zip(first, second, strict=True):
        assert a.read_bytes() == b.read_bytes()


def test_feeds_of_a_month(tmp_path):
    feeds = simulator.feeds_for_month("2013-03")
    assert set(feeds) == {"flights", "weather", "outcomes"}
    schedule = feeds["flights"]
    assert not {"dep_time", "dep_delay", "arr_time", "arr_delay", "air_time"} & set(schedule)
    assert set(schedule["month"]) == {3}
    assert set(feeds["outcomes"]["month"]) == {2}, "outcomes arrive one batch late"
    assert set(simulator.feeds_for_month("2013-01")) == {
        "flights",
        "weather",
        "airlines",
        "airports",
        "planes",
    }


def test_landing_files_look_like_a_source_export(tmp_path):
    paths = simulator.land_month("2013-02", tmp_path)
    outcomes = next(p for p in paths if p.parent.parent.name == "outcomes")
    assert outcomes == tmp_path / "outcomes/2013-02/outcomes_2013-02.csv"
    text = outcomes.read_text()
    assert text.splitlines()[0].startswith("year,month,day,carrier,flight")
    first_row = dict(zip(text.splitlines()[0].split(","), text.splitlines()[1].split(","), strict=True))
    assert first_row["dep_time"] == "517"  # integer times stay integers (not 517.0)
    frame = pd.read_csv(outcomes)
    assert len(frame) == 27004  # every January flight, cancelled ones with empty times
    assert not list(tmp_path.rglob(".*.partial"))


def test_months_are_inclusive():
    assert simulator.months("2013-11", "2014-01") == ["2013-11", "2013-12", "2014-01"]
