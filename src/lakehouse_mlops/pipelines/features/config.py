"""Feature definitions, parsed once from ``parameters_features.yml``."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from lakehouse_mlops.errors import ConfigError

SOURCE = "conf/*/parameters_features.yml (key 'features')"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LabelSpec(_Strict):
    late_threshold_minutes: float = 15
    label_delay_months: int = 1
    cancelled_as_late: bool = False


class WeatherSpec(_Strict):
    max_age_hours: int = 3
    columns: list[str]


class TrailingSpec(_Strict):
    window_days: int = 30
    prior_strength: float = 20.0
    entities: dict[str, list[str]]


class FeatureSpec(_Strict):
    label: LabelSpec = LabelSpec()
    holidays: list[date]
    weather: WeatherSpec
    trailing: TrailingSpec
    descriptions: dict[str, str] = {}

    def describe(self, column: str) -> str | None:
        return self.descriptions.get(column)


def parse_features(raw: dict[str, Any]) -> FeatureSpec:
    try:
        return FeatureSpec.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"{SOURCE}: {problems}") from exc
