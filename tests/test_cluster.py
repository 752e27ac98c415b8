"""The packaged project on a real Spark standalone cluster (a master and two workers on 127.0.0.1).

Builds the deployable bundle from a copy of the project (``deploy/package.sh``, as ``make package``),
starts the cluster, lands the small history, submits the packaged default pipeline (ingestion →
features → training with SparkTrials → promotion), then the inference and the monitoring pipelines
with ``--env cluster`` through spark-submit, and checks what they left on the shared path: Delta
tables, predictions by the champion, its stored reference profile and drift metrics, the MLflow run
with lineage, the registry's champion, and that every application really ran on the two workers.
Stops the cluster whatever happens.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import mlflow
import pytest
from mlflow.tracking import MlflowClient

from lakehouse_mlops.platform import standalone_cluster
from lakehouse_mlops.platform.standalone_cluster import ClusterSpec
from lakehouse_mlops.usecases.flights import source as simulator
from tests.conftest import PROJECT_ROOT
from tests.servers import free_port
from tests.small_lakehouse import FAST_TRAINING, PROMOTION_BARS, dotlist, land_small_month

pytestmark = [pytest.mark.integration, pytest.mark.cluster, pytest.mark.slow]

PROJECT_FILES = ["pyproject.toml", "README.md", "src", "conf", "deploy"]


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    """``dist/`` built by the packaging script from a clean copy of the project."""
    copy = tmp_path_factory.mktemp("package")
    # what a clean clone holds: tracked and new files, not ignored ones (local conf, secrets, builds)
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", *PROJECT_FILES],
        cwd=PROJECT_ROOT, check=True, capture_output=True, text=True,
    ).stdout.split()  # fmt: skip
    for name in listed:
        if (PROJECT_ROOT / name).is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(PROJECT_ROOT / name, copy / name)
    env = {**os.environ, "BIN": str(Path(sys.executable).parent)}
    subprocess.run(["bash", "deploy/package.sh"], cwd=copy, env=env, check=True, capture_output=True)
    return copy / "dist"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    spec = ClusterSpec(
        state_dir=tmp_path_factory.mktemp("cluster"),
        master_port=free_port(),
        ui_port=free_port(),
        worker_ui_port=0,
        worker_memory="3g",
    )
    try:
        standalone_cluster.up(spec)
        yield spec
    finally:
        standalone_cluster.down(spec)
        assert standalone_cluster.master_state(spec) is None, "the master still answers after down"


def submit(spec: ClusterSpec, bundle: Path, workdir: Path, args: list[str], log: Path) -> str:
    command = standalone_cluster.submit_command(spec, bundle, args, sys.executable)
    # Both through the environment, as an operator would; explicit, because mlflow.set_tracking_uri
    # in this process (other tests) exports MLFLOW_TRACKING_URI to every child process.
    env = {
        **standalone_cluster.submit_env(sys.executable),
        "LAKEHOUSE_ROOT": str(workdir / "lake"),
        "MLFLOW_TRACKING_URI": f"sqlite:///{workdir / 'mlflow.db'}",
    }
    env.pop("MLFLOW_REGISTRY_URI", None)
    with log.open("w") as output:
        done = subprocess.run(command, cwd=workdir, env=env, stdout=output, stderr=subprocess.STDOUT)
    text = log.read_text()
    assert done.returncode == 0, f"spark-submit {' '.join(args)} failed:\n{text[-4000:]}"
    return text


def completed_applications(spec: ClusterSpec, expected: int, timeout: float = 60) -> list[dict]:
    """The master's finished applications, once it has noticed the last driver going away."""
    deadline = time.monotonic() + timeout
    while True:
        finished = standalone_cluster.master_state(spec)["completedapps"]
        if len(finished) >= expected or time.monotonic() > deadline:
            return finished
        time.sleep(1)


