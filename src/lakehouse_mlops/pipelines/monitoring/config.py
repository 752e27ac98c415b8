"""Monitoring policy, parsed once from ``parameters_monitoring.yml``."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from lakehouse_mlops.framework.config import StrictModel, parse_config

SOURCE = "conf/*/parameters_monitoring.yml (key 'monitoring')"


class NumericDrift(StrictModel):
    quantiles: int = 1000
    quantile_relative_error: float = 0.001
    psi_bins: int = 10
    psi_threshold: float = 0.2
    wasserstein_threshold: float = 0.1
    alpha: float = 0.01


class CategoricalDrift(StrictModel):
    distance: Literal["jensen_shannon", "total_variation", "l_infinity"] = "jensen_shannon"
    js_threshold: float = 0.1
    tv_threshold: float = 0.1
    linf_threshold: float = 0.1
    alpha: float = 0.01

    def threshold(self, distance: str) -> float:
        return {"jensen_shannon": self.js_threshold, "total_variation": self.tv_threshold}.get(
            distance, self.linf_threshold
        )


class Quality(StrictModel):
    max_null_share_increase: float = 0.05
    max_unseen_share: float = 0.05
    max_out_of_range_share: float = 0.05


class Feeds(StrictModel):
    """Freshness and completeness of the use case's feeds, from the ingestion audit."""

    completeness_min_ratio: float = Field(0.5, gt=0, le=1)
    completeness_window: int = Field(6, ge=1)
    completeness_min_batches: int = Field(3, ge=1)

    @model_validator(mode="after")
    def _enough_batches_fit_the_window(self) -> Feeds:
        if self.completeness_min_batches > self.completeness_window:
            raise ValueError(
                f"completeness_min_batches ({self.completeness_min_batches}) must not exceed "
                f"completeness_window ({self.completeness_window}): lower it or widen the window"
            )
        return self


class Performance(StrictModel):
    max_auc_drop: float = 0.03
    max_brier_increase: float = 0.02
    max_calibration_gap: float = 0.05
    score_bins: int = 10000
    calibration_bins: int = 10
    min_labelled_rows: int = 1000
    #: estimates are corrected by the version's mean estimation error over this many of its last
    #: labelled windows (0: no correction)
    bias_windows: int = Field(6, ge=0)


class Slices(StrictModel):
    """How the use case's slices (``usecase.monitoring.slices``) are measured."""

    #: an expression with more values keeps its largest slices and adds the others up as one
    max_values: int = Field(20, ge=1)
    #: slices with fewer rows are reported ``insufficient`` (their figures are kept, but noisy)
    min_rows: int = Field(200, ge=1)


class Policy(StrictModel):
    drift_share_threshold: float = 0.3
    drift_consecutive_windows: int = 2
    performance_breaches: int = 2
    performance_windows: int = 3
    cooldown_windows: int = 2
    retrain_on_quality_alarm: bool = False
    #: dataset drift in drift_consecutive_windows windows retrains; false: drift alone only alerts
    retrain_on_drift: bool = True
    #: a window's estimated ROC AUC drop (before its labels land) counts as its performance evidence
    #: until the realised value replaces it
    use_estimated_performance: bool = False


class MonitoringSpec(StrictModel):
    batch_id: str | None = None
    model_version: str | None = None
    min_reference_rows: int = 1000
    min_current_rows: int = 1000
    numeric: NumericDrift = NumericDrift()
    categorical: CategoricalDrift = CategoricalDrift()
    quality: Quality = Quality()
    feeds: Feeds = Feeds()
    prediction: NumericDrift = NumericDrift()
    performance: Performance = Performance()
    slices: Slices = Slices()
    policy: Policy = Policy()


def parse_monitoring(raw: dict[str, Any]) -> MonitoringSpec:
    return parse_config(MonitoringSpec, raw, SOURCE)
