"""Promotion (validation gate): the candidate (the ``challenger`` by default), the ``champion`` and a
naive baseline (the use case's ``gate.baseline_score`` column as the score) are scored on the same most
recent labelled window; the candidate becomes champion only if, on every gate metric, it beats the
baseline and the champion by their margins and passes the optional absolute bars (``usecase.gate``).
Every decision lands in the ``decisions`` table and on the model version.
"""

from lakehouse_mlops.pipelines.promotion.gate import AWAITING_APPROVAL, PROMOTE
from lakehouse_mlops.pipelines.promotion.nodes import (
    complete_recorded_promotion,
    gate_outcome,
    rejudge,
    run_params,
)
from lakehouse_mlops.pipelines.promotion.pipeline import create_pipeline

__all__ = [
    "AWAITING_APPROVAL",
    "PROMOTE",
    "complete_recorded_promotion",
    "create_pipeline",
    "gate_outcome",
    "rejudge",
    "run_params",
]
