"""`kedro maintain`: every Delta table of the catalog compacted and vacuumed under the lineage guard
(framework/maintenance.py); also the optional last stage of a cycle (``maintenance.after_cycle``)."""

from __future__ import annotations

from collections.abc import Callable

from kedro.io import DataCatalog

from lakehouse_mlops.framework.maintenance import (
    MaintenanceError,
    TableReport,
    maintain_table,
    pinned_versions,
)
from lakehouse_mlops.ops.tables import delta_datasets

#: the stored reference profiles (source_table, source_version): pins of the guard besides the registry
PROFILES_DATASET = "stored_reference_profiles"


def maintain_lakehouse(
    catalog: DataCatalog,
    model_names: list[str],
    retain_hours: float | None = None,
    tables: list[str] | None = None,
    echo: Callable[[str], None] = print,
) -> list[TableReport]:
    """Maintain every Delta table of the catalog (or only ``tables``), one summary line each.

    ``retain_hours`` replaces the tables' declared VACUUM retention (the guard still widens it).
    """
    found = delta_datasets(catalog)
    unknown = sorted(set(tables or []) - set(found))
    if unknown:
        raise MaintenanceError(f"no Delta table {unknown} in the catalog; its tables are {sorted(found)}")
    pins = pinned_versions(model_names, catalog.load(PROFILES_DATASET))
    reports = []
    for name, dataset in found.items():
        if (tables and name not in tables) or dataset.current_version() is None:
            continue
        reports.append(maintain_table(name, dataset, pins.get(dataset.filepath), retain_hours))
        echo(reports[-1].line())
    return reports


def totals(reports: list[TableReport]) -> str:
    before = sum(r.disk_files_before for r in reports)
    after = sum(r.disk_files_after for r in reports)
    freed = sum(r.bytes_freed for r in reports)
    return f"{len(reports)} table(s): data files on disk {before} -> {after}, {freed} bytes freed"
