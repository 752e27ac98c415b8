"""The benchmark scale generator: N rows, new unique keys that pass the flights rules, labels that join."""

from __future__ import annotations

import pandas as pd
import pytest
from benchmarks import scale

from lakehouse_mlops.usecases.flights import source as simulator

KEY = ["year", "month", "day", "carrier", "flight", "origin", "sched_dep_time"]


def _landed(root, feed: str) -> pd.DataFrame:
    return pd.concat([pd.read_csv(p) for p in sorted(root.glob(f"{feed}/*/{feed}_*.csv"))], ignore_index=True)


def _check_flight_rules(frame: pd.DataFrame) -> None:
    """The range rules of conf/base/parameters_ingestion.yml for flights, checked directly."""
    assert frame["year"].between(2000, 2100).all()
    assert frame["month"].between(1, 12).all()
    assert frame["day"].between(1, 31).all()
    assert frame["flight"].between(1, 9999).all()
    assert frame["hour"].between(0, 23).all()
    assert frame["minute"].between(0, 59).all()
    assert frame["sched_dep_time"].between(0, 2359).all()
    assert frame["sched_arr_time"].between(0, 2359).all()
    assert (frame["sched_dep_time"] == frame["hour"] * 100 + frame["minute"]).all(), "HHMM of hour:minute"
    assert (frame["distance"] > 0).all() and (frame["distance"] <= 6000).all()
    assert frame[["carrier", "origin", "dest", "time_hour"]].notna().all().all()
    tailnums = frame["tailnum"].dropna()
    assert tailnums.str.fullmatch(r"[A-Z0-9]{2,6}").all()


def test_a_small_year_lands_n_rows_with_unique_keys_and_matching_outcomes(tmp_path):
    rows = 20_000
    paths = scale.land_year(tmp_path, rows)
    flights, outcomes = _landed(tmp_path, "flights"), _landed(tmp_path, "outcomes")
    assert abs(len(flights) - rows) <= 12, "N rows up to key collisions"
    assert not flights.duplicated(KEY).any()
    assert set(flights["month"]) == set(range(1, 13)), "spread over the year"
    _check_flight_rules(flights)
    # outcomes of Jan..Nov land with Feb..Dec and join the flights one to one
    expected = flights[flights["month"] < 12][KEY].sort_values(KEY).reset_index(drop=True)
    assert outcomes[KEY].sort_values(KEY).reset_index(drop=True).equals(expected)
    # weather and references are the simulator's files, unchanged
    weather = next(p for p in paths if p.name == "weather_2013-03.csv")
    assert weather.read_bytes() == simulator.land_month("2013-03", tmp_path / "plain")[1].read_bytes()
    # deterministic
    again = scale.land_month("2013-05", tmp_path / "again", rows)
    assert again[0].read_bytes() == (tmp_path / "flights/2013-05/flights_2013-05.csv").read_bytes()


def test_copies_shift_the_minute_within_the_hour_and_keep_distributions():
    base = simulator._of_month(simulator._table("flights"), "2013-02")
    rows = 2 * len(simulator._table("flights"))  # exactly two copies of the year
    doubled = scale.scaled_month("2013-02", rows)
    assert len(base) * 2 - 5 <= len(doubled) <= len(base) * 2
    assert not doubled.duplicated(KEY).any()
    _check_flight_rules(doubled)
    assert set(doubled["time_hour"]) == set(base["time_hour"]), "copies stay in their hour"
    for column in ("distance", "hour", "arr_delay"):
        assert doubled[column].mean() == pytest.approx(base[column].mean(), rel=1e-3)


def test_too_many_copies_are_refused():
    with pytest.raises(ValueError, match="rows must be between"):
        scale.copies_for(61 * len(simulator._table("flights")))
