"""A small real lakehouse for integration tests: United Airlines flights from EWR only.

The same filter applies to every month landed, so the history (Jan–Apr 2013) and the loop's later
batches stay consistent and a month takes seconds, not minutes, to process.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import mlflow

from lakehouse_mlops.framework.landing import landing_path, write_landing_file
from lakehouse_mlops.ops.sandbox import make_sandbox
from lakehouse_mlops.platform.tracking import end_leftover_runs
from lakehouse_mlops.usecases.flights import source as simulator
from tests.conftest import PROJECT_ROOT, run_pipeline

FAST_TRAINING = {
    "training": {
        "search": {
            "max_evals": 4,
            "parallelism": 2,
            "early_stop_rounds": 3,
            "space": {
                "learning_rate": {"distribution": "loguniform", "low": 0.05, "high": 0.2},
                "max_iter": {"distribution": "quniform", "low": 50, "high": 100, "q": 50},
            },
        },
        "profile_sample_rows": 500,
        "shap_sample_rows": 100,
        "importance_sample_rows": 500,
    }
}
PROMOTION_BARS = {"usecase": {"gate": {"absolute": {"roc_auc": 0.6}, "min_rows": 200}}}
#: a hair-trigger policy, so that a short replay exercises retraining, the gate and the cooldown
EAGER_POLICY = {
    "monitoring": {
        "policy": {"drift_share_threshold": 0.1, "drift_consecutive_windows": 1, "cooldown_windows": 3}
    }
}
REPLAYED_MONTHS = ["2013-05", "2013-06", "2013-07"]


def dotlist(params: dict, prefix: str = "") -> list[str]:
    """Nested parameters as ``--params`` items (``key.sub=value``) for `kedro run` or `kedro cycle`."""
    items = []
    for key, value in params.items():
        name = f"{prefix}{key}"
        items += dotlist(value, f"{name}.") if isinstance(value, dict) else [f"{name}={value}"]
    return items


def land_small_month(month: str, landing_root: Path, suffix: str = ".csv") -> list[Path]:
    written = []
    for feed, frame in simulator.feeds_for_month(month).items():
        if feed in ("flights", "outcomes"):
            frame = frame[(frame["carrier"] == "UA") & (frame["origin"] == "EWR")]
        written.append(write_landing_file(frame, landing_path(landing_root, feed, month, suffix)))
    return written


def build_history_and_champion(project: Path) -> Path:
    """Land Jan–Apr, ingest, build features, train (fast search) and promote the first champion."""
    for month in simulator.months("2013-01", "2013-04"):
        land_small_month(month, project / "data" / "01_landing")
    run_pipeline(project, "ingestion")
    run_pipeline(project, "features")
    run_pipeline(project, "training", FAST_TRAINING)
    run_pipeline(project, "promotion", PROMOTION_BARS)
    return project


def copy_lakehouse(template: Path, target: Path) -> Path:
    """A private copy of a built lakehouse (tables, MLflow store) for tests that change it.

    Lineage tags and artifact locations in the copied store still point into ``template``, which
    stays unchanged: the copies read the same pinned table versions and model files.
    """
    shutil.copytree(template / "data", target / "data")
    shutil.copy(template / "mlflow.db", target / "mlflow.db")
    # the copy's store becomes the active one (Kedro sessions set it too, but tests read it directly)
    end_leftover_runs()
    mlflow.set_tracking_uri(f"sqlite:///{target / 'mlflow.db'}")
    return make_sandbox(PROJECT_ROOT, target)


def copy_own_lakehouse(template: Path, target: Path, model: str) -> Path:
    """A copy of ``template`` whose model versions pin the copy's own tables (its lineage tags point into
    ``target``), for tests and benchmarks that vacuum it: the template's files are never touched."""
    from mlflow.tracking import MlflowClient

    from lakehouse_mlops.framework.model_registry import LINEAGE_PREFIX

    project = copy_lakehouse(template, target)
    client = MlflowClient()
    for version in client.search_model_versions(f"name='{model}'"):
        for key, value in version.tags.items():
            if key.startswith(LINEAGE_PREFIX) and key.endswith(".path"):
                parts = Path(value).parts
                inside = parts[len(parts) - parts[::-1].index("data") :]
                moved = str(target / "data" / Path(*inside))
                client.set_model_version_tag(model, version.version, key, moved)
    return project


def make_loop(project: Path, extra: dict | None = None, full: bool = False, lander=land_small_month):
    """The loop on a small lakehouse: fast training, test gate bars, small landings."""
    from lakehouse_mlops.ops.loop import Loop

    params = {**FAST_TRAINING, **PROMOTION_BARS, **(extra or {})}
    conf = str(project / "conf")
    return Loop(PROJECT_ROOT, conf_source=conf, params=params, lander=lander, full=full)
