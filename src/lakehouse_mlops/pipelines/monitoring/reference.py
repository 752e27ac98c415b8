"""Reference profiles as rows of the ``reference_profiles`` Delta table, and back.

Every window monitored against one model version is compared with the same reference: the
version's training window at the Delta version it read, and the version's scores there. Its
profiles are computed on the first monitoring run of the version and stored, one row per
(version, settings, kind, feature): a numeric feature's moments, quantiles, bucket edges and each
bucket's count and sum; a categorical feature's category counts; the histogram of the scores.
Later runs read those rows instead of re-reading and re-scoring the training window, which leaves
one Spark job per monitored window.

``settings_key`` fingerprints what a profile depends on besides the data (the monitored columns,
the quantile settings, the histogram bins): changed settings profile the reference again instead
of reusing a profile that no longer fits them.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass

import numpy as np
from pyspark.sql import DataFrame, SparkSession

from lakehouse_mlops.pipelines.monitoring.config import MonitoringSpec
from lakehouse_mlops.pipelines.monitoring.drift import DATA_DRIFT, PREDICTION_DRIFT
from lakehouse_mlops.pipelines.monitoring.estimation import Calibrator
from lakehouse_mlops.pipelines.monitoring.profiles import (
    BucketStats,
    CategoricalProfile,
    NumericProfile,
    ReferenceProfile,
)

PROFILE_SCHEMA = (
    "model_name string, model_version string, settings_key string, kind string, feature string, "
    "position int, feature_type string, rows long, non_null long, mean double, std double, "
    "min double, max double, quantiles array<double>, splits array<double>, "
    "bucket_counts array<long>, bucket_sums array<double>, categories map<string,long>, "
    "source_table string, source_version long, window_start string, window_end string, "
    "computed_at timestamp"
)
NUMERIC, CATEGORICAL, HISTOGRAM = "numeric", "categorical", "histogram"
SCORE_HISTOGRAM = "score_histogram"
#: the version's score calibrator: knots in ``splits`` (scores) and ``quantiles`` (probabilities),
#: out-of-sample Brier score without / with it in ``mean`` / ``std``; feature type isotonic | identity
SCORE_CALIBRATION = "score_calibration"
ISOTONIC, IDENTITY = "isotonic", "identity"
#: bumped when the meaning of a stored profile changes (older profiles are then recomputed)
PROFILE_FORMAT = 3


@dataclass(frozen=True)
class ReferenceProfiles:
    """What every window of one model version is compared with."""

    data: ReferenceProfile  # the monitored features
    scores: ReferenceProfile  # the version's scores ("probability")
    score_edges: np.ndarray  # the score histogram's bin edges
    score_counts: np.ndarray  # the reference's scores per histogram bin
    calibrator: Calibrator = Calibrator()  # scores → probabilities, fitted on the test window


def settings_key(
    numeric: list[str], categorical: list[str], spec: MonitoringSpec, histogram_bins: int
) -> str:
    settings = {
        "format": PROFILE_FORMAT,
        "numeric": numeric,
        "categorical": categorical,
        "data": [spec.numeric.quantiles, spec.numeric.quantile_relative_error],
        "scores": [spec.prediction.quantiles, spec.prediction.quantile_relative_error],
        "histogram_bins": histogram_bins,
    }
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]


def profile_rows(profiles: ReferenceProfiles, identity: dict) -> list[dict]:
    """The profiles as table rows; ``identity`` holds the columns every row shares (version, settings
    key, source table and version, window, time)."""
    rows = []

    def add(kind: str, feature: str, position: int, feature_type: str, **values) -> None:
        rows.append(
            {**identity, "kind": kind, "feature": feature, "position": position, "feature_type": feature_type}
            | values
        )

    for kind, profile in ((DATA_DRIFT, profiles.data), (PREDICTION_DRIFT, profiles.scores)):
        for position, (column, numeric) in enumerate(profile.numeric.items()):
            buckets = profile.buckets[column]
            add(
                kind,
                column,
                position,
                NUMERIC,
                rows=numeric.rows,
                non_null=numeric.non_null,
                mean=_stored(numeric.mean),
                std=_stored(numeric.std),
                min=_stored(numeric.min),
                max=_stored(numeric.max),
                quantiles=[float(q) for q in numeric.quantiles],
                splits=[float(s) for s in profile.splits[column]],
                bucket_counts=[int(n) for n in buckets.counts],
                bucket_sums=[float(s) for s in buckets.sums],
            )
        for position, (column, categorical) in enumerate(profile.categories.items(), len(profile.numeric)):
            counts = {str(k): int(v) for k, v in categorical.counts.items()}
            add(
                kind,
                column,
                position,
                CATEGORICAL,
                rows=categorical.rows,
                non_null=categorical.non_null,
                categories=counts,
            )
    scored = int(profiles.score_counts.sum())
    add(
        SCORE_HISTOGRAM,
        "probability",
        0,
        HISTOGRAM,
        rows=scored,
        non_null=scored,
        splits=[float(e) for e in profiles.score_edges],
        bucket_counts=[int(n) for n in profiles.score_counts],
    )
    calibrator = profiles.calibrator
    add(
        SCORE_CALIBRATION,
        "probability",
        0,
        IDENTITY if calibrator.identity else ISOTONIC,
        rows=calibrator.rows,
        non_null=calibrator.rows,
        mean=_stored(calibrator.brier_before),
        std=_stored(calibrator.brier_after),
        splits=list(calibrator.knots_x),
        quantiles=list(calibrator.knots_y),
    )
    return rows


def profile_frame(rows: list[dict]) -> DataFrame:
    """Profile rows as a DataFrame of the table's schema (no rows: an empty one)."""
    columns = [c.split()[0] for c in PROFILE_SCHEMA.split(", ")]
    spark = SparkSession.getActiveSession() or SparkSession.builder.getOrCreate()
    return spark.createDataFrame([[r.get(c) for c in columns] for r in rows], PROFILE_SCHEMA)


