"""Training nodes: windows → tuning → refit → evaluation, plots, explanation, profile."""

from __future__ import annotations

import logging

import pandas as pd
from pyspark.sql import DataFrame

from lakehouse_mlops.framework import model_registry as registry
from lakehouse_mlops.framework.errors import TrainingDataError
from lakehouse_mlops.framework.examples import TimeWindows, labelled_examples
from lakehouse_mlops.framework.metrics import best_f1_threshold, classification_metrics
from lakehouse_mlops.framework.usecase import UseCase, parse_usecase
from lakehouse_mlops.pipelines.training import evaluation, explain, tuning
from lakehouse_mlops.pipelines.training.config import parse_training
from lakehouse_mlops.pipelines.training.model import build_model

logger = logging.getLogger(__name__)


def collect_examples(features: DataFrame, labels: DataFrame, usecase: dict) -> pd.DataFrame:
    """Features of every entity with a known label, as pandas (the training table)."""
    return labelled_examples(features, labels, parse_usecase(usecase))


def split_windows(
    examples: pd.DataFrame, training: dict, usecase: dict
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, dict]:
    """Train / validation / test by time, counted back from the latest labelled event time."""
    spec, event_time = parse_training(training).windows, parse_usecase(usecase).event_time
    windows = TimeWindows.count_back(
        examples[event_time], spec.test_days, spec.validation_days, spec.train_days
    )
    train, valid, test = windows.split(examples, event_time)
    _check_every_feature_has_values(train, parse_usecase(usecase), windows)
    logger.info(
        "windows %s: train %d, validation %d, test %d rows", windows, len(train), len(valid), len(test)
    )
    return train, valid, test, windows.as_tags()


def _check_every_feature_has_values(train: pd.DataFrame, usecase: UseCase, windows: TimeWindows) -> None:
    empty = [c for c in usecase.features.all if train[c].isna().all()]
    if empty:
        raise TrainingDataError(
            f"features {empty} have no value in any of the {len(train)} rows of the training window "
            f"[{windows.train_start}, {windows.valid_start}) (e.g. a trailing rate before any label was "
            "known): train on a longer history (more labelled batches), or fix these features in the "
            "use case's features pipeline"
        )


def tune_hyperparameters(
    train: pd.DataFrame, valid: pd.DataFrame, training: dict, usecase: dict
) -> tuple[dict, pd.DataFrame, dict]:
    """hyperopt TPE; returns the best hyperparameters, the trials table and the loss history."""
    best, trials = tuning.tune(parse_training(training), parse_usecase(usecase), train, valid)
    finished = trials[trials["status"] == "ok"]
    history = {
        "trial_loss": [
            {"value": float(v), "step": int(s)}
            for s, v in zip(finished["trial"], finished["loss"], strict=True)
        ]
    }
    return best, trials, history


def fit_final_model(train: pd.DataFrame, valid: pd.DataFrame, best: dict, training: dict, usecase: dict):
    """Refit with the best hyperparameters on train + validation; threshold chosen on validation."""
    spec, contract = parse_training(training), parse_usecase(usecase)
    x_cols, y = contract.features.all, contract.label.column
    probe = build_model(spec, contract.features, best).fit(train[x_cols], train[y].astype(int))
    threshold = (
        best_f1_threshold(valid[y].astype(int), probe.predict_proba(valid[x_cols])[:, 1])
        if spec.threshold_strategy == "max_f1"
        else spec.fixed_threshold
    )
    both = pd.concat([train, valid])
    model = build_model(spec, contract.features, best).fit(both[x_cols], both[y].astype(int))
    model.decision_threshold_ = threshold
    return model


def evaluate_on_test(
    model, test: pd.DataFrame, training: dict, usecase: dict
) -> tuple[dict, dict, pd.DataFrame, object]:
    """Test metrics (for MLflow), the curve and SHAP plots, the feature importance table and plot."""
    spec, contract = parse_training(training), parse_usecase(usecase)
    features, target = contract.features.all, contract.label.column
    x, y = test[features], test[target].astype(int).to_numpy()
    proba = model.predict_proba(x)[:, 1]
    metrics = classification_metrics(y, proba, model.decision_threshold_)
    plots = evaluation.curve_plots(y, proba, contract.label.positive)
    sample = test.sample(n=min(len(test), spec.importance_sample_rows), random_state=spec.search.seed)
    importance_figure, importance = evaluation.importance_plot(
        model, sample[features], sample[target].astype(int).to_numpy(), spec.search.seed
    )
    plots["shap_summary.png"] = explain.shap_summary(model, x, spec.shap_sample_rows, spec.search.seed)
    logger.info("test metrics: %s", {k: round(v, 4) for k, v in metrics.items()})
    # kedro-mlflow logs these as ``test_metrics.<name>``
    return {k: {"value": v, "step": 0} for k, v in metrics.items()}, plots, importance, importance_figure


def profile_training_table(train: pd.DataFrame, training: dict, usecase: dict) -> str:
    spec = parse_training(training)
    return explain.profile_html(
        train.drop(columns=[parse_usecase(usecase).entity_key]), spec.profile_sample_rows, spec.search.seed
    )


def register_challenger(
    model, test: pd.DataFrame, windows: dict, best: dict, metrics: dict, training: dict, usecase: dict
) -> dict:
    """Log the model (signature, input example), register it and point ``challenger`` at it.

    The version carries the run's lineage (table paths and Delta versions, git commit), the time
    windows, the hyperparameters and the test metrics as tags.
    """
    spec, contract = parse_training(training), parse_usecase(usecase)
    tags = {
        **{f"window.{k}": v for k, v in windows.items()},
        **{f"param.{k}": v for k, v in best.items()},
        # read back through kedro-mlflow, metric names carry the dataset name: test_metrics.<name>
        **{f"test_{k.rsplit('.', 1)[-1]}": f"{v['value']:.6f}" for k, v in metrics.items()},
        "model_family": spec.model.family,
        "decision_threshold": model.decision_threshold_,
        "usecase": contract.name,
    }
    if spec.trigger_batch:
        tags["trigger_batch"] = spec.trigger_batch
    registered = registry.log_and_register(
        model, test[contract.features.all], contract.model.registered_name, tags
    )
    logger.info("registered %s version %s as challenger", registered["name"], registered["version"])
    return registered


def version_for_batch(name: str, batch_id: str) -> str | None:
    """The version retrained for ``batch_id`` (tagged ``trigger_batch``), if any: the loop's outcome of
    this stage, so that a retrain asked for by a batch happens once."""
    return registry.version_for_tag(name, "trigger_batch", batch_id)


def run_params(trigger_batch: str) -> dict:
    """The runtime parameters of a retrain asked for by ``trigger_batch`` (tagged on the version)."""
    return {"training": {"trigger_batch": trigger_batch}}
