"""The landing zone of one feed: a PartitionedDataset that may be empty."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kedro_datasets.partitions import PartitionedDataset


class LandingZoneDataset(PartitionedDataset):
    """Partition id → lazy loader of every file under ``path``; an empty zone loads as ``{}``.

    Kedro's PartitionedDataset refuses to load an empty folder, but a feed with nothing landed
    yet (labels that land one batch late, before the second batch) is normal here. Example::

        landing_orders:
          type: lakehouse_mlops.framework.datasets.LandingZoneDataset
          path: data/01_landing/orders
          filename_suffix: .csv
          dataset: lakehouse_mlops.framework.datasets.LandingCsvDataset
    """

    def load(self) -> dict[str, Callable[[], Any]]:
        if not self._list_partitions():
            return {}
        return super().load()
