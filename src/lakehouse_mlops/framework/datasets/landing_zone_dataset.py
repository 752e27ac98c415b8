"""The landing zone of one feed: a PartitionedDataset that may be empty, keyed by file path."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from kedro.io.core import DatasetError
from kedro_datasets.partitions import PartitionedDataset

logger = logging.getLogger(__name__)


class LandingZoneDataset(PartitionedDataset):
    """Partition id → lazy loader of every file under ``path``; an empty zone loads as ``{}``.

    Unlike Kedro's PartitionedDataset:

    - the partition id is the file's path relative to the zone *as landed* (``2024-03/orders.CSV``),
      so a file keeps its real name in lineage;
    - ``filename_suffix`` matches regardless of letter case (``.CSV`` is a CSV file); any other file
      in the zone is logged as ignored, never skipped without a word;
    - an empty (or missing) zone is normal: a feed with nothing landed yet (labels that land one
      batch late, before the second batch). Example::

        landing_orders:
          type: lakehouse_mlops.framework.datasets.LandingZoneDataset
          path: data/01_landing/orders
          filename_suffix: .csv
          dataset: lakehouse_mlops.framework.datasets.LandingCsvDataset
    """

    def _list_partitions(self) -> list[str]:
        if self._cached_partitions is not None:
            return self._cached_partitions
        found = self._filesystem.find(self._normalized_path, **self._load_args)
        suffix = self._filename_suffix.lower()
        ignored = [path for path in found if not path.lower().endswith(suffix)]
        if ignored:
            logger.warning(
                "%s: ignored %d file(s) not named *%s: %s",
                self._path,
                len(ignored),
                self._filename_suffix,
                ", ".join(sorted(ignored)[:10]),
            )
        self._cached_partitions = [path for path in found if path.lower().endswith(suffix)]
        return self._cached_partitions

    def _path_to_partition(self, path: str) -> str:
        dir_path = self._filesystem._strip_protocol(self._normalized_path).rstrip(self._sep)
        return path.split(dir_path, 1).pop().lstrip(self._sep)

    def load(self) -> dict[str, Callable[[], Any]]:
        try:
            return super().load()
        except DatasetError:
            if not self._list_partitions():  # listed (and logged) by the failed load: no second scan
                return {}
            raise
