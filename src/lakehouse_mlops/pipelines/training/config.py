"""Training settings, parsed once from ``parameters_training.yml``."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import model_validator

from lakehouse_mlops.framework.config import StrictModel, parse_config

SOURCE = "conf/*/parameters_training.yml (key 'training')"


class Windows(StrictModel):
    """Time windows in days, counted back from the latest labelled event time (framework/examples.py)."""

    test_days: int = 14
    validation_days: int = 14
    train_days: int | None = None  # None: every labelled day before validation


class Dimension(StrictModel):
    """One hyperparameter: a hyperopt distribution and its bounds."""

    distribution: Literal["uniform", "loguniform", "quniform", "choice"]
    low: float | None = None
    high: float | None = None
    q: float | None = None
    options: list[Any] | None = None
    integer: bool = False

    @model_validator(mode="after")
    def _bounds_given(self) -> Dimension:
        if self.distribution == "choice" and not self.options:
            raise ValueError("choice needs options")
        if self.distribution != "choice" and (self.low is None or self.high is None):
            raise ValueError(f"{self.distribution} needs low and high")
        if self.distribution == "quniform" and not self.q:
            raise ValueError("quniform needs q")
        return self


class Search(StrictModel):
    max_evals: int = 16
    parallelism: int = 2
    use_spark_trials: bool = True
    timeout_seconds: int = 900
    early_stop_rounds: int = 8
    seed: int = 42
    space: dict[str, Dimension]


class ModelSpec(StrictModel):
    family: Literal["hist_gradient_boosting", "logistic_regression"] = "hist_gradient_boosting"
    fixed: dict[str, Any] = {}


class TrainingSpec(StrictModel):
    """How to train; what to train on (target, features, model name) is the use case's contract."""

    windows: Windows = Windows()
    model: ModelSpec = ModelSpec()
    search: Search
    threshold_strategy: Literal["max_f1", "fixed"] = "max_f1"
    fixed_threshold: float = 0.5
    trigger_batch: str | None = None  # set by the cycle: the batch whose monitoring asked for retraining
    profile_sample_rows: int = 5000
    shap_sample_rows: int = 500
    importance_sample_rows: int = 3000


def parse_training(raw: dict[str, Any]) -> TrainingSpec:
    return parse_config(TrainingSpec, raw, SOURCE)
