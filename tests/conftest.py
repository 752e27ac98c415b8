"""Shared fixtures: one Delta-enabled SparkSession per test session, projects in temp dirs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "1")
os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")

PROJECT_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def spark():
    from lakehouse_mlops.platform.spark_session import build_spark_session

    conf = yaml.safe_load((PROJECT_ROOT / "conf/base/spark.yml").read_text())
    conf.update(yaml.safe_load((PROJECT_ROOT / "conf/local/spark.yml").read_text()))
    conf.update(
        {
            "spark.master": "local[2]",
            "spark.sql.shuffle.partitions": "2",
            # as conf/base/spark.yml: at 2g the million-row ingestion test ran out of heap late in a
            # full suite (the session's JVM holds 50 minutes of tests' Delta logs and plans)
            "spark.driver.memory": "4g",
        }
    )
    session = build_spark_session(conf)
    yield session
    session.stop()


@pytest.fixture(scope="session")
def small_champion_lakehouse(tmp_path_factory, spark) -> Path:
    """Jan–Apr of UA flights from EWR, ingested, with features and a first champion; built once.

    Modules that change it work on a copy (``tests.small_lakehouse.copy_lakehouse``).
    """
    from tests.small_lakehouse import build_history_and_champion

    return build_history_and_champion(make_project(tmp_path_factory.mktemp("small_champion")))


@pytest.fixture(scope="session")
def replayed_lakehouse(tmp_path_factory, small_champion_lakehouse):
    """A copy of the small lakehouse after three months of the loop (May–July, eager policy), as
    `kedro replay` runs them: (project path, timeline, summary)."""
    from lakehouse_mlops.ops.replay import replay
    from tests.small_lakehouse import EAGER_POLICY, REPLAYED_MONTHS, copy_lakehouse, make_loop

    project = copy_lakehouse(small_champion_lakehouse, tmp_path_factory.mktemp("replayed"))
    frame, summary = replay(make_loop(project, EAGER_POLICY), REPLAYED_MONTHS)
    return project, frame, summary


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the project's conf whose lakehouse lives under tmp_path (code stays installed)."""
    return make_project(tmp_path)


def make_project(tmp_path: Path) -> Path:
    from lakehouse_mlops.ops.sandbox import make_sandbox

    return make_sandbox(PROJECT_ROOT, tmp_path)


def run_pipeline(project: Path, pipeline: str, runtime_params: dict | None = None) -> dict:
    """Run a registered pipeline of the installed package against ``project``'s conf, with the runner
    the project's commands use for it."""
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project

    from lakehouse_mlops.ops.loop import runner_for
    from lakehouse_mlops.platform.tracking import end_leftover_runs

    bootstrap_project(PROJECT_ROOT)
    end_leftover_runs()
    try:
        with KedroSession.create(
            project_path=PROJECT_ROOT,
            conf_source=str(project / "conf"),
            runtime_params=runtime_params or {},
        ) as session:
            return session.run(pipeline_names=[pipeline], runner=runner_for(pipeline))
    finally:
        end_leftover_runs()


def project_parameters() -> dict:
    """The project's parameters as a run sees them (base + local, the selected use case's folder)."""
    from kedro.framework.startup import bootstrap_project

    from lakehouse_mlops.platform.kedro_project import config_loader

    bootstrap_project(PROJECT_ROOT)
    return config_loader(PROJECT_ROOT)["parameters"]
