"""Our own policy files (rules, contract, training, gate) parsed once into strict typed objects."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from lakehouse_mlops.framework.errors import ConfigError

Model = TypeVar("Model", bound=BaseModel)
YAML_BOOLEAN_HINT = (
    " (YAML 1.1 reads yes/no/on/off/true/false as booleans: quote it, e.g. 'no': or status: 'off')"
)


class StrictModel(BaseModel):
    """Unknown keys are errors; parsed settings are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def parse_config(model: type[Model], raw: dict[str, Any], source: str) -> Model:
    """Validate ``raw`` as ``model``; every problem is reported with ``source`` and its key path."""
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(_problem(e) for e in exc.errors())
        raise ConfigError(f"{source}: {problems}") from exc


def _problem(error: dict) -> str:
    where = ".".join(str(p) for p in error["loc"])
    message = f"{where}: {error['msg']}"
    if isinstance(error.get("input"), bool) or any(isinstance(p, bool) for p in error["loc"]):
        message += (
            f" — got the boolean {error.get('input')!r}" if isinstance(error.get("input"), bool) else ""
        )
        message += YAML_BOOLEAN_HINT
    return message
