"""Every drift statistic computed on Spark matches an independent oracle (scipy/numpy) on the same data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.spatial import distance

from lakehouse_mlops.pipelines.monitoring import statistics as st
from lakehouse_mlops.pipelines.monitoring.config import parse_monitoring
from lakehouse_mlops.pipelines.monitoring.drift import categorical_drift_rows, numeric_drift_rows
from lakehouse_mlops.pipelines.monitoring.profiles import numeric_profiles

SPEC = parse_monitoring({})


def by_metric(rows: list[dict], feature: str) -> dict[str, dict]:
    return {r["metric"]: r for r in rows if r["feature"] == feature and r["kind"] == "data_drift"}


@pytest.fixture(scope="module")
def numeric_windows(spark):
    rng = np.random.default_rng(7)
    ref = pd.DataFrame({"x": rng.normal(10, 2, 20_000), "k": rng.integers(0, 24, 20_000).astype(float)})
    cur = pd.DataFrame({"x": rng.normal(10.6, 2.6, 15_000), "k": rng.integers(2, 24, 15_000).astype(float)})
    return ref, cur, spark.createDataFrame(ref), spark.createDataFrame(cur)


@pytest.mark.parametrize("column", ["x", "k"])
def test_ks_and_wasserstein_match_scipy(numeric_windows, column):
    ref, cur, ref_df, cur_df = numeric_windows
    rows = by_metric(numeric_drift_rows(ref_df, cur_df, [column], SPEC), column)
    exact = stats.ks_2samp(ref[column], cur[column], method="asymp")
    assert rows["ks"]["value"] == pytest.approx(exact.statistic, abs=0.005)
    oracle = stats.wasserstein_distance(ref[column], cur[column]) / np.std(ref[column])
    assert rows["wasserstein_norm"]["value"] == pytest.approx(oracle, rel=0.01, abs=1e-3)
    assert rows["drift_detected"]["flagged"]


def test_psi_matches_numpy_on_the_same_bins(numeric_windows, spark):
    ref, cur, ref_df, cur_df = numeric_windows
    profile = numeric_profiles(ref_df, ["x"], SPEC.numeric.quantiles, SPEC.numeric.quantile_relative_error)[
        "x"
    ]
    edges = np.unique(profile.quantiles[[k * 100 - 1 for k in range(1, 10)]])

    def shares(values):
        counts = np.bincount(np.searchsorted(edges, values, side="right"), minlength=len(edges) + 1)
        return np.clip(counts / counts.sum(), st.PSI_EMPTY_BIN_SHARE, None)

    p, q = shares(ref["x"].to_numpy()), shares(cur["x"].to_numpy())
    oracle = float(np.sum((q - p) * np.log(q / p)))
    rows = by_metric(numeric_drift_rows(ref_df, cur_df, ["x"], SPEC), "x")
    assert rows["psi"]["value"] == pytest.approx(oracle, abs=1e-6)


def test_jensen_shannon_and_chi_square_match_scipy(spark):
    rng = np.random.default_rng(3)
    ref = pd.DataFrame({"c": rng.choice(["a", "b", "c", "d"], 8000, p=[0.4, 0.3, 0.2, 0.1])})
    cur = pd.DataFrame({"c": rng.choice(["a", "b", "c", "e"], 5000, p=[0.25, 0.3, 0.3, 0.15])})
    rows = categorical_drift_rows(spark.createDataFrame(ref), spark.createDataFrame(cur), ["c"], SPEC)
    drift = by_metric(rows, "c")
    categories = sorted(set(ref["c"]) | set(cur["c"]))
    p = ref["c"].value_counts().reindex(categories, fill_value=0).to_numpy()
    q = cur["c"].value_counts().reindex(categories, fill_value=0).to_numpy()
    assert drift["jensen_shannon"]["value"] == pytest.approx(
        distance.jensenshannon(p / p.sum(), q / q.sum(), base=2), abs=1e-6
    )
    assert drift["total_variation"]["value"] == pytest.approx(0.5 * np.abs(p / p.sum() - q / q.sum()).sum())
    assert drift["l_infinity"]["value"] == pytest.approx(np.abs(p / p.sum() - q / q.sum()).max())
    assert drift["jensen_shannon"]["flagged"] and not drift["total_variation"]["flagged"]
    table = pd.crosstab(np.r_[np.zeros(len(ref)), np.ones(len(cur))], np.r_[ref["c"], cur["c"]])
    chi2 = stats.chi2_contingency(table.to_numpy(), correction=False)
    assert drift["chi_square"]["value"] == pytest.approx(chi2.statistic, rel=1e-9)
    assert drift["chi_square"]["p_value"] == pytest.approx(chi2.pvalue, rel=1e-6, abs=1e-300)
    unseen = {r["metric"]: r for r in rows if r["kind"] == "data_quality"}["unseen_share"]
    assert unseen["value"] == pytest.approx((cur["c"] == "e").mean())
    assert unseen["flagged"]


def test_binned_auc_and_calibration_match_sklearn():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(5)
    y = rng.integers(0, 2, 5000)
    p = np.clip(0.3 * y + rng.uniform(0, 0.7, 5000), 0, 1)
    bins = np.floor(p * 10000).astype(int)
    pos = np.bincount(bins, weights=y, minlength=10001)
    neg = np.bincount(bins, weights=1 - y, minlength=10001)
    assert st.binned_roc_auc(pos, neg) == pytest.approx(roc_auc_score(y, p), abs=1e-3)


def _bucket_sums(values: np.ndarray, splits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    index = np.searchsorted(splits, values, side="right") - 1  # bucket [splits[i], splits[i + 1])
    counts = np.bincount(index, minlength=len(splits) - 1).astype(float)
    return counts, np.bincount(index, weights=values, minlength=len(splits) - 1)


@pytest.mark.parametrize("discrete", [False, True])
def test_wasserstein_from_bucket_counts_and_sums_matches_scipy(discrete):
    rng = np.random.default_rng(11)
    ref, cur = rng.normal(0, 1, 30_000), rng.normal(0.3, 1.6, 20_000)  # the CDFs cross
    if discrete:
        ref, cur = np.round(ref * 3), np.round(cur * 3)
    splits = np.concatenate([[-np.inf], np.unique(np.quantile(ref, np.arange(1, 200) / 200)), [np.inf]])
    value = st.wasserstein_normalised(splits, *_bucket_sums(ref, splits), *_bucket_sums(cur, splits), 1.0)
    oracle = stats.wasserstein_distance(ref, cur)
    # Exact where the CDFs do not cross inside a bucket: always for values on the edges.
    assert value == pytest.approx(oracle, rel=1e-9 if discrete else 1e-3)


def test_a_feature_without_reference_values_is_insufficient_not_an_error(spark):
    ref = spark.createDataFrame([(None, 1.0)] * 2000, "empty double, constant double")
    cur = spark.createDataFrame(
        [(float(i), 1.0 + (i % 2)) for i in range(1500)], "empty double, constant double"
    )
    rows = numeric_drift_rows(ref, cur, ["empty", "constant"], SPEC)
    empty = {(r["kind"], r["metric"]): r for r in rows if r["feature"] == "empty"}
    assert empty["data_drift", "drift_detected"]["status"] == "insufficient"
    assert empty["data_drift", "drift_detected"]["current_rows"] == 1500
    assert empty["data_quality", "out_of_range_share"]["value"] == 0.0  # no reference range to leave
    constant = {(r["kind"], r["metric"]): r for r in rows if r["feature"] == "constant"}
    assert constant["data_quality", "out_of_range_share"]["value"] == pytest.approx(0.5)  # the 2.0s
    assert constant["data_drift", "drift_detected"]["flagged"]


def test_the_configured_categorical_distance_decides_drift(spark):
    rng = np.random.default_rng(4)
    # every share moves by 0.08: Jensen–Shannon (~0.14) and total variation (0.16) pass 0.1, L∞ does not
    ref = pd.DataFrame({"c": rng.choice(list("abcd"), 20_000, p=[0.25, 0.25, 0.25, 0.25])})
    cur = pd.DataFrame({"c": rng.choice(list("abcd"), 20_000, p=[0.33, 0.17, 0.33, 0.17])})
    frames = spark.createDataFrame(ref), spark.createDataFrame(cur)
    for distance_name, drifted in (
        ("jensen_shannon", True),
        ("total_variation", True),
        ("l_infinity", False),
    ):
        spec = parse_monitoring({"categorical": {"distance": distance_name}})
        drift = by_metric(categorical_drift_rows(*frames, ["c"], spec), "c")
        assert drift["drift_detected"]["flagged"] == drifted, distance_name
