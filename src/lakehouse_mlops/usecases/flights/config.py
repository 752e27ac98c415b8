"""Feature definitions, parsed once from ``parameters_features.yml``."""

from __future__ import annotations

from datetime import date
from typing import Any

from lakehouse_mlops.framework.config import StrictModel, parse_config

SOURCE = "conf/base/usecases/flights/parameters_features.yml (key 'features')"


class LabelSpec(StrictModel):
    late_threshold_minutes: float = 15
    cancelled_as_late: bool = False


class WeatherSpec(StrictModel):
    max_age_hours: int = 3
    columns: list[str]


class TrailingSpec(StrictModel):
    window_days: int = 30
    prior_strength: float = 20.0
    entities: dict[str, list[str]]


class FeatureSpec(StrictModel):
    batch_id: str | None = None  # None: every batch; the cycle builds only the batch it processes
    label: LabelSpec = LabelSpec()
    holidays: list[date]
    weather: WeatherSpec
    trailing: TrailingSpec
    descriptions: dict[str, str] = {}


def parse_features(raw: dict[str, Any]) -> FeatureSpec:
    return parse_config(FeatureSpec, raw, SOURCE)
