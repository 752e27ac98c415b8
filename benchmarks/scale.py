"""Scale generator for benchmarks: the 2013 flights grown (or thinned) to N rows in the landing zone.

Deterministic: the same N always yields byte-identical files. Copy ``k`` of a flight keeps its date,
carrier, flight number, route, plane and time_hour, and moves its scheduled minute within the same
hour (``minute = (minute + k) % 60``, ``sched_dep_time = hour * 100 + minute``), so every copy is a new
flight key (date|carrier|flight|origin|sched_dep_time) that still passes the flights rules, and the
column distributions stay those of the year. Whole copies come first; the last, partial copy takes
the first rows of a fixed random permutation of the year (so N = 100,000 is a uniform 30 % sample
spread over the 12 months). Keys that collide after the shift (two flights with the same carrier,
number and origin in the same hour) are dropped, from the flights and the outcomes alike.

Outcomes keep their delays (dep_time/arr_time, never features, are left as they were). Weather and
the reference feeds are the simulator's, unchanged. Outcomes of a month land with the next batch, as
the simulator does (so December's outcomes are not landed).

    python benchmarks/scale.py --rows 1000000 --landing /tmp/landing
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

from lakehouse_mlops.framework.landing import landing_path, write_landing_file
from lakehouse_mlops.usecases.flights import source as simulator

YEAR = simulator.months("2013-01", "2013-12")
KEY = ["year", "month", "day", "carrier", "flight", "origin", "sched_dep_time"]
MAX_COPIES = 60  # one per minute of the hour: more copies would repeat keys
PERMUTATION_SEED = 2013


@cache
def _ranks() -> np.ndarray:
    """A fixed random rank of every row of the year (the order in which a partial copy takes rows)."""
    rows = len(simulator._table("flights"))
    ranks = np.empty(rows, dtype=np.int64)
    ranks[np.random.default_rng(PERMUTATION_SEED).permutation(rows)] = np.arange(rows)
    return ranks


def copies_for(total_rows: int) -> int:
    base = len(simulator._table("flights"))
    copies = -(-total_rows // base)
    if total_rows < 1 or copies > MAX_COPIES:
        raise ValueError(f"rows must be between 1 and {MAX_COPIES * base:,} (got {total_rows:,})")
    return copies


def scaled_month(month: str, total_rows: int) -> pd.DataFrame:
    """Every column of the flights table for the scheduled flights of ``month`` at scale ``total_rows``."""
    flights = simulator._table("flights")
    base = len(flights)
    in_month = simulator._of_month(flights, month)
    ranks = _ranks()[in_month.index.to_numpy()]
    parts = []
    for k in range(copies_for(total_rows)):
        part = in_month[k * base + ranks < total_rows].copy()
        minute = (part["minute"] + k) % 60
        part["minute"] = minute
        part["sched_dep_time"] = part["hour"] * 100 + minute
        parts.append(part)
    scaled = pd.concat(parts, ignore_index=True)
    return scaled[~scaled.duplicated(KEY, keep="first")].reset_index(drop=True)


def feeds_for_month(month: str, total_rows: int) -> dict[str, pd.DataFrame]:
    """What the source systems would send for batch ``month`` at scale ``total_rows``."""
    feeds = simulator.feeds_for_month(month)  # weather and references unchanged
    feeds["flights"] = scaled_month(month, total_rows)[simulator.FLIGHT_SCHEDULE]
    if "outcomes" in feeds:
        feeds["outcomes"] = scaled_month(simulator.previous_month(month), total_rows)[
            simulator.FLIGHT_OUTCOME
        ]
    return feeds


def land_month(month: str, landing_root: Path, total_rows: int, suffix: str = ".csv") -> list[Path]:
    """Write every feed of batch ``month`` as the simulator names them."""
    return [
        write_landing_file(frame, landing_path(landing_root, feed, month, suffix))
        for feed, frame in feeds_for_month(month, total_rows).items()
    ]


def land_year(landing_root: Path, total_rows: int, suffix: str = ".csv") -> list[Path]:
    return [path for month in YEAR for path in land_month(month, landing_root, total_rows, suffix)]


def lander(total_rows: int) -> Callable[[str, Path, str], list[Path]]:
    """A lander for ``lakehouse_mlops.ops.loop.Loop``: batches at scale ``total_rows`` per year."""

    def land(batch_id: str, landing_root: Path, suffix: str) -> list[Path]:
        return land_month(batch_id, landing_root, total_rows, suffix)

    return land


def compare_means(total_rows: int, columns: tuple[str, ...] = ("distance", "hour", "arr_delay", "dep_delay")):
    """Column means of the original year vs the scaled year (rows, mean per column), month by month
    (the scaled year is never held in memory whole)."""
    original = simulator._table("flights")
    rows, sums, counts = 0, dict.fromkeys(columns, 0.0), dict.fromkeys(columns, 0)
    for month in YEAR:
        scaled = scaled_month(month, total_rows)
        rows += len(scaled)
        for c in columns:
            sums[c] += float(scaled[c].sum())
            counts[c] += int(scaled[c].count())
    return pd.DataFrame(
        {
            "original": [len(original), *[original[c].mean() for c in columns]],
            "scaled": [rows, *[sums[c] / counts[c] for c in columns]],
        },
        index=["rows", *[f"mean {c}" for c in columns]],
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m scale", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--rows", type=int, required=True, help="total flight rows over 2013")
    parser.add_argument("--landing", type=Path, required=True, help="landing zone root to write into")
    parser.add_argument("--suffix", default=".csv")
    parser.add_argument("--compare", action="store_true", help="print column means original vs scaled")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    paths = land_year(args.landing, args.rows, args.suffix)
    flights = sum(sum(1 for _ in open(p)) - 1 for p in paths if p.parent.parent.name == "flights")
    print(
        f"{len(paths)} files, {flights:,} flight rows in {args.landing} ({time.perf_counter() - start:.1f} s)"
    )
    if args.compare:
        print(compare_means(args.rows).to_string(float_format=lambda v: f"{v:,.3f}"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
