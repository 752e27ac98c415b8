"""Copying a model version between two registries (SQLite stores in tmp_path, a real sklearn model
logged the way training logs it): the copy predicts like the source, keeps its run's params, metrics,
tags and lineage, records where it came from, and never moves an alias in the destination."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from mlflow.models import Model
from mlflow.tracking import MlflowClient
from sklearn.linear_model import LogisticRegression

from lakehouse_mlops.framework import model_registry as registry
from lakehouse_mlops.ops.cli import cli
from lakehouse_mlops.ops.model_transfer import Endpoint, TransferError, copy_model_version
from tests.mlflow_store import active_store

SOURCE_MODEL, DEST_MODEL, DEST_EXPERIMENT = (
    "flight_delay_staging",
    "flight_delay_prod",
    "lakehouse_mlops_prod",
)


def _features(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {"distance": rng.uniform(100, 2500, rows), "dep_hour": rng.integers(5, 23, rows).astype(float)}
    )


@pytest.fixture(scope="module")
def staging(tmp_path_factory) -> dict:
    """A staging store holding a trained, gated champion, and an empty store to copy prod from.

    Built once (initialising an MLflow database takes seconds); tests only read from it.
    """
    root = tmp_path_factory.mktemp("registries")
    source_uri = f"sqlite:///{root / 'staging.db'}"
    # the source model is logged with the project's own fluent helpers, pointed at staging
    with pytest.MonkeyPatch.context() as patch, active_store(source_uri):
        patch.chdir(root)  # any default ./mlruns lands here, never in the project
        # inferring pip requirements imports the model in a subprocess (up to 20 s on a busy machine)
        # and what it finds does not matter to a copy: the defaults are enough
        patch.setattr(mlflow.models, "infer_pip_requirements", lambda *_, fallback=None, **__: fallback)
        MlflowClient(source_uri).search_registered_models()  # creates the schema
        shutil.copy(root / "staging.db", root / "empty.db")

        experiment = mlflow.create_experiment("lakehouse_mlops_staging", str(root / "staging-artifacts"))
        train = _features(300, seed=1)
        noise = _features(300, seed=2)["distance"] / 5000
        labels = (train["distance"] / 2500 + train["dep_hour"] / 23 + noise) > 1.0
        model = LogisticRegression(C=0.5).fit(train, labels)
        with mlflow.start_run(experiment_id=experiment) as run:
            mlflow.log_params({"model.family": "logistic_regression", "C": 0.5})
            for step, loss in enumerate([0.69, 0.52, 0.47]):
                mlflow.log_metric("trial_loss", loss, step=step)
            mlflow.log_metric("test_metrics.roc_auc", 0.81)
            mlflow.set_tags(
                {
                    "lineage.gold_features.path": "/srv/lakehouse/staging/04_gold/features",
                    "lineage.gold_features.version": "7",
                    "git_commit": "abc123",
                }
            )
            mlflow.log_input(mlflow.data.from_pandas(train, name="gold_features"), context="training")
            registered = registry.log_and_register(
                model, train, SOURCE_MODEL, {"decision_threshold": "0.4", "window.train_start": "2013-01-01"}
            )
        version = registered["version"]
        registry.tag_decision(SOURCE_MODEL, version, "promote", ["beats the champion"], {"auc": 0.81})
        registry.set_champion(SOURCE_MODEL, version, "test", "first model")
    return {"uri": source_uri, "run_id": run.info.run_id, "empty_db": root / "empty.db"}


@pytest.fixture
def stores(staging, tmp_path: Path) -> dict:
    """The shared staging store and a fresh, empty prod store of this test's own."""
    shutil.copy(staging["empty_db"], tmp_path / "prod.db")
    dest_uri = f"sqlite:///{tmp_path / 'prod.db'}"
    MlflowClient(dest_uri).create_experiment(
        DEST_EXPERIMENT, artifact_location=str(tmp_path / "prod-artifacts")
    )
    return {
        "source": Endpoint(staging["uri"]),
        "destination": Endpoint(dest_uri),
        "source_run_id": staging["run_id"],
        "probe": _features(50, seed=3),
    }


