"""The scikit-learn model: preprocessing + estimator, built from the model family in conf."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

from lakehouse_mlops.framework.usecase import FeatureSpec
from lakehouse_mlops.pipelines.training.config import TrainingSpec


def build_model(spec: TrainingSpec, features: FeatureSpec, hyperparameters: dict[str, Any]) -> Pipeline:
    """An unfitted Pipeline for ``spec.model.family`` over ``features``, ``hyperparameters`` applied."""
    params = {**spec.model.fixed, **hyperparameters}
    cats, nums = features.categorical, features.numeric
    if spec.model.family == "hist_gradient_boosting":
        # Unknown and missing categories become NaN, which the trees treat as missing.
        encode = OrdinalEncoder(
            handle_unknown="use_encoded_value", unknown_value=np.nan, encoded_missing_value=np.nan
        )
        pre = ColumnTransformer([("cat", encode, cats), ("num", "passthrough", nums)])
        categorical = list(range(len(cats)))
        estimator = HistGradientBoostingClassifier(categorical_features=categorical, **params)
    else:
        pre = ColumnTransformer(
            [
                ("cat", OneHotEncoder(handle_unknown="ignore", min_frequency=20), cats),
                (
                    "num",
                    Pipeline([("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())]),
                    nums,
                ),
            ]
        )
        estimator = LogisticRegression(**{"max_iter": 1000, **params})
    return Pipeline([("preprocess", pre), ("classifier", estimator)])
