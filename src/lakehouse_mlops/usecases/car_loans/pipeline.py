"""The features pipeline: labels first (the band repayment rate needs them), then loan features."""

from __future__ import annotations

from kedro.pipeline import Pipeline, node

from lakehouse_mlops.usecases.car_loans import nodes


def create_pipeline(**kwargs) -> Pipeline:
    labels = ["silver_repayments", "silver_loans", "params:features", "params:usecase"]
    features = ["silver_loans", "gold_labels", "params:features"]
    return Pipeline(
        [
            node(nodes.build_labels, labels, "gold_labels", name="build_labels"),
            node(nodes.build_loan_features, features, "gold_features", name="build_loan_features"),
        ],
        tags="features",
    )
