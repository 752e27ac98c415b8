"""Point-in-time correctness of the gold features on real Spark, against brute-force oracles:
the weather a flight gets is the latest observation at its origin not after its scheduled hour and at
most ``max_age_hours`` old; trailing late rates use only outcomes known before the flight's cutoff."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from lakehouse_mlops.usecases.flights.nodes import build_flight_features
from tests.conftest import project_parameters

ORIGINS = ["EWR", "JFK", "LGA"]


@pytest.fixture(scope="module")
def features() -> dict:
    return project_parameters()["features"]


USECASE = project_parameters()["usecase"]


def flights_frame(spark, rows: list[dict]):
    columns = ["flight_key", "flight_date", "_batch_id", "time_hour", "minute", "hour", "carrier"]
    columns += ["origin", "dest", "distance", "tailnum"]
    frame = pd.DataFrame(rows)
    frame["_batch_id"] = frame["flight_date"].map(lambda d: d.strftime("%Y-%m"))
    frame["hour"] = frame["time_hour"].map(lambda t: t.hour)
    defaults = {"minute": 0, "carrier": "UA", "dest": "ORD", "distance": 719.0, "tailnum": "N1"}
    for column, value in defaults.items():
        frame[column] = frame.get(column, value)
    return spark.createDataFrame(frame[columns])


def no_planes(spark):
    return spark.createDataFrame(
        [], "tailnum string, year int, manufacturer string, seats int, engine string"
    )


def labels_frame(spark, rows: list[tuple]):
    schema = "flight_date date, carrier string, origin string, dest string, is_late boolean"
    return spark.createDataFrame(rows, schema)


def weather_frame(spark, rows: list[dict], columns: list[str]):
    frame = pd.DataFrame(rows)
    for column in columns:
        frame[column] = frame.get(column, np.nan)
    return spark.createDataFrame(frame[["origin", "time_hour", *columns]])


def expected_weather(flights: pd.DataFrame, weather: pd.DataFrame, max_age: int) -> dict[str, tuple]:
    """flight_key → (temp, age in hours) of the latest eligible observation, by brute force."""
    expected = {}
    for flight in flights.itertuples():
        at_origin = weather[
            (weather.origin == flight.origin)
            & (weather.time_hour <= flight.time_hour)
            & (weather.time_hour >= flight.time_hour - timedelta(hours=max_age))
        ]
        if at_origin.empty:
            expected[flight.flight_key] = (None, None)
        else:
            latest = at_origin.sort_values("time_hour").iloc[-1]
            age = (flight.time_hour - latest.time_hour).total_seconds() / 3600
            expected[flight.flight_key] = (latest.temp, age)
    return expected


def test_weather_is_the_latest_observation_at_the_origin_not_after_the_scheduled_hour(spark, features):
    """Random observations (some off the hour, gaps of several hours) and flights at every hour."""
    rng = np.random.default_rng(7)
    start = datetime(2013, 3, 1)
    observed = []
    for origin in ORIGINS:
        minutes = np.sort(rng.choice(np.arange(0, 72 * 60, 20), size=60, replace=False))
        observed += [
            {"origin": origin, "time_hour": start + timedelta(minutes=int(m)), "temp": float(i)}
            for i, m in enumerate(minutes)
        ]
    weather = pd.DataFrame(observed)
    schedule = [
        {
            "flight_key": f"{origin}-{hour}",
            "flight_date": (start + timedelta(hours=hour)).date(),
            "time_hour": start + timedelta(hours=hour),
            "origin": origin,
        }
        for origin in ORIGINS
        for hour in range(0, 80)
    ]
    columns = features["weather"]["columns"]
    gold = build_flight_features(
        flights_frame(spark, schedule),
        weather_frame(spark, observed, columns),
        no_planes(spark),
        labels_frame(spark, []),
        features,
        USECASE,
    )
    got = {r["flight_key"]: (r["wx_temp"], r["wx_age_hours"]) for r in gold.collect()}
    assert gold.count() == len(schedule)  # one row per flight, none dropped or repeated
    expected = expected_weather(pd.DataFrame(schedule), weather, features["weather"]["max_age_hours"])
    assert got.keys() == expected.keys()
    wrong = {k: (got[k], expected[k]) for k in expected if not same(got[k], expected[k])}
    assert not wrong, wrong
    # the oracle's cases all occur: exact hour, older within the bound, off-the-hour, and none at all
    ages = [age for _, age in expected.values()]
    assert 0.0 in ages and 3.0 in ages and any(a and a % 1 for a in ages) and None in ages


def same(got: tuple, expected: tuple) -> bool:
    return all(
        (g is None and e is None) or (g is not None and e is not None and abs(g - e) < 1e-9)
        for g, e in zip(got, expected, strict=True)
    )


def test_trailing_rates_use_only_outcomes_known_before_the_cutoff(spark, features):
    """A May flight's cutoff is May 1st, when April's outcomes land (one month late): it sees outcomes
    of flights in the 30 days before May 1st, none of May's and none older."""
    trailing = features["trailing"]
    flight = {
        "flight_key": "k",
        "flight_date": date(2013, 5, 20),
        "time_hour": datetime(2013, 5, 20, 9),
        "origin": "EWR",
    }
    known = [(date(2013, 4, 10 + i), "UA", "EWR", "ORD", i < 4) for i in range(10)]  # 4 late of 10
    unknown = [(date(2013, 5, d), "UA", "EWR", "ORD", True) for d in (1, 10, 19)]  # land in June
    too_old = [(date(2013, 3, 31), "UA", "EWR", "ORD", True)]  # before the 30-day window
    other = [(date(2013, 4, 15), "AA", "JFK", "LAX", False)] * 10  # counts only in the overall rate
    gold = build_flight_features(
        flights_frame(spark, [flight]),
        weather_frame(spark, [{"origin": "EWR", "time_hour": datetime(2013, 5, 20, 8)}], []),
        no_planes(spark),
        labels_frame(spark, known + unknown + too_old + other),
        {**features, "weather": {**features["weather"], "columns": []}},
        USECASE,
    ).first()
    prior = trailing["prior_strength"]
    overall = 4 / 20
    window = trailing["window_days"]
    assert gold[f"carrier_flights_{window}d"] == 10 and gold[f"route_flights_{window}d"] == 10
    assert gold[f"carrier_late_rate_{window}d"] == pytest.approx((4 + prior * overall) / (10 + prior))
