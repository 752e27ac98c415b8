"""Point MLflow's process-wide tracking and registry at one store for a while, and put back exactly
what was there (module globals and environment variables).

``mlflow.set_tracking_uri``/``set_registry_uri`` also export ``MLFLOW_*_URI`` to the environment, and
reading the registry URI back resolves it: a test that "restores" with the setters pins every later
test's registry to its own store. This helper restores the raw values instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from mlflow.tracking._model_registry import utils as registry_utils
from mlflow.tracking._tracking_service import utils as tracking_utils


@contextmanager
def active_store(uri: str) -> Iterator[None]:
    """Tracking at ``uri`` and the registry following it (as kedro-mlflow sets them for a run)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_TRACKING_URI", uri)
        patch.delenv("MLFLOW_REGISTRY_URI", raising=False)
        patch.setattr(tracking_utils, "_tracking_uri", uri)
        patch.setattr(registry_utils, "_registry_uri", None)
        yield
