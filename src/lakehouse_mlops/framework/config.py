"""Our own policy files (rules, features, training, gate) parsed once into strict typed objects."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from lakehouse_mlops.framework.errors import ConfigError

Model = TypeVar("Model", bound=BaseModel)


class StrictModel(BaseModel):
    """Unknown keys are errors; parsed settings are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def parse_config(model: type[Model], raw: dict[str, Any], source: str) -> Model:
    """Validate ``raw`` as ``model``; every problem is reported with ``source`` and its key path."""
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"{source}: {problems}") from exc
