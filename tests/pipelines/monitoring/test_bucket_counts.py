"""Counting a window's values per reference bucket, on the executors, against a numpy oracle."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from lakehouse_mlops.pipelines.monitoring.bucket_counts import PartitionCounter
from lakehouse_mlops.pipelines.monitoring.profiles import window_counts

EDGES = np.array([-np.inf, 0.0, 1.0, 2.5, np.nextafter(4.0, np.inf), np.inf])


def _oracle(values: list) -> tuple[np.ndarray, np.ndarray]:
    """Bucket i = [EDGES[i], EDGES[i + 1]); null and NaN are missing."""
    x = np.array([v for v in values if v is not None and not np.isnan(v)], dtype=float)
    index = np.digitize(x, EDGES[1:-1])  # as np.searchsorted(EDGES, x, "right") - 1 for finite edges
    n = len(EDGES) - 1
    return np.bincount(index, minlength=n).astype(float), np.bincount(index, weights=x, minlength=n)


def test_a_batch_holding_rows_of_two_windows_is_split_by_window():
    counter = PartitionCounter(2, ["x"], [EDGES], ["c"])
    batch = pa.RecordBatch.from_pydict(
        {
            "window": pa.array([0, 1, 0, 1, 1], pa.int32()),
            "n0": pa.array([0.0, 5.0, None, float("nan"), 2.5]),
            "c0": pa.array(["a", "b", "a", None, "b"]),
        }
    )
    (partial,) = counter(iter([batch]))
    rows = partial.to_pylist()
    counted = {(r["window"], r["kind"], r["column"], r["value"]): r for r in rows}
    assert counted[0, "rows", "", ""]["n"] == 2 and counted[1, "rows", "", ""]["n"] == 3
    assert counted[0, "bucket", "x", "1"]["n"] == 1  # 0.0 opens [0, 1)
    assert counted[1, "bucket", "x", "3"]["n"] == 1  # 2.5 opens [2.5, 4]
    assert counted[1, "bucket", "x", "4"]["sum"] == 5.0  # above the reference's maximum
    assert counted[0, "category", "c", "a"]["n"] == 2 and counted[1, "category", "c", "b"]["n"] == 2
    assert (1, "category", "c", None) not in counted


@pytest.mark.parametrize("partitions", [1, 3])
def test_window_counts_match_numpy(spark, partitions):
    rng = np.random.default_rng(5)
    values = [
        [None if rng.random() < 0.05 else float(v) for v in rng.normal(loc, 1.5, size)]
        for loc, size in ((1.5, 4000), (2.5, 3000))
    ]
    values[1] += [0.0, 1.0, 2.5, 4.0, float("nan"), float("inf"), -50.0]  # on the edges, beyond them
    windows = [
        spark.createDataFrame(
            [(v, "k" if v is None else str(int(v > 2))) for v in vs], "x double, c string"
        ).repartition(partitions)
        for vs in values
    ]
    counted = window_counts(windows, {"x": EDGES}, ["c"])
    for vs, window in zip(values, counted, strict=True):
        counts, sums = _oracle(vs)
        np.testing.assert_array_equal(window.buckets["x"].counts, counts)
        np.testing.assert_allclose(window.buckets["x"].sums, sums, rtol=1e-12)
        present = [v for v in vs if v is not None and not np.isnan(v)]
        assert window.rows == len(vs)
        assert window.numeric["x"].non_null == len(present)
        assert window.numeric["x"].min == min(present) and window.numeric["x"].max == max(present)
        assert window.numeric["x"].out_of_range == counts[0] + counts[-1]
        assert sum(window.categories["c"].counts.values()) == len(vs)


def test_values_beyond_finite_edges_go_to_the_outer_buckets():
    counter = PartitionCounter(1, ["p"], [np.linspace(0.0, 1.0, 5)], [])  # a score histogram's edges
    batch = pa.RecordBatch.from_pydict(
        {"window": pa.array([0, 0, 0, 0], pa.int32()), "n0": pa.array([-0.1, 0.0, 1.0, 1.5])}
    )
    (partial,) = counter(iter([batch]))
    counted = {r["value"]: r["n"] for r in partial.to_pylist() if r["kind"] == "bucket"}
    assert counted == {"0": 2, "3": 2}
