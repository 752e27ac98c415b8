"""Per-feature drift and data quality of a window against the reference, as metric rows.

Every feature gets its statistics (effect sizes and tests) and one ``drift_detected`` verdict:
drift needs both an effect beyond its threshold *and* significance, and is never declared on a
window below the minimum sizes (those are reported ``insufficient``).

A feature's drift is measured against the model version's training window unless the use case names
another window for it (``ComparisonWindow``: the previous batch, or the same period one season
earlier). Such a window is counted in the same Spark job as the current one, on the training
window's buckets, so KS and Wasserstein compare the two windows' bucket counts and sums and PSI uses
the training window's deciles as its fixed bins. Data quality is always against the training window.
Each row says what it was compared with (``reference``, ``reference_batch_id``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from pyspark.sql import DataFrame

from lakehouse_mlops.framework.usecase import TRAINING
from lakehouse_mlops.pipelines.monitoring import statistics as st
from lakehouse_mlops.pipelines.monitoring.config import MonitoringSpec, NumericDrift
from lakehouse_mlops.pipelines.monitoring.profiles import (
    BucketStats,
    CategoricalProfile,
    NumericProfile,
    ReferenceProfile,
    WindowCounts,
    coarse_counts,
    profile_reference,
    window_counts,
)

OK, FLAGGED, INSUFFICIENT = "ok", "flagged", "insufficient"
DATA_DRIFT, DATA_QUALITY, PREDICTION_DRIFT = "data_drift", "data_quality", "prediction_drift"


@dataclass(frozen=True)
class ComparisonWindow:
    """Another batch that ``features`` are compared with instead of the training window."""

    reference: str  # previous | seasonal
    batch_id: str
    features: tuple[str, ...]
    frame: DataFrame


def metric(kind: str, feature: str, name: str, value: float, **extra) -> dict:
    row = {
        "kind": kind,
        "feature": feature,
        "metric": name,
        "value": None if value is None or np.isnan(value) else float(value),
        "threshold": None,  # the effect-size threshold (a statistic's own bar)
        "p_value": None,
        "alpha": None,  # the significance level the p-value is compared with
        "flagged": False,
        "status": OK,
        "reference_rows": None,
        "current_rows": None,
    }
    row.update(extra)
    if row["flagged"]:
        row["status"] = FLAGGED
    return row


def drift_rows(
    reference: ReferenceProfile, current: DataFrame, spec: MonitoringSpec, kind: str = DATA_DRIFT
) -> list[dict]:
    """Drift and quality of the current window against the reference's profile: numeric columns
    (KS, normalised Wasserstein, PSI; nulls, out of range) and categorical ones (Jensen–Shannon,
    total-variation and L∞ distances, chi-square; nulls, unseen categories).

    One Spark job: each reference bucket's count and sum of values in the current window, and its
    categories; the current window needs no quantile sketch of its own.
    """
    return measure_window(reference, current, spec, kind)[0]


def measure_window(
    reference: ReferenceProfile,
    current: DataFrame,
    spec: MonitoringSpec,
    kind: str = DATA_DRIFT,
    comparisons: tuple[ComparisonWindow, ...] = (),
) -> tuple[list[dict], WindowCounts]:
    """``drift_rows``, and the window's counts they came from (for the report's distributions).
    ``comparisons``: features measured against another window (counted in the same job); one with
    fewer than ``min_reference_rows`` values there falls back to the training window, and its rows
    carry ``wanted_reference`` ("seasonal 2012-06") for the decision to say so."""
    settings = spec.prediction if kind == PREDICTION_DRIFT else spec.numeric
    numeric, categorical = list(reference.splits), list(reference.categories)
    window, *others = window_counts([current, *[c.frame for c in comparisons]], reference.splits, categorical)
    against = {f: (c, counts) for c, counts in zip(comparisons, others, strict=True) for f in c.features}
    rows = []
    for c in numeric:
        ref, cur = reference.numeric[c], window.numeric[c]
        if ref.non_null > 0:
            drift_ref, buckets, source = ref, reference.buckets[c], _source(against.get(c), c, spec)
            if source.get("reference") != TRAINING:
                counts = against[c][1]
                drift_ref = replace(counts.numeric[c], quantiles=ref.quantiles)  # fixed bins: training's
                buckets = counts.buckets[c]
            feature_rows = _numeric_feature(
                c, drift_ref, cur, reference.splits[c], buckets, window.buckets[c], settings, spec, kind
            )
            rows += [{**r, **source} for r in feature_rows]
        else:
            rows.append({**_insufficient(kind, c, ref.non_null, cur.non_null), "reference": TRAINING})
        if kind == DATA_DRIFT:
            rows += [{**r, "reference": TRAINING} for r in _numeric_quality(c, ref, cur, spec)]
    for c in categorical:
        source = _source(against.get(c), c, spec)
        ref = reference.categories[c]
        drift_ref = against[c][1].categories[c] if source["reference"] != TRAINING else ref
        rows += [
            {**r, **(source if r["kind"] == DATA_DRIFT else {"reference": TRAINING})}
            for r in _categorical_feature(c, ref, window.categories[c], spec, drift_ref)
        ]
    return rows, window


def _source(
    compared: tuple[ComparisonWindow, WindowCounts] | None, feature: str, spec: MonitoringSpec
) -> dict:
    """What ``feature``'s drift is measured against: the comparison window when it has enough values,
    else the training window (saying which window was wanted)."""
    if compared is None:
        return {"reference": TRAINING}
    comparison, counts = compared
    profile = counts.numeric.get(feature) or counts.categories[feature]
    if profile.non_null < spec.min_reference_rows:
        return {"reference": TRAINING, "wanted_reference": f"{comparison.reference} {comparison.batch_id}"}
    return {"reference": comparison.reference, "reference_batch_id": comparison.batch_id}


def compare_windows(  # noqa: PLR0913 - two windows, two column lists, the settings
    reference: DataFrame,
    current: DataFrame,
    numeric: list[str],
    categorical: list[str],
    spec: MonitoringSpec,
    kind: str = DATA_DRIFT,
) -> list[dict]:
    """``drift_rows`` with the reference window profiled first (three jobs in all)."""
    settings = spec.prediction if kind == PREDICTION_DRIFT else spec.numeric
    profile = profile_reference(
        reference, numeric, categorical, settings.quantiles, settings.quantile_relative_error
    )
    return drift_rows(profile, current, spec, kind)


def numeric_drift_rows(
    reference: DataFrame, current: DataFrame, columns: list[str], spec: MonitoringSpec, kind: str = DATA_DRIFT
) -> list[dict]:
    """``compare_windows`` of numeric columns only (e.g. the prediction drift of the scores)."""
    return compare_windows(reference, current, columns, [], spec, kind)


def _numeric_feature(  # noqa: PLR0913 - one feature's profiles and counts
    column: str,
    ref: NumericProfile,
    cur: NumericProfile,
    splits: np.ndarray,
    ref_buckets: BucketStats,
    cur_buckets: BucketStats,
    settings: NumericDrift,
    spec: MonitoringSpec,
    kind: str,
) -> list[dict]:
    sizes = {"reference_rows": ref.non_null, "current_rows": cur.non_null}
    if ref.non_null < spec.min_reference_rows or cur.non_null < spec.min_current_rows:
        return [_insufficient(kind, column, ref.non_null, cur.non_null)]
    ref_counts, cur_counts = ref_buckets.counts, cur_buckets.counts
    ks = st.ks_statistic(ref_counts, cur_counts)
    p_value = st.ks_pvalue(ks, ref.non_null, cur.non_null)
    significant = p_value < settings.alpha
    wasserstein = st.wasserstein_normalised(
        splits, ref_counts, ref_buckets.sums, cur_counts, cur_buckets.sums, ref.std
    )
    deciles = np.unique(ref.quantiles[psi_positions(settings)])
    psi = st.psi(coarse_counts(splits, ref_counts, deciles), coarse_counts(splits, cur_counts, deciles))
    w_flag = significant and wasserstein >= settings.wasserstein_threshold
    psi_flag = significant and psi >= settings.psi_threshold
    return [
        metric(kind, column, "ks", ks, p_value=p_value, alpha=settings.alpha, **sizes),
        metric(
            kind,
            column,
            "wasserstein_norm",
            wasserstein,
            threshold=settings.wasserstein_threshold,
            flagged=w_flag,
            **sizes,
        ),
        metric(kind, column, "psi", psi, threshold=settings.psi_threshold, flagged=psi_flag, **sizes),
        metric(
            kind, column, "drift_detected", float(w_flag or psi_flag), flagged=w_flag or psi_flag, **sizes
        ),
    ]


def psi_positions(settings: NumericDrift) -> list[int]:
    """Indices of the PSI bin edges (e.g. deciles) among the quantiles k / n, k = 1 … n − 1."""
    step = settings.quantiles // settings.psi_bins
    return [k * step - 1 for k in range(1, settings.psi_bins)]


def _insufficient(kind: str, column: str, ref_rows: int, cur_rows: int) -> dict:
    return metric(
        kind,
        column,
        "drift_detected",
        None,
        status=INSUFFICIENT,
        reference_rows=ref_rows,
        current_rows=cur_rows,
    )


def _numeric_quality(
    column: str, ref: NumericProfile, cur: NumericProfile, spec: MonitoringSpec
) -> list[dict]:
    q = spec.quality
    enough = cur.rows >= spec.min_current_rows
    null_limit = ref.null_share + q.max_null_share_increase
    out_share = cur.out_of_range / cur.non_null if cur.non_null else 0.0
    sizes = {"reference_rows": ref.rows, "current_rows": cur.rows}
    return [
        _quality(column, "null_share", cur.null_share, null_limit, enough, sizes),
        _quality(column, "out_of_range_share", out_share, q.max_out_of_range_share, enough, sizes),
    ]


def _quality(column: str, name: str, value: float, limit: float, enough: bool, sizes: dict) -> dict:
    if not enough:
        return metric(DATA_QUALITY, column, name, value, threshold=limit, status=INSUFFICIENT, **sizes)
    return metric(DATA_QUALITY, column, name, value, threshold=limit, flagged=value > limit, **sizes)


def categorical_drift_rows(
    reference: DataFrame, current: DataFrame, columns: list[str], spec: MonitoringSpec
) -> list[dict]:
    """``compare_windows`` of categorical columns only."""
    return compare_windows(reference, current, [], columns, spec)


def _categorical_feature(
    column: str,
    ref: CategoricalProfile,
    cur: CategoricalProfile,
    spec: MonitoringSpec,
    drift_ref: CategoricalProfile | None = None,
) -> list[dict]:
    """Quality against the training window ``ref``; drift against ``drift_ref`` (default: ``ref``)."""
    unseen = sum(n for v, n in cur.counts.items() if v not in ref.counts)
    unseen_share = unseen / cur.non_null if cur.non_null else 0.0
    sizes = {"reference_rows": ref.non_null, "current_rows": cur.non_null}
    enough = cur.rows >= spec.min_current_rows
    quality = [
        _quality(
            column,
            "null_share",
            cur.null_share,
            ref.null_share + spec.quality.max_null_share_increase,
            enough,
            sizes,
        ),
        _quality(column, "unseen_share", unseen_share, spec.quality.max_unseen_share, enough, sizes),
    ]
    ref = drift_ref or ref
    categories = sorted(set(ref.counts) | set(cur.counts))
    ref_counts = np.array([ref.counts.get(v, 0) for v in categories], dtype=float)
    cur_counts = np.array([cur.counts.get(v, 0) for v in categories], dtype=float)
    sizes = {"reference_rows": ref.non_null, "current_rows": cur.non_null}
    if ref.non_null < spec.min_reference_rows or cur.non_null < spec.min_current_rows:
        return [_insufficient(DATA_DRIFT, column, ref.non_null, cur.non_null), *quality]
    settings = spec.categorical
    chi2, p_value = st.chi_square(ref_counts, cur_counts)
    distances = {
        "jensen_shannon": st.jensen_shannon(ref_counts, cur_counts),
        "total_variation": st.total_variation(ref_counts, cur_counts),
        "l_infinity": st.l_infinity(ref_counts, cur_counts),
    }
    # every distance is reported against its threshold; the configured one decides, with the test
    drift = distances[settings.distance] >= settings.threshold(settings.distance) and p_value < settings.alpha
    return [
        *[
            metric(
                DATA_DRIFT,
                column,
                name,
                value,
                threshold=settings.threshold(name),
                flagged=drift and name == settings.distance,
                **sizes,
            )
            for name, value in distances.items()
        ],
        metric(DATA_DRIFT, column, "chi_square", chi2, p_value=p_value, alpha=settings.alpha, **sizes),
        metric(DATA_DRIFT, column, "drift_detected", float(drift), flagged=drift, **sizes),
        *quality,
    ]
