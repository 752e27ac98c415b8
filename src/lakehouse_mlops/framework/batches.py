"""Batch ids and their cadence: how a batch is named, when it starts, which batches lie between two.

A batch id names the period its rows arrived in, at one cadence per use case:

======== ================== =====================================
cadence  batch id           example
======== ================== =====================================
hour     ``YYYY-MM-DDTHH``  ``2024-03-01T07`` (the hour from 07:00)
day      ``YYYY-MM-DD``     ``2024-03-01``
week     ``YYYY-Www``       ``2024-W09`` (ISO week, from Monday)
month    ``YYYY-MM``        ``2024-03``
======== ================== =====================================

Ids of one cadence sort as text in time order, which the policy and the tables rely on.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

Cadence = Literal["hour", "day", "week", "month"]
CADENCES: tuple[str, ...] = ("hour", "day", "week", "month")
FORMATS = {"hour": "%Y-%m-%dT%H", "day": "%Y-%m-%d", "week": "%G-W%V", "month": "%Y-%m"}
EXAMPLES = {"hour": "2024-03-01T07", "day": "2024-03-01", "week": "2024-W09", "month": "2024-03"}
SHAPES = {"hour": "YYYY-MM-DDTHH", "day": "YYYY-MM-DD", "week": "YYYY-Www", "month": "YYYY-MM"}


class BatchIdError(ValueError):
    """A batch id that does not name a period of the use case's cadence."""


def batch_start(batch_id: str, cadence: Cadence) -> datetime:
    """The first instant of the batch (naive, in the session time zone: UTC)."""
    try:
        if cadence == "week":
            start = datetime.strptime(f"{batch_id}-1", "%G-W%V-%u")
        else:
            start = datetime.strptime(batch_id, FORMATS[cadence])
    except (ValueError, KeyError) as exc:
        raise BatchIdError(
            f"'{batch_id}' is not a {cadence} batch id (expected e.g. '{EXAMPLES.get(cadence, '?')}')"
        ) from exc
    if batch_id_of(start, cadence) != batch_id:  # e.g. '2013-5' parses but is not the canonical '2013-05'
        raise BatchIdError(
            f"'{batch_id}' is not a {cadence} batch id (write it as '{batch_id_of(start, cadence)}')"
        )
    return start


def batch_id_of(moment: datetime, cadence: Cadence) -> str:
    return moment.strftime(FORMATS[cadence])


#: the batches in one seasonal cycle at each cadence: a day of hours, a week of days, a year of weeks
#: (ISO years of 53 weeks shift the week by one) or of months
SEASON_BATCHES = {"hour": 24, "day": 7, "week": 52, "month": 12}


def next_batch(batch_id: str, cadence: Cadence) -> str:
    return shift_batch(batch_id, cadence, 1)


def shift_batch(batch_id: str, cadence: Cadence, batches: int) -> str:
    """The batch ``batches`` periods after ``batch_id`` (before it when negative)."""
    start = batch_start(batch_id, cadence)
    if cadence == "month":
        months = start.year * 12 + start.month - 1 + batches
        shifted = start.replace(year=months // 12, month=months % 12 + 1)
    else:
        step = {"hour": timedelta(hours=1), "day": timedelta(days=1), "week": timedelta(weeks=1)}[cadence]
        shifted = start + batches * step
    return batch_id_of(shifted, cadence)


def batch_range(first: str, last: str, cadence: Cadence) -> list[str]:
    """``first`` … ``last`` inclusive, in order."""
    if batch_start(last, cadence) < batch_start(first, cadence):
        raise BatchIdError(f"the last batch '{last}' comes before the first '{first}'")
    batches = [first]
    while batches[-1] != last:
        batches.append(next_batch(batches[-1], cadence))
    return batches


def is_batch_id(text: str, cadence: Cadence) -> bool:
    try:
        batch_start(text, cadence)
    except BatchIdError:
        return False
    return True
