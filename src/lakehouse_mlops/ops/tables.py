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
    for name, dataset in _delta_tables(catalog, names):
        if dataset.filepath not in {d.filepath for d in found.values()}:
            found[name] = dataset
    return found


def pipeline_tables(catalog: DataCatalog, pipeline: str, tables: dict[str, DeltaSparkDataset]) -> list[str]:
    """The names in ``tables`` (as ``delta_datasets`` gives them) of the tables ``pipeline`` reads or
    writes, under whichever name its nodes use."""
    paths = {dataset.filepath for _, dataset in _delta_tables(catalog, pipelines[pipeline].datasets())}
    return [name for name, dataset in tables.items() if dataset.filepath in paths]


def _delta_tables(catalog: DataCatalog, names) -> Iterator[tuple[str, DeltaSparkDataset]]:
    for name in names:
        if name.startswith("params:") or name == "parameters":
            continue
        dataset = catalog.get(name)
        if isinstance(dataset, DeltaSparkDataset):
            yield name, dataset


def describe_tables(catalog: DataCatalog) -> Iterator[str]:
    yield f"{'table':<28} {'rows':>10} {'version':>8}  path"
    for name, dataset in delta_datasets(catalog).items():
        version = dataset.current_version()
        rows = dataset.load().count() if version is not None else 0
        shown = "-" if version is None else str(version)
        yield f"{name:<28} {rows:>10} {shown:>8}  {dataset.filepath}"
