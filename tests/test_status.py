"""`kedro status` reads only the model registry: it must answer without starting Spark."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT, project_parameters
from tests.small_lakehouse import copy_lakehouse

MODEL = project_parameters()["usecase"]["model"]["registered_name"]
KEDRO = Path(sys.executable).parent / "kedro"


@pytest.mark.integration
def test_status_answers_from_the_registry_without_starting_spark(small_champion_lakehouse, tmp_path):
    project = copy_lakehouse(small_champion_lakehouse, tmp_path)
    # a Spark that cannot start: the command fails if anything in it starts Spark
    env = {**os.environ, "SPARK_HOME": str(tmp_path / "no-spark-here"), "KEDRO_DISABLE_TELEMETRY": "1"}
    start = time.perf_counter()
    done = subprocess.run(
        [str(KEDRO), "status", "--conf-source", str(project / "conf")],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    print(f"kedro status: {time.perf_counter() - start:.1f} s")
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"champion   {MODEL} version 1" in done.stdout
    assert "test_roc_auc" in done.stdout
