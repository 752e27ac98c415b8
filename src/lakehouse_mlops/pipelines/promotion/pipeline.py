"""The promotion pipeline (validation gate)."""

from __future__ import annotations

from kedro.pipeline import Pipeline, node

from lakehouse_mlops.pipelines.promotion import nodes


def create_pipeline(judge_trained: bool = False, **kwargs) -> Pipeline:
    """``judge_trained``: take the candidate from the training pipeline's ``challenger_model`` output
    (training and promotion in one run), so the gate runs after training; on its own the pipeline
    judges ``promotion.candidate_version`` or the registry's challenger."""
    find_candidate = (
        node(
            nodes.trained_candidate,
            ["challenger_model", "params:usecase", "params:promotion"],
            "promotion_candidate",
            name="find_candidate",
        )
        if judge_trained
        else node(
            nodes.candidate_version,
            ["params:usecase", "params:promotion"],
            "promotion_candidate",
            name="find_candidate",
        )
    )
    return Pipeline(
        [
            find_candidate,
            node(
                nodes.evaluation_window,
                ["gold_features", "gold_labels", "promotion_candidate", "params:usecase"],
                "promotion_window",
                name="collect_evaluation_window",
            ),
            node(
                nodes.judge,
                ["promotion_window", "promotion_candidate", "params:usecase"],
                "promotion_verdict",
                name="judge_candidate",
            ),
            node(nodes.record_decision, "promotion_verdict", "ml_decisions", name="record_decision"),
            # reads the decisions back: the registry changes only after the decision is committed
            node(nodes.apply_decision, ["promotion_verdict", "ml_decisions"], None, name="apply_decision"),
        ],
        tags="promotion",
    )
