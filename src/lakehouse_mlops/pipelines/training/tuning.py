"""Hyperopt TPE over the search space in conf, trials in parallel on Spark (or sequentially)."""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np
import pandas as pd
from hyperopt import STATUS_OK, Trials, fmin, hp, space_eval, tpe
from sklearn.metrics import log_loss, roc_auc_score

from lakehouse_mlops.framework.usecase import UseCase
from lakehouse_mlops.pipelines.training.config import Dimension, TrainingSpec
from lakehouse_mlops.pipelines.training.model import build_model

logger = logging.getLogger(__name__)


def search_space(space: dict[str, Dimension]) -> dict[str, Any]:
    built = {}
    for name, dim in space.items():
        if dim.distribution == "choice":
            built[name] = hp.choice(name, dim.options)
        elif dim.distribution == "loguniform":
            built[name] = hp.loguniform(name, np.log(dim.low), np.log(dim.high))
        elif dim.distribution == "quniform":
            built[name] = hp.quniform(name, dim.low, dim.high, dim.q)
        else:
            built[name] = hp.uniform(name, dim.low, dim.high)
    return built


def cast_params(params: dict[str, Any], space: dict[str, Dimension]) -> dict[str, Any]:
    """hyperopt returns floats; integer dimensions (and quniform ones) become ints."""
    return {
        k: int(v) if space[k].integer or space[k].distribution == "quniform" else v for k, v in params.items()
    }


def finished_losses(trials: Trials) -> list[float]:
    """Losses of finished trials only (SparkTrials keeps running ones without a 'loss')."""
    return [
        t["result"]["loss"]
        for t in trials.trials
        if t.get("result", {}).get("status") == STATUS_OK and "loss" in t["result"]
    ]


def no_progress_stop(rounds: int, total: int | None = None):
    """Early stop after ``rounds`` finished trials without a better loss; logs progress.

    hyperopt's ``no_progress_loss`` reads ``loss`` from trials still running under SparkTrials
    and dies with KeyError (hyperopt #808), which leaves ``fmin`` hanging; this one cannot.
    """
    reported = [0]

    def stop(trials: Trials, *args: Any):
        losses = finished_losses(trials)
        if losses and len(losses) != reported[0]:
            reported[0] = len(losses)
            logger.info(
                "tuning: %d/%s trials finished, best validation log loss %.4f",
                len(losses),
                total or "?",
                min(losses),
            )
        if len(losses) <= rounds:
            return False, args
        best_before = min(losses[:-rounds])
        return min(losses[-rounds:]) >= best_before, args

    return stop


def make_objective(spec: TrainingSpec, usecase: UseCase, train: pd.DataFrame, valid: pd.DataFrame):
    features, target = usecase.features.all, usecase.label.column
    x_train, y_train = train[features], train[target].astype(int)
    x_valid, y_valid = valid[features], valid[target].astype(int)
    space = spec.search.space

    def objective(params: dict[str, Any]) -> dict[str, Any]:
        started = time.perf_counter()
        model = build_model(spec, usecase.features, cast_params(params, space)).fit(x_train, y_train)
        proba = model.predict_proba(x_valid)[:, 1]
        return {
            "loss": float(log_loss(y_valid, proba)),
            "status": STATUS_OK,
            "roc_auc": float(roc_auc_score(y_valid, proba)),
            "seconds": time.perf_counter() - started,
        }

    return objective


def make_trials(spec: TrainingSpec):
    """SparkTrials when asked for and Spark is up, else sequential Trials (logged)."""
    if spec.search.use_spark_trials:
        try:
            from hyperopt import SparkTrials

            return SparkTrials(parallelism=spec.search.parallelism, timeout=spec.search.timeout_seconds)
        except Exception as exc:  # noqa: BLE001 - any start-up failure falls back, loudly
            logger.warning("SparkTrials unavailable (%s); running trials sequentially", exc)
    return Trials()


def tune(
    spec: TrainingSpec, usecase: UseCase, train: pd.DataFrame, valid: pd.DataFrame
) -> tuple[dict, pd.DataFrame]:
    """Best hyperparameters and one row per trial (params, loss, validation AUC, seconds)."""
    trials = make_trials(spec)
    space = search_space(spec.search.space)
    best = fmin(
        fn=make_objective(spec, usecase, train, valid),
        space=space,
        algo=tpe.suggest,
        max_evals=spec.search.max_evals,
        trials=trials,
        early_stop_fn=no_progress_stop(spec.search.early_stop_rounds, spec.search.max_evals),
        timeout=spec.search.timeout_seconds,
        rstate=np.random.default_rng(spec.search.seed),
        show_progressbar=False,
    )
    rows = []
    for trial in trials.trials:
        result = trial.get("result", {})
        params = space_eval(space, {k: v[0] for k, v in trial["misc"]["vals"].items() if v})
        rows.append(
            {
                "trial": trial["tid"],
                "status": result.get("status"),
                "loss": result.get("loss"),
                "valid_roc_auc": result.get("roc_auc"),
                "seconds": result.get("seconds"),
                **cast_params(params, spec.search.space),
            }
        )
    logger.info(
        "hyperopt: %d trials (%s), best loss %.4f",
        len(rows),
        type(trials).__name__,
        min(finished_losses(trials)),
    )
    return cast_params(space_eval(space, best), spec.search.space), pd.DataFrame(rows)
