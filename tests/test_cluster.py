"""The packaged project on a real Spark standalone cluster (a master and two workers on 127.0.0.1).

Builds the deployable bundle from a copy of the project (``deploy/package.sh``, as ``make package``),
starts the cluster, puts a copy of the small lakehouse after its history (first champion) on the shared
path with May landed, and submits with ``--env cluster`` through spark-submit May's cycle (ingestion →
features → inference → monitoring → training with SparkTrials → promotion, one application), then
Kedro's packaged ``run`` of the inference pipeline for April. Checks what they left on the shared path:
Delta tables, predictions by the champion, its stored reference profile and drift metrics, the MLflow
run with lineage, the gate's decision and the registry's champion, and that every application really
ran on the two workers. Stops the cluster whatever happens.
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
from tests.conftest import PROJECT_ROOT
from tests.reliability_helpers import STAGE_LINE
from tests.servers import free_port
from tests.small_lakehouse import EAGER_POLICY, FAST_TRAINING, PROMOTION_BARS, dotlist, land_small_month

pytestmark = [pytest.mark.integration, pytest.mark.cluster, pytest.mark.slow]

PROJECT_FILES = ["pyproject.toml", "README.md", "src", "conf", "deploy"]
BATCH = "2013-05"


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


def test_packaged_cycle_and_pipeline_run_on_the_standalone_cluster(
    bundle, cluster, tmp_path, spark, small_champion_lakehouse
):
    assert sorted(p.name for p in bundle.iterdir()) == [
        "conf-lakehouse_mlops.tar.gz",
        "entrypoint.py",
        "lakehouse_mlops-0.1.0-py3-none-any.whl",
        "lakehouse_mlops-0.1.0.zip",
        "log4j2.properties",
    ]
    # the shared path holds the small lakehouse after its history (Jan–Apr, first champion), May landed
    workdir = tmp_path / "run"
    lake = workdir / "lake"
    shutil.copytree(small_champion_lakehouse / "data", lake)
    shutil.copy(small_champion_lakehouse / "mlflow.db", workdir / "mlflow.db")
    land_small_month(BATCH, lake / "01_landing")
    mlflow.set_tracking_uri(f"sqlite:///{workdir / 'mlflow.db'}")
    client = MlflowClient()
    first_champion = client.get_model_version_by_alias("flight_delay", "champion")

    # May's whole cycle in one application: the policy (eager) retrains, SparkTrials on the executors
    params = ",".join(dotlist({**FAST_TRAINING, **PROMOTION_BARS, **EAGER_POLICY}))
    cycle = ["cycle", BATCH, "--no-land", "--env", "cluster", "--params", params]
    output = submit(cluster, bundle, workdir, cycle, tmp_path / "cycle.log")
    # the packaged build ran, not the development install
    assert f"from {bundle / 'lakehouse_mlops-0.1.0.zip'}" in output
    stages = {stage: status for stage, status, _ in STAGE_LINE.findall(output)}
    for stage in ("ingestion", "features", "inference", "monitoring", "training", "promotion"):
        assert stages.get(stage) == "done", (stage, output[-4000:])

    # Delta tables on the shared path given by LAKEHOUSE_ROOT
    silver = spark.read.format("delta").load(str(lake / "03_silver" / "flights"))
    gold = spark.read.format("delta").load(str(lake / "04_gold" / "features"))
    may = gold.filter(f"batch_id = '{BATCH}'").count()
    assert silver.filter(f"_batch_id = '{BATCH}'").count() == may > 500
    assert gold.count() == silver.count()
    assert not (workdir / "data").exists(), "nothing may be written outside the configured root"

    # scored on the executors by the first champion, monitored against its stored reference profile
    predictions = spark.read.format("delta").load(str(lake / "05_ml" / "predictions"))
    scored = predictions.filter(f"batch_id = '{BATCH}' AND model_version = '{first_champion.version}'")
    assert scored.count() == may
    profiles = spark.read.format("delta").load(str(lake / "05_ml" / "reference_profiles"))
    assert {row.model_version for row in profiles.select("model_version").distinct().collect()} == {
        str(first_champion.version)
    }
    metrics = spark.read.format("delta").load(str(lake / "05_ml" / "monitoring_metrics"))
    drift = metrics.filter(f"batch_id = '{BATCH}' AND kind = 'data_drift' AND metric = 'drift_detected'")
    assert drift.count() == profiles.filter("kind = 'data_drift'").count() > 0
    # every row of the window counted by numpy in the Python workers (mapInArrow), once per feature
    windows = metrics.filter(f"batch_id = '{BATCH}' AND metric = 'out_of_range_share'")
    assert {row.current_rows for row in windows.collect()} == {may}

    # MLflow: May's training run with lineage into the shared path, registered and judged by the gate
    experiment = client.get_experiment_by_name("lakehouse_mlops")
    runs = client.search_runs([experiment.experiment_id], "metrics.`test_metrics.roc_auc` > 0")
    (retrained,) = [run for run in runs if run.info.run_id != first_champion.run_id]
    lineage = {
        k: v for k, v in retrained.data.tags.items() if k.startswith("lineage.") and k.endswith(".path")
    }
    assert lineage and all(path.startswith(str(lake)) for path in lineage.values()), lineage
    (candidate,) = [
        v for v in client.search_model_versions("name='flight_delay'") if v.run_id == retrained.info.run_id
    ]
    decisions = spark.read.format("delta").load(str(lake / "05_ml" / "decisions"))
    (judged,) = decisions.filter(
        f"kind = 'promotion' AND candidate_version = '{candidate.version}'"
    ).collect()
    champion = client.get_model_version_by_alias("flight_delay", "champion")
    if stages.get("rescoring") == "done":  # promoted: May scored again by the new champion
        assert champion.version == candidate.version, judged
        assert (
            predictions.filter(f"batch_id = '{BATCH}' AND model_version = '{champion.version}'").count()
            == may
        )
    else:
        assert champion.version == first_champion.version, judged

    # Kedro's packaged `run`: April (history, never scored) by the champion on the executors
    inference = [
        "run",
        "--env",
        "cluster",
        "--pipelines",
        "inference",
        "--params",
        "inference.batch_id=2013-04",
    ]
    submit(cluster, bundle, workdir, inference, tmp_path / "inference.log")
    predictions = spark.read.format("delta").load(str(lake / "05_ml" / "predictions"))
    april = predictions.filter("batch_id = '2013-04'")
    assert april.count() == gold.filter("batch_id = '2013-04'").count() > 0
    assert {row.model_version for row in april.select("model_version").distinct().collect()} == {
        str(champion.version)
    }

    # both applications finished on the cluster, and both workers ran tasks of each with the packaged
    # code shipped to them (a worker keeps a folder per application and executor)
    finished = completed_applications(cluster, expected=2)
    assert [app["state"] for app in finished] == ["FINISHED"] * 2
    for app in finished:
        for worker in ("worker-1", "worker-2"):
            (executor,) = (cluster.state_dir / worker / app["id"]).iterdir()
            assert (executor / "lakehouse_mlops-0.1.0.zip").is_file()
            assert "Finished task" in (executor / "stderr").read_text()