def _predict(endpoint: Endpoint, uri: str, frame: pd.DataFrame) -> np.ndarray:
    """Score with the pyfunc that ``uri`` names in ``endpoint``'s registry, loaded as inference does."""
    with active_store(endpoint.tracking_uri):
        return np.asarray(mlflow.pyfunc.load_model(uri).predict(frame))


def test_copy_predicts_like_the_source_and_records_where_it_came_from(stores, tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_USERNAME", raising=False)
    source, destination = stores["source"], stores["destination"]
    login = Endpoint(source.tracking_uri, credentials={"MLFLOW_TRACKING_USERNAME": "staging-reader"})

    copied = copy_model_version(
        login, SOURCE_MODEL, destination, DEST_MODEL, version="1", experiment=DEST_EXPERIMENT
    )

    assert (copied.name, copied.version, copied.source_version) == (DEST_MODEL, "1", "1")
    assert "MLFLOW_TRACKING_USERNAME" not in os.environ  # a side's login does not outlive its calls
    expected = _predict(source, f"models:/{SOURCE_MODEL}/1", stores["probe"])
    got = _predict(destination, copied.model_uri, stores["probe"])
    assert expected.shape == (50, 2)  # predict_proba, as training logs it
    np.testing.assert_allclose(got, expected)

    client = destination.client()
    version = client.get_model_version(DEST_MODEL, "1")
    tags = version.tags
    assert tags["run_id"] == copied.run_id == version.run_id  # the project finds the run by this tag
    assert tags["decision_threshold"] == "0.4" and tags["window.train_start"] == "2013-01-01"
    assert tags["lineage.gold_features.version"] == "7"
    assert tags["transfer.source_uri"] == source.tracking_uri
    assert (tags["transfer.source_model"], tags["transfer.source_version"]) == (SOURCE_MODEL, "1")
    assert tags["transfer.source_run_id"] == stores["source_run_id"]
    # the source's gate judged it there, not here: kept under the transfer prefix only
    assert "gate.decision" not in tags and tags["transfer.source.gate.decision"] == "promote"
    assert "champion_since" not in tags

    run = client.get_run(copied.run_id)
    assert client.get_experiment(run.info.experiment_id).name == DEST_EXPERIMENT
    assert run.info.status == "FINISHED"
    assert run.data.params == {"model.family": "logistic_regression", "C": "0.5"}
    assert [m.value for m in client.get_metric_history(copied.run_id, "trial_loss")] == [0.69, 0.52, 0.47]
    assert run.data.metrics["test_metrics.roc_auc"] == 0.81
    assert run.data.tags["git_commit"] == "abc123"
    assert run.data.tags["transfer.source_version"] == "1"
    assert [d.dataset.name for d in run.inputs.dataset_inputs] == ["gold_features"]

    with active_store(destination.tracking_uri):
        mlmodel = Model.load(mlflow.artifacts.download_artifacts(copied.model_uri, dst_path=str(tmp_path)))
    assert (mlmodel.run_id, mlmodel.model_id) == (copied.run_id, copied.model_id)
    assert copied.aliases == {} and client.get_registered_model(DEST_MODEL).aliases == {}


def test_cli_copies_by_alias_and_leaves_destination_aliases_alone(stores):
    source, destination = stores["source"], stores["destination"]
    copy_model_version(source, SOURCE_MODEL, destination, DEST_MODEL, version="1", experiment=DEST_EXPERIMENT)
    client = destination.client()
    client.set_registered_model_alias(DEST_MODEL, "champion", "1")  # prod's own gate promoted v1

    args = [
        "copy-model",
        "--from-uri",
        source.tracking_uri,
        "--from-model",
        SOURCE_MODEL,
        "--alias",
        "champion",
    ]
    args += [
        "--to-uri",
        destination.tracking_uri,
        "--to-model",
        DEST_MODEL,
        "--to-experiment",
        DEST_EXPERIMENT,
    ]
    result = CliRunner().invoke(cli, args)

    assert result.exit_code == 0, result.output
    assert f"-> models:/{DEST_MODEL}/2" in result.output
    assert "aliases of flight_delay_prod unchanged: champion=1" in result.output
    assert dict(client.get_registered_model(DEST_MODEL).aliases) == {"champion": 1}
    assert client.get_model_version(DEST_MODEL, "2").tags["transfer.source_alias"] == "champion"
    # the source keeps its own aliases too
    assert dict(source.client().get_registered_model(SOURCE_MODEL).aliases) == {
        "challenger": 1,
        "champion": 1,
    }


def test_cli_logs_in_to_each_side_with_its_own_credentials_entry(stores, tmp_path, monkeypatch):
    from lakehouse_mlops.ops import model_transfer

    monkeypatch.delenv("MLFLOW_TRACKING_USERNAME", raising=False)
    seen = {}

    def read_source(*args):
        seen["source"] = os.environ.get("MLFLOW_TRACKING_USERNAME")
        return real_read_source(*args)

    def write_destination(*args):
        seen["destination"] = os.environ.get("MLFLOW_TRACKING_USERNAME")
        return real_write_destination(*args)

    real_read_source, real_write_destination = model_transfer._read_source, model_transfer._write_destination
    monkeypatch.setattr(model_transfer, "_read_source", read_source)
    monkeypatch.setattr(model_transfer, "_write_destination", write_destination)
    conf = tmp_path / "conf"
    (conf / "base").mkdir(parents=True)
    (conf / "ops").mkdir()
    (conf / "ops" / "credentials.yml").write_text(
        "mlflow_staging: {MLFLOW_TRACKING_USERNAME: staging-reader}\n"
        "mlflow_prod: {MLFLOW_TRACKING_USERNAME: prod-writer}\n"
    )
    source, destination = stores["source"], stores["destination"]
    args = ["copy-model", "--from-uri", source.tracking_uri, "--from-model", SOURCE_MODEL, "--version", "1"]
    args += [
        "--to-uri",
        destination.tracking_uri,
        "--to-model",
        DEST_MODEL,
        "--to-experiment",
        DEST_EXPERIMENT,
    ]
    args += ["--conf-source", str(conf), "--env", "ops", "--from-credentials", "mlflow_staging"]

    missing = CliRunner().invoke(cli, [*args, "--to-credentials", "mlflow_qa"])
    assert missing.exit_code != 0 and "no credentials entry mlflow_qa for env 'ops'" in missing.output
    result = CliRunner().invoke(cli, [*args, "--to-credentials", "mlflow_prod"])

    assert result.exit_code == 0, result.output
    assert seen == {"source": "staging-reader", "destination": "prod-writer"}
    assert "MLFLOW_TRACKING_USERNAME" not in os.environ


def test_copy_refuses_an_ambiguous_or_missing_source(stores):
    source, destination = stores["source"], stores["destination"]
    with pytest.raises(TransferError, match="exactly one"):
        copy_model_version(source, SOURCE_MODEL, destination, DEST_MODEL, experiment=DEST_EXPERIMENT)
    with pytest.raises(TransferError, match="no alias 'canary'"):
        copy_model_version(source, SOURCE_MODEL, destination, DEST_MODEL, alias="canary", experiment="x")
    args = ["copy-model", "--from-uri", source.tracking_uri, "--from-model", SOURCE_MODEL, "--version", "9"]
    result = CliRunner().invoke(cli, [*args, "--to-uri", destination.tracking_uri, "--to-model", DEST_MODEL])
    assert result.exit_code != 0 and "has no version 9" in result.output
    # nothing was created in the destination by the failed attempts
    assert destination.client().search_registered_models() == []


def test_recorded_source_uri_drops_a_login():
    assert Endpoint("https://alice:s3cret@mlflow.example:8443/").public_uri == "https://mlflow.example:8443/"
    assert Endpoint("sqlite:///tmp/mlflow.db").public_uri == "sqlite:///tmp/mlflow.db"
