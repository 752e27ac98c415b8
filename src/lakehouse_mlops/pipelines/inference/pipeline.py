"""The inference pipeline: the champion scores one batch of gold features on Spark."""

from __future__ import annotations

from kedro.pipeline import Pipeline, node

from lakehouse_mlops.pipelines.inference import nodes


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            node(
                nodes.scoring_model,
                ["params:training", "params:inference"],
                "scoring_model",
                name="pick_model",
            ),
            node(
                nodes.batch_to_score,
                ["gold_flight_features", "params:inference"],
                "scoring_batch_id",
                name="pick_batch",
            ),
            node(
                nodes.score_batch,
                ["gold_flight_features", "scoring_batch_id", "scoring_model"],
                "ml_predictions",
                name="score_batch",
            ),
        ],
        tags="inference",
    )
