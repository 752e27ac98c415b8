"""MLflow run hygiene when several pipelines run in one process."""

from __future__ import annotations

import mlflow
from mlflow.exceptions import MlflowException
from mlflow.tracking import fluent


def end_leftover_runs() -> int:
    """End every MLflow run still active in this thread; returns how many were ended.

    kedro-mlflow 2.0.3 leaves its pipeline run on MLflow's active-run stack (its artifact and metric
    datasets re-enter the run); a second pipeline in the same process would then log into the first
    pipeline's run and fail on changed parameters. Call this after each ``session.run``.
    """
    ended = 0
    while mlflow.active_run() is not None:
        try:
            mlflow.end_run()
        except MlflowException:
            # started against another tracking store (the URI changed since): it cannot be ended
            # here, only forgotten, or every later run in this process would fail on it
            fluent._active_run_stack.get().pop()
        ended += 1
    return ended
