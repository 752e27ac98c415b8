"""Promotion (validation gate): the candidate (the ``challenger`` by default), the ``champion`` and a
naive baseline (the route's trailing late rate) are scored on the same most recent labelled window;
the candidate becomes champion only if it passes the absolute bars, beats the baseline and improves on
the champion (``conf/base/parameters_promotion.yml``). Every decision lands in the ``decisions`` table
and on the model version.
"""

from lakehouse_mlops.pipelines.promotion.pipeline import create_pipeline

__all__ = ["create_pipeline"]
