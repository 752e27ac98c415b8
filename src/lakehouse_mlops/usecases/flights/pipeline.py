"""The features pipeline: labels first (trailing rates need them), then flight features."""

from __future__ import annotations

from kedro.pipeline import Pipeline, node

from lakehouse_mlops.usecases.flights import nodes


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            node(
                nodes.build_labels,
                inputs=["silver_outcomes", "silver_flights", "params:features", "params:usecase"],
                outputs="gold_labels",
                name="build_labels",
            ),
            node(
                nodes.build_flight_features,
                inputs=[
                    "silver_flights",
                    "silver_weather",
                    "silver_planes",
                    "gold_labels",
                    "params:features",
                    "params:usecase",
                ],
                outputs="gold_features",
                name="build_flight_features",
            ),
        ],
        tags="features",
    )
