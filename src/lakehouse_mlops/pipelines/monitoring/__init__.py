"""``monitoring``: for one scored batch, compare the gold features and the deployed model's scores with
the model's own training window (read at the Delta versions in its lineage), and, once the labels of
earlier batches have landed, measure realised performance per batch and model version.

- data drift per feature: numeric — KS on reference-quantile buckets, normalised Wasserstein, PSI on
  fixed reference deciles; categorical — Jensen–Shannon distance and chi-square (unseen categories
  counted). Drift needs an effect beyond its threshold *and* significance; windows below the minimum
  sizes are reported ``insufficient``, never as drift.
- data quality: null share, unseen categories, values outside the reference range.
- feed freshness and completeness (``freshness.py``), from the ingestion audit: a feed that did not
  land for the batch (``feed_missing``), or landed far fewer accepted rows than its trailing median
  (``feed_incomplete``) — alarms that alert, never retrain.
- prediction drift: the same numeric statistics on the score.
- performance: AUC, Brier, calibration error, positive vs predicted rate, against the version's test
  metrics recorded at training.

The reference side (the training window's and its scores' profiles: quantile buckets with counts and
sums, moments, categories) is computed on the first monitoring run of a model version and kept in
``reference_profiles`` (Delta); later windows read it, so a window costs one Spark job.

Everything is appended to ``monitoring_metrics`` (Delta), rendered as a self-contained HTML report
(``data/08_reporting/monitoring/``, also an MLflow artifact), and the policy
(``conf/base/parameters_monitoring.yml``) records ``none``, ``alert`` or ``retrain`` with its reasons in
``decisions``.
"""

from lakehouse_mlops.pipelines.monitoring.decision import recorded_decision, run_params
from lakehouse_mlops.pipelines.monitoring.pipeline import create_pipeline
from lakehouse_mlops.pipelines.monitoring.policy import RETRAIN

__all__ = ["RETRAIN", "create_pipeline", "recorded_decision", "run_params"]