def _stored(value: float) -> float | None:
    """NaN (no value to compute it from) is stored as null."""
    return None if math.isnan(value) else float(value)


def _read(value: float | None) -> float:
    return float("nan") if value is None else float(value)


def profiles_from_rows(rows: list[dict]) -> ReferenceProfiles:
    """The profiles back from the rows of one (version, settings key), in the features' order."""
    ordered = sorted(rows, key=lambda r: (r["kind"], r["position"]))
    histogram = next(r for r in ordered if r["kind"] == SCORE_HISTOGRAM)
    calibration = next(r for r in ordered if r["kind"] == SCORE_CALIBRATION)
    return ReferenceProfiles(
        data=_profile([r for r in ordered if r["kind"] == DATA_DRIFT]),
        scores=_profile([r for r in ordered if r["kind"] == PREDICTION_DRIFT]),
        score_edges=np.asarray(histogram["splits"], dtype=float),
        score_counts=np.asarray(histogram["bucket_counts"], dtype=float),
        calibrator=Calibrator(
            tuple(calibration["splits"] or ()),
            tuple(calibration["quantiles"] or ()),
            _read(calibration["mean"]),
            _read(calibration["std"]),
            int(calibration["rows"] or 0),
        ),
    )


def _profile(rows: list[dict]) -> ReferenceProfile:
    numeric = [r for r in rows if r["feature_type"] == NUMERIC]
    categorical = [r for r in rows if r["feature_type"] == CATEGORICAL]
    return ReferenceProfile(
        numeric={
            r["feature"]: NumericProfile(
                rows=int(r["rows"]),
                non_null=int(r["non_null"]),
                mean=_read(r["mean"]),
                std=_read(r["std"]),
                min=_read(r["min"]),
                max=_read(r["max"]),
                quantiles=np.asarray(r["quantiles"], dtype=float),
            )
            for r in numeric
        },
        splits={r["feature"]: np.asarray(r["splits"], dtype=float) for r in numeric},
        buckets={
            r["feature"]: BucketStats(
                np.asarray(r["bucket_counts"], dtype=float), np.asarray(r["bucket_sums"], dtype=float)
            )
            for r in numeric
        },
        categories={
            r["feature"]: CategoricalProfile(rows=int(r["rows"]), counts=dict(r["categories"]))
            for r in categorical
        },
    )
