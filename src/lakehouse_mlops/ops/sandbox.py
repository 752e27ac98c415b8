"""A throwaway lakehouse: a copy of the project's conf whose storage and MLflow store live elsewhere.

Used by the tests and the benchmarks to run the real pipelines without touching ``data/``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

LAYERS = {
    "landing_root": "01_landing",
    "bronze_root": "02_bronze",
    "silver_root": "03_silver",
    "gold_root": "04_gold",
    "ml_root": "05_ml",
    "reporting_root": "08_reporting",
}


def make_sandbox(project_root: Path, target: Path, usecase: str | None = None) -> Path:
    """Copy ``project_root/conf`` to ``target/conf`` pointing the lakehouse and MLflow at ``target``;
    ``usecase`` selects a use case other than the project's default."""
    conf = target / "conf"
    shutil.copytree(project_root / "conf", conf, ignore=shutil.ignore_patterns("credentials*"))
    lake = target / "data"
    roots = {"lakehouse_root": str(lake), **{k: str(lake / v) for k, v in LAYERS.items()}}
    if usecase:
        roots["usecase_name"] = usecase
    (conf / "local" / "globals.yml").write_text(yaml.safe_dump(roots))
    mlflow = yaml.safe_load((conf / "base" / "mlflow.yml").read_text())
    mlflow["server"]["mlflow_tracking_uri"] = f"sqlite:///{target / 'mlflow.db'}"
    # artifacts next to the sandbox's store, not in the project's ./mlruns
    mlflow["tracking"]["experiment"]["create_experiment_kwargs"]["artifact_location"] = str(target / "mlruns")
    (conf / "local" / "mlflow.yml").write_text(yaml.safe_dump(mlflow))
    return target
