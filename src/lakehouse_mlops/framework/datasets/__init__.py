"""Kedro dataset classes that give the catalog Delta Lake table semantics."""

from lakehouse_mlops.framework.datasets.delta_spark_dataset import DeltaSparkDataset
from lakehouse_mlops.framework.datasets.landing_csv_dataset import LandingCsvDataset
from lakehouse_mlops.framework.datasets.landing_zone_dataset import LandingZoneDataset

__all__ = ["DeltaSparkDataset", "LandingCsvDataset", "LandingZoneDataset"]
