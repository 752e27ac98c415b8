"""The car-loans conf as shipped, read without a session (the project's default use case is flights)."""

from __future__ import annotations

import yaml

from tests.conftest import PROJECT_ROOT

FOLDER = PROJECT_ROOT / "conf" / "base" / "usecases" / "car_loans"


def conf(name: str) -> dict:
    """A top-level key of the use case's parameters, e.g. ``usecase`` or ``features``."""
    for path in FOLDER.glob("parameters*.yml"):
        loaded = yaml.safe_load(path.read_text())
        if name in loaded:
            return loaded[name]
    raise KeyError(name)
