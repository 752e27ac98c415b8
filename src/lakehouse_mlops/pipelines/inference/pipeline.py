"""The inference pipeline: the champion scores one batch of gold features on Spark."""

from __future__ import annotations

from kedro.pipeline import Pipeline, node

from lakehouse_mlops.pipelines.inference import nodes


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            node(
                nodes.scoring_model,
                ["params:usecase", "params:inference"],
                "scoring_model",
                name="pick_model",
            ),
            node(
                nodes.batch_to_score,
                ["gold_features", "params:usecase", "params:inference"],
                "scoring_batch_id",
                name="pick_batch",
            ),
            node(
                nodes.score_batch,
                ["gold_features", "scoring_batch_id", "scoring_model", "params:usecase"],
                "ml_predictions",
                name="score_batch",
            ),
        ],
        tags="inference",
    )
