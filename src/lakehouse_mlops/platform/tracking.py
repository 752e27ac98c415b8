"""MLflow run hygiene when several pipelines run in one process, and the tracking server's check."""

from __future__ import annotations

import time
from urllib.parse import urlsplit, urlunsplit

import mlflow
import requests
from kedro_mlflow.framework.hooks.mlflow_hook import mlflow_hook
from mlflow.exceptions import MlflowException
from mlflow.tracking import fluent

from lakehouse_mlops.framework.errors import LakehouseError


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


class TrackingServerError(LakehouseError):
    """The MLflow tracking server (and its registry) cannot be reached."""


def check_tracking_server(uri: str, attempts: int = 3, timeout: float = 5.0, pause: float = 2.0) -> None:
    """Fail fast, naming the server, when an HTTP tracking URI does not answer.

    Without this, MLflow's client retries every call for ~4 minutes (7 retries with backoff) before
    failing, and the first call comes from kedro-mlflow while the session starts. Any HTTP answer,
    even 401 or 404, means the server is up: credentials and permissions are checked by the calls
    themselves. Local stores (``sqlite:///…``) and ``databricks`` are not checked.
    """
    if not uri.startswith(("http://", "https://")):
        return
    parts = urlsplit(uri)  # shown without the password it may carry
    host = f"{parts.hostname}:{parts.port}" if parts.port else parts.hostname
    shown = urlunsplit((parts.scheme, host, parts.path, "", ""))
    error: Exception | None = None
    for attempt in range(attempts):
        if attempt:
            time.sleep(pause)
        try:
            requests.get(f"{uri.rstrip('/')}/health", timeout=timeout)
            return
        except requests.RequestException as exc:
            error = exc
    raise TrackingServerError(
        f"the MLflow tracking server {shown} is unreachable ({type(error).__name__} after {attempts} "
        "attempts), so this stops here, before it needs the server: start it, or point "
        "server.mlflow_tracking_uri (MLFLOW_TRACKING_URI in deployed envs) at a running one, then "
        "run again (a cycle resumes where it stopped)"
    )
