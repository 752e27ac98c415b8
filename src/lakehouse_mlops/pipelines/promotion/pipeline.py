"""The promotion pipeline (validation gate)."""

from __future__ import annotations

from kedro.pipeline import Pipeline, node

from lakehouse_mlops.pipelines.promotion import nodes


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            node(
                nodes.candidate_version,
                ["params:training", "params:promotion"],
                "promotion_candidate",
                name="find_candidate",
            ),
            node(
                nodes.evaluation_window,
                ["gold_flight_features", "gold_labels", "promotion_candidate", "params:training"],
                "promotion_window",
                name="collect_evaluation_window",
            ),
            node(
                nodes.judge,
                ["promotion_window", "promotion_candidate", "params:training", "params:promotion"],
                "promotion_verdict",
                name="judge_candidate",
            ),
            node(nodes.apply_decision, "promotion_verdict", "ml_decisions", name="apply_decision"),
        ],
        tags="promotion",
    )
