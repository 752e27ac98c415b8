"""Labelled examples and time windows: one definition for training, the gate, reproduce and replay.

A labelled example is a gold feature row joined, on the entity key, with its known label. Windows
are cut on the use case's event time, counted back from the latest labelled one: test (the last
``test_days`` days), validation (the ``validation_days`` before), train (everything before, or
``train_days``). Window bounds are days (midnight), the test window ends at the latest event time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from lakehouse_mlops.framework.usecase import UseCase

WINDOW_TAGS = ("train_start", "valid_start", "test_start", "test_end")


def labelled_rows(features: DataFrame, labels: DataFrame, usecase: UseCase, *extra: str) -> DataFrame:
    """Feature rows with a known label (Spark): key, event time, batch, features, ``extra``, label."""
    key, label = usecase.entity_key, usecase.label.column
    known = labels.filter(F.col(label).isNotNull()).select(key, label)
    columns = _unique([key, usecase.event_time, usecase.batch.column, *usecase.features.all, *extra, label])
    return features.join(known, key).select(*[F.col(f"`{c}`") for c in columns])


def labelled_examples(features: DataFrame, labels: DataFrame, usecase: UseCase, *extra: str) -> pd.DataFrame:
    """``labelled_rows`` as pandas (the training table)."""
    return labelled_rows(features, labels, usecase, *extra).toPandas()


def _unique(columns: list[str]) -> list[str]:
    return list(dict.fromkeys(columns))


def _stamp(moment: pd.Timestamp) -> str:
    """A date when the moment is midnight (daily data reads as before), else an ISO timestamp."""
    return str(moment.date()) if moment == moment.normalize() else moment.isoformat()


@dataclass(frozen=True)
class TimeWindows:
    """[train_start, valid_start) train, [valid_start, test_start) validation, [test_start, test_end] test."""

    train_start: str
    valid_start: str
    test_start: str
    test_end: str

    @classmethod
    def count_back(
        cls, times: pd.Series, test_days: int, validation_days: int, train_days: int | None = None
    ) -> TimeWindows:
        moments = pd.to_datetime(times)
        last = moments.max()
        test_start = last.normalize() - timedelta(days=test_days - 1)
        valid_start = test_start - timedelta(days=validation_days)
        first = moments.min() if train_days is None else valid_start - timedelta(days=train_days)
        return cls(_stamp(first), _stamp(valid_start), _stamp(test_start), _stamp(last))

    @classmethod
    def from_tags(cls, tags: dict[str, str]) -> TimeWindows:
        """The windows a model version recorded (``window.*`` tags)."""
        return cls(**{name: tags[f"window.{name}"] for name in WINDOW_TAGS})

    def as_tags(self) -> dict[str, str]:
        return {name: getattr(self, name) for name in WINDOW_TAGS}

    def split(
        self, examples: pd.DataFrame, event_time: str
    ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        moments = pd.to_datetime(examples[event_time])
        start, valid, test, end = (pd.Timestamp(getattr(self, n)) for n in WINDOW_TAGS)
        train_rows = examples[(moments >= start) & (moments < valid)]
        valid_rows = examples[(moments >= valid) & (moments < test)]
        test_rows = examples[(moments >= test) & (moments <= end)]
        return train_rows, valid_rows, test_rows

    def reference(self, frame: DataFrame, event_time: str) -> DataFrame:
        """The rows a model version learned from (train + validation), on Spark."""
        column = F.col(f"`{event_time}`")
        return frame.filter((column >= F.lit(self.train_start)) & (column < F.lit(self.test_start)))

    def test(self, frame: DataFrame, event_time: str) -> DataFrame:
        """The rows of the test window, on Spark."""
        return frame.filter(F.col(f"`{event_time}`").between(self.test_start, self.test_end))
