"""The training pipeline: gold → tuned, evaluated, explained model registered as challenger."""

from __future__ import annotations

from kedro.pipeline import Pipeline, node

from lakehouse_mlops.pipelines.training import nodes


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            node(
                nodes.collect_examples,
                ["gold_features", "gold_labels", "params:usecase"],
                "training_examples",
                name="collect_labelled_examples",
            ),
            node(
                nodes.split_windows,
                ["training_examples", "params:training", "params:usecase"],
                ["train_set", "validation_set", "test_set", "training_windows"],
                name="split_time_windows",
            ),
            node(
                nodes.tune_hyperparameters,
                ["train_set", "validation_set", "params:training", "params:usecase"],
                ["best_hyperparameters", "hyperopt_trials", "trial_loss_history"],
                name="tune_hyperparameters",
            ),
            node(
                nodes.fit_final_model,
                ["train_set", "validation_set", "best_hyperparameters", "params:training", "params:usecase"],
                "trained_model",
                name="fit_final_model",
            ),
            node(
                nodes.evaluate_on_test,
                ["trained_model", "test_set", "params:training", "params:usecase"],
                ["test_metrics", "evaluation_plots", "feature_importance", "feature_importance_plot"],
                name="evaluate_on_test",
            ),
            node(
                nodes.profile_training_table,
                ["train_set", "params:training", "params:usecase"],
                "training_profile",
                name="profile_training_table",
            ),
            node(
                nodes.register_challenger,
                [
                    "trained_model",
                    "test_set",
                    "training_windows",
                    "best_hyperparameters",
                    "test_metrics",
                    "params:training",
                    "params:usecase",
                ],
                "challenger_model",
                name="register_challenger",
            ),
        ],
        tags="training",
    )
