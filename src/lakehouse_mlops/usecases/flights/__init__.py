"""Features: silver → gold ``flight_features`` and ``labels``, point-in-time correct.

Every feature of a flight uses only what was known before its scheduled departure: the schedule,
reference data, the latest weather observation at the origin not after the scheduled hour, and
trailing late-arrival rates computed from outcomes that had landed by then (outcomes of a month land
with the next batch). Definitions and windows: ``conf/base/parameters_features.yml``.
"""

from lakehouse_mlops.usecases.flights.pipeline import create_pipeline

__all__ = ["create_pipeline"]
