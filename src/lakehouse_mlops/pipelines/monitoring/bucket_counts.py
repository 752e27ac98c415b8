"""Each partition of a window reduced to counts with numpy, on the executors (``mapInArrow``).

Spark hands every partition to a Python worker as Arrow batches; per numeric column the bucket of
every value is a binary search in the bucket edges and the per-bucket counts and sums are
``bincount``s; categories are Arrow's ``value_counts``. A partition leaves a few numbers per bucket
and category (``PARTIAL``), which Spark adds up. This is about the cost of one plain scan of the
columns: the rows are never multiplied into (column, bucket) pairs for a shuffle.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

ROWS, BUCKET, MOMENTS, CATEGORY = "rows", "bucket", "moments", "category"
#: one partition's counts: per window its rows; per numeric column and bucket the count and sum of
#: its values, per column the sum of squares, minimum and maximum; per category its count
PARTIAL = pa.schema(
    [
        ("window", pa.int32()),
        ("kind", pa.string()),
        ("column", pa.string()),
        ("value", pa.string()),
        ("n", pa.int64()),
        ("sum", pa.float64()),
        ("sum2", pa.float64()),
        ("min", pa.float64()),
        ("max", pa.float64()),
    ]
)


class _Column:
    """One numeric column's running counts in one window."""

    def __init__(self, edges: np.ndarray) -> None:
        self.edges = edges
        self.counts = np.zeros(len(edges) - 1)
        self.sums = np.zeros(len(edges) - 1)
        self.squares, self.low, self.high = 0.0, np.inf, -np.inf

    def add(self, values: np.ndarray) -> None:
        values = values[~np.isnan(values)]  # NaN is missing, as null is
        if values.size == 0:
            return
        # bucket i holds [edges[i], edges[i + 1]); the last one also its upper edge (as Bucketizer),
        # and the outer buckets whatever lies beyond the edges (reference splits start at −∞ anyway)
        buckets = np.clip(np.searchsorted(self.edges, values, side="right") - 1, 0, len(self.counts) - 1)
        self.counts += np.bincount(buckets, minlength=len(self.counts))
        self.sums += np.bincount(buckets, weights=values, minlength=len(self.counts))
        self.squares += float(np.dot(values, values))
        self.low, self.high = min(self.low, float(values.min())), max(self.high, float(values.max()))


class PartitionCounter:
    """``mapInArrow`` function: input columns ``window``, the numeric columns (double) in the order
    of ``numeric``, then the categorical ones (string) in the order of ``categorical``."""

    def __init__(
        self, windows: int, numeric: list[str], edges: list[np.ndarray], categorical: list[str]
    ) -> None:
        self.windows, self.numeric, self.edges, self.categorical = windows, numeric, edges, categorical

    def __call__(self, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        rows = [0] * self.windows
        columns = [[_Column(e) for e in self.edges] for _ in range(self.windows)]
        categories: list[list[dict]] = [[{} for _ in self.categorical] for _ in range(self.windows)]
        for batch in batches:
            window_of_row = batch.column(0).to_numpy(zero_copy_only=False)
            present = np.unique(window_of_row)
            for window in present:
                part = batch if len(present) == 1 else batch.filter(pa.array(window_of_row == window))
                rows[window] += part.num_rows
                for i, column in enumerate(columns[window]):
                    column.add(part.column(1 + i).to_numpy(zero_copy_only=False).astype(float))
                for i, counts in enumerate(categories[window]):
                    found = pc.value_counts(part.column(1 + len(self.numeric) + i))
                    for value, n in zip(found.field(0).to_pylist(), found.field(1).to_pylist(), strict=True):
                        if value is not None:
                            counts[value] = counts.get(value, 0) + n
        yield self._partial(rows, columns, categories)

    def _partial(self, rows: list[int], columns: list[list[_Column]], categories: list[list[dict]]):
        out: dict[str, list] = {name: [] for name in PARTIAL.names}

        def add(window, kind, column="", value="", n=0, total=None, squares=None, low=None, high=None):
            for name, item in zip(
                PARTIAL.names, (window, kind, column, value, n, total, squares, low, high), strict=True
            ):
                out[name].append(item)

        for window in range(self.windows):
            add(window, ROWS, n=rows[window])
            for name, column in zip(self.numeric, columns[window], strict=True):
                filled = np.nonzero(column.counts)[0]
                for bucket in filled:
                    add(window, BUCKET, name, str(bucket), int(column.counts[bucket]), column.sums[bucket])
                if filled.size:
                    add(window, MOMENTS, name, squares=column.squares, low=column.low, high=column.high)
            for name, counts in zip(self.categorical, categories[window], strict=True):
                for value, n in counts.items():
                    add(window, CATEGORY, name, value, n)
        return pa.RecordBatch.from_pydict(out, schema=PARTIAL)
