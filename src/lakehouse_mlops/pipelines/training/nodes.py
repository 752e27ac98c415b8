"""Training nodes: windows → tuning → refit → evaluation, plots, explanation, profile."""

from __future__ import annotations

import logging
from datetime import timedelta

import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from lakehouse_mlops.framework import registry
from lakehouse_mlops.pipelines.training import evaluation, explain, tuning
from lakehouse_mlops.pipelines.training.config import parse_training
from lakehouse_mlops.pipelines.training.model import build_model

logger = logging.getLogger(__name__)


def labelled_examples(features: DataFrame, labels: DataFrame, training: dict) -> pd.DataFrame:
    """Features of every flight with a known label, as pandas (the training table)."""
    spec = parse_training(training)
    known = labels.filter(F.col(spec.target).isNotNull()).select("flight_key", spec.target)
    columns = ["flight_key", "flight_date", *spec.features.all, spec.target]
    return features.join(known, "flight_key").select(*columns).toPandas()


def split_windows(
    examples: pd.DataFrame, training: dict
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, dict]:
    """Train / validation / test by time, counted back from the latest labelled day."""
    spec = parse_training(training).windows
    dates = pd.to_datetime(examples["flight_date"])
    last = dates.max()
    test_start = last - timedelta(days=spec.test_days - 1)
    valid_start = test_start - timedelta(days=spec.validation_days)
    train_start = dates.min() if spec.train_days is None else valid_start - timedelta(days=spec.train_days)
    train = examples[(dates >= train_start) & (dates < valid_start)]
    valid = examples[(dates >= valid_start) & (dates < test_start)]
    test = examples[dates >= test_start]
    windows = {
        name: str(value.date())
        for name, value in [
            ("train_start", train_start),
            ("valid_start", valid_start),
            ("test_start", test_start),
            ("test_end", last),
        ]
    }
    logger.info(
        "windows %s: train %d, validation %d, test %d rows", windows, len(train), len(valid), len(test)
    )
    return train, valid, test, windows


def tune_hyperparameters(
    train: pd.DataFrame, valid: pd.DataFrame, training: dict
) -> tuple[dict, pd.DataFrame, dict]:
    """hyperopt TPE; returns the best hyperparameters, the trials table and the loss history."""
    best, trials = tuning.tune(parse_training(training), train, valid)
    finished = trials[trials["status"] == "ok"]
    history = {
        "trial_loss": [
            {"value": float(v), "step": int(s)}
            for s, v in zip(finished["trial"], finished["loss"], strict=True)
        ]
    }
    return best, trials, history


def fit_final_model(train: pd.DataFrame, valid: pd.DataFrame, best: dict, training: dict):
    """Refit with the best hyperparameters on train + validation; threshold chosen on validation."""
    spec = parse_training(training)
    x_cols, y = spec.features.all, spec.target
    probe = build_model(spec, best).fit(train[x_cols], train[y].astype(int))
    threshold = (
        evaluation.best_f1_threshold(valid[y].astype(int), probe.predict_proba(valid[x_cols])[:, 1])
        if spec.threshold_strategy == "max_f1"
        else spec.fixed_threshold
    )
    both = pd.concat([train, valid])
    model = build_model(spec, best).fit(both[x_cols], both[y].astype(int))
    model.decision_threshold_ = threshold
    return model


def evaluate_on_test(model, test: pd.DataFrame, training: dict) -> tuple[dict, dict, pd.DataFrame, object]:
    """Test metrics (for MLflow), the curve and SHAP plots, the feature importance table and plot."""
    spec = parse_training(training)
    x, y = test[spec.features.all], test[spec.target].astype(int).to_numpy()
    proba = model.predict_proba(x)[:, 1]
    metrics = evaluation.classification_metrics(y, proba, model.decision_threshold_)
    plots = evaluation.curve_plots(y, proba)
    sample = test.sample(n=min(len(test), spec.importance_sample_rows), random_state=spec.search.seed)
    importance_figure, importance = evaluation.importance_plot(
        model, sample[spec.features.all], sample[spec.target].astype(int).to_numpy(), spec.search.seed
    )
    plots["shap_summary.png"] = explain.shap_summary(model, x, spec.shap_sample_rows, spec.search.seed)
    logger.info("test metrics: %s", {k: round(v, 4) for k, v in metrics.items()})
    # kedro-mlflow logs these as ``test_metrics.<name>``
    return {k: {"value": v, "step": 0} for k, v in metrics.items()}, plots, importance, importance_figure


def profile_training_table(train: pd.DataFrame, training: dict) -> str:
    spec = parse_training(training)
    return explain.profile_html(
        train.drop(columns=["flight_key"]), spec.profile_sample_rows, spec.search.seed
    )


def register_challenger(
    model, test: pd.DataFrame, windows: dict, best: dict, metrics: dict, training: dict
) -> dict:
    """Log the model (signature, input example), register it and point ``challenger`` at it.

    The version carries the run's lineage (table paths and Delta versions, git commit), the time
    windows, the hyperparameters and the test metrics as tags.
    """
    spec = parse_training(training)
    tags = {
        **{f"window.{k}": v for k, v in windows.items()},
        **{f"param.{k}": v for k, v in best.items()},
        # read back through kedro-mlflow, metric names carry the dataset name: test_metrics.<name>
        **{f"test_{k.rsplit('.', 1)[-1]}": f"{v['value']:.6f}" for k, v in metrics.items()},
        "model_family": spec.model.family,
        "decision_threshold": model.decision_threshold_,
    }
    if spec.trigger_batch:
        tags["trigger_batch"] = spec.trigger_batch
    registered = registry.log_and_register(model, test[spec.features.all], spec.registered_model_name, tags)
    logger.info("registered %s version %s as challenger", registered["name"], registered["version"])
    return registered
