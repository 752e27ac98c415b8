"""MLflow run hygiene when several pipelines run in one process."""

from __future__ import annotations

import mlflow
from kedro_mlflow.framework.hooks.mlflow_hook import mlflow_hook
from mlflow.exceptions import MlflowException
from mlflow.tracking import fluent


def end_leftover_runs() -> int:
    """End every MLflow run still active in this thread and forget kedro-mlflow's last run; returns
    how many runs were ended.

    kedro-mlflow 2.0.3 leaves its pipeline run on MLflow's active-run stack (its artifact and metric
    datasets re-enter the run), and its hook, one instance per process, remembers that run's id: a
    later pipeline with tracking disabled (ingestion, inference) reopens it at every node, so its
    lineage would be written into the earlier run — or it fails when the tracking store changed.
    Call this before and after each ``session.run`` when pipelines share a process.
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
    mlflow_hook.run_id = None
    return ended