def test_packaged_pipelines_run_on_the_standalone_cluster(bundle, cluster, tmp_path, spark):
    assert sorted(p.name for p in bundle.iterdir()) == [
        "conf-lakehouse_mlops.tar.gz",
        "entrypoint.py",
        "lakehouse_mlops-0.1.0-py3-none-any.whl",
        "lakehouse_mlops-0.1.0.zip",
        "log4j2.properties",
    ]
    workdir = tmp_path / "run"
    workdir.mkdir()
    lake = workdir / "lake"
    for month in simulator.months("2013-01", "2013-04"):
        land_small_month(month, lake / "01_landing")

    params = ",".join(dotlist({**FAST_TRAINING, **PROMOTION_BARS}))
    output = submit(
        cluster, bundle, workdir, ["--env", "cluster", "--params", params], tmp_path / "default.log"
    )
    # the packaged build ran, not the development install
    assert f"from {bundle / 'lakehouse_mlops-0.1.0.zip'}" in output

    # Delta tables on the shared path given by LAKEHOUSE_ROOT
    silver = spark.read.format("delta").load(str(lake / "03_silver" / "flights"))
    gold = spark.read.format("delta").load(str(lake / "04_gold" / "features"))
    assert silver.count() > 1000
    assert gold.count() == silver.count()
    assert not (workdir / "data").exists(), "nothing may be written outside the configured root"

    # MLflow: a training run with metrics and lineage, a champion in the registry
    mlflow.set_tracking_uri(f"sqlite:///{workdir / 'mlflow.db'}")
    client = MlflowClient()
    experiment = client.get_experiment_by_name("lakehouse_mlops")
    runs = client.search_runs([experiment.experiment_id], "metrics.`test_metrics.roc_auc` > 0")
    assert len(runs) == 1
    assert any(tag.startswith("lineage.") for tag in runs[0].data.tags)
    champion = client.get_model_version_by_alias("flight_delay", "champion")
    assert champion.run_id == runs[0].info.run_id

    # scoring on the executors with the champion
    inference = ["--env", "cluster", "--pipelines", "inference", "--params", "inference.batch_id=2013-04"]
    submit(cluster, bundle, workdir, ["run", *inference], tmp_path / "inference.log")
    predictions = spark.read.format("delta").load(str(lake / "05_ml" / "predictions"))
    scored = predictions.filter("batch_id = '2013-04'")
    assert scored.count() == gold.filter("batch_id = '2013-04'").count() > 0
    assert {row.model_version for row in scored.select("model_version").distinct().collect()} == {
        str(champion.version)
    }

    # monitoring on the executors: the reference profiled once and stored, the window counted by numpy
    # in the Python workers (mapInArrow), the metrics stored
    monitoring = ["--env", "cluster", "--pipelines", "monitoring", "--params", "monitoring.batch_id=2013-04"]
    submit(cluster, bundle, workdir, ["run", *monitoring], tmp_path / "monitoring.log")
    profiles = spark.read.format("delta").load(str(lake / "05_ml" / "reference_profiles"))
    assert {row.model_version for row in profiles.select("model_version").distinct().collect()} == {
        str(champion.version)
    }
    metrics = spark.read.format("delta").load(str(lake / "05_ml" / "monitoring_metrics"))
    drift = metrics.filter("batch_id = '2013-04' AND kind = 'data_drift' AND metric = 'drift_detected'")
    assert drift.count() == profiles.filter("kind = 'data_drift'").count() > 0
    # every row of the window counted once per numeric feature (their range checks are over all rows)
    windows = metrics.filter("batch_id = '2013-04' AND metric = 'out_of_range_share'")
    assert {row.current_rows for row in windows.collect()} == {gold.filter("batch_id = '2013-04'").count()}

    # the three applications finished on the cluster, and both workers ran tasks of each with the
    # packaged code shipped to them (a worker keeps a folder per application and executor)
    finished = completed_applications(cluster, expected=3)
    assert [app["state"] for app in finished] == ["FINISHED"] * 3
    for app in finished:
        for worker in ("worker-1", "worker-2"):
            (executor,) = (cluster.state_dir / worker / app["id"]).iterdir()
            assert (executor / "lakehouse_mlops-0.1.0.zip").is_file()
            assert "Finished task" in (executor / "stderr").read_text()
