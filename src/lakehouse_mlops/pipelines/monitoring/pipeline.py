"""The monitoring pipeline: drift, quality, feed freshness and completeness, performance on late labels,
the use case's custom metrics and slices, the policy's decision, report."""

from __future__ import annotations

from kedro.pipeline import Pipeline, node

from lakehouse_mlops.pipelines.monitoring import decision, nodes


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            node(
                nodes.monitored_model,
                ["ml_predictions", "params:usecase", "params:monitoring"],
                "monitored_model",
                name="pick_monitored_model",
            ),
            node(
                nodes.reference_profiles,
                ["stored_reference_profiles", "monitored_model", "params:usecase", "params:monitoring"],
                ["monitoring_reference_profiles", "ml_reference_profiles"],
                name="profile_reference",
            ),
            node(
                nodes.current_window,
                ["gold_features", "monitored_model", "params:usecase"],
                "monitoring_current",
                name="current_window",
            ),
            node(
                nodes.drift_metrics,
                [
                    "monitoring_reference_profiles",
                    "monitoring_current",
                    "gold_features",
                    "ml_predictions",
                    "monitored_model",
                    "params:usecase",
                    "params:monitoring",
                ],
                ["drift_rows", "score_histograms"],
                name="measure_drift",
            ),
            node(
                nodes.labelled_batches,
                ["ml_predictions", "gold_labels", "monitored_model", "params:usecase"],
                "labelled_batches",
                name="find_labelled_batches",
            ),
            node(
                nodes.performance_metrics,
                [
                    "ml_predictions",
                    "gold_labels",
                    "labelled_batches",
                    "monitored_model",
                    "params:usecase",
                    "params:monitoring",
                ],
                "performance_rows",
                name="measure_performance",
            ),
            node(
                nodes.estimated_performance,
                [
                    "monitoring_reference_profiles",
                    "ml_predictions",
                    "performance_rows",
                    "monitoring_history",
                    "monitored_model",
                    "params:usecase",
                    "params:monitoring",
                ],
                "estimated_rows",
                name="estimate_performance",
            ),
            node(
                nodes.estimate_errors,
                ["performance_rows", "estimated_rows", "monitoring_history"],
                "estimation_error_rows",
                name="compare_estimates_with_labels",
            ),
            node(
                nodes.custom_metrics,
                [
                    "ml_predictions",
                    "gold_labels",
                    "gold_features",
                    "labelled_batches",
                    "monitored_model",
                    "params:usecase",
                ],
                "custom_rows",
                name="measure_custom_metrics",
            ),
            node(
                nodes.slice_metrics,
                [
                    "ml_predictions",
                    "gold_labels",
                    "gold_features",
                    "labelled_batches",
                    "monitoring_reference_profiles",
                    "monitoring_history",
                    "monitored_model",
                    "params:usecase",
                    "params:monitoring",
                ],
                "slice_rows",
                name="measure_slices",
            ),
            node(
                nodes.feed_metrics,
                ["ingestion_audit", "monitored_model", "params:ingestion", "params:monitoring"],
                "feed_rows",
                name="check_feeds",
            ),
            node(
                decision.signals,
                [
                    "drift_rows",
                    "performance_rows",
                    "monitored_model",
                    "params:monitoring",
                    "feed_rows",
                    "estimated_rows",
                    "custom_rows",
                ],
                "window_signals",
                name="summarise_signals",
            ),
            node(
                decision.apply_policy,
                [
                    "window_signals",
                    "monitoring_history",
                    "ml_decision_history",
                    "monitored_model",
                    "params:monitoring",
                ],
                "monitoring_decision",
                name="apply_policy",
            ),
            node(
                decision.metrics_table,
                [
                    "drift_rows",
                    "performance_rows",
                    "monitoring_decision",
                    "estimated_rows",
                    "estimation_error_rows",
                    "feed_rows",
                    "custom_rows",
                    "slice_rows",
                ],
                "ml_monitoring_metrics",
                name="store_metrics",
            ),
            node(
                decision.decision_record,
                ["monitoring_decision", "ml_decision_history"],
                "ml_monitoring_decisions",
                name="store_decision",
            ),
            node(
                nodes.monitoring_report,
                [
                    "drift_rows",
                    "performance_rows",
                    "monitoring_history",
                    "monitoring_decision",
                    "score_histograms",
                    "estimated_rows",
                    "feed_rows",
                    "custom_rows",
                    "slice_rows",
                ],
                [
                    "monitoring_report",
                    "monitoring_report_archive",
                    "drift_per_feature_plot",
                    "performance_plot",
                ],
                name="render_report",
            ),
            node(
                nodes.run_metrics,
                ["monitoring_decision", "performance_rows"],
                "monitoring_run_metrics",
                name="log_run_metrics",
            ),
        ],
        tags="monitoring",
    )
