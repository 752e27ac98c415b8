"""Describe the project's Delta tables (rows, version) from the catalog."""

from __future__ import annotations

from collections.abc import Iterator

from kedro.framework.project import pipelines
from kedro.io import DataCatalog

from lakehouse_mlops.framework.datasets import DeltaSparkDataset


def delta_datasets(catalog: DataCatalog) -> dict[str, DeltaSparkDataset]:
    """Every Delta table used by a registered pipeline, one entry per path."""
    # a table read under a second name (e.g. ``monitoring_history``) is shown under its writer's name
    names = sorted(
        {name for pipe in pipelines.values() for name in pipe.datasets()},
        key=lambda name: (name.endswith("_history"), name),
    )
    found: dict[str, DeltaSparkDataset] = {}
    for name in names:
        if name.startswith("params:") or name == "parameters":
            continue
        dataset = catalog.get(name)
        if isinstance(dataset, DeltaSparkDataset) and dataset.filepath not in {
            d.filepath for d in found.values()
        }:
            found[name] = dataset
    return found


def describe_tables(catalog: DataCatalog) -> Iterator[str]:
    yield f"{'table':<28} {'rows':>10} {'version':>8}  path"
    for name, dataset in delta_datasets(catalog).items():
        version = dataset.current_version()
        rows = dataset.load().count() if version is not None else 0
        shown = "-" if version is None else str(version)
        yield f"{name:<28} {rows:>10} {shown:>8}  {dataset.filepath}"
