"""What a Delta table's catalog entry declares for maintenance: its retention properties and when to
compact it. Parsed in ``DeltaSparkDataset.__init__`` so that a bad entry fails when the catalog loads."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from kedro.io.core import DatasetError

LOG_RETENTION = "delta.logRetentionDuration"
FILE_RETENTION = "delta.deletedFileRetentionDuration"
CHECKPOINT_INTERVAL = "delta.checkpointInterval"
#: Delta's own defaults when a table declares nothing
DEFAULT_HOURS = {LOG_RETENTION: 30 * 24.0, FILE_RETENTION: 7 * 24.0}
INTERVAL = re.compile(r"interval\s+(\d+)\s+(hour|day|week)s?", re.IGNORECASE)
UNIT_HOURS = {"hour": 1, "day": 24, "week": 168}
PROPERTY_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
MAINTENANCE_KEYS = ("optimize_min_small_files", "small_file_mb", "vacuum")


@dataclass(frozen=True)
class MaintenanceSpec:
    """``maintenance:`` of a catalog entry (every key optional).

    optimize_min_small_files: compact (OPTIMIZE) the table once it has at least this many live files
        smaller than ``small_file_mb``.
    small_file_mb: the size below which a data file counts as small.
    vacuum: false keeps every unreferenced file (no VACUUM) for this table.
    """

    optimize_min_small_files: int = 10
    small_file_mb: float = 32.0
    vacuum: bool = True


def parse_maintenance(raw: dict[str, Any] | None, filepath: str) -> MaintenanceSpec:
    raw = dict(raw or {})
    unknown = sorted(set(raw) - set(MAINTENANCE_KEYS))
    if unknown:
        raise DatasetError(
            f"Delta table '{filepath}': maintenance key(s) {unknown} unknown; "
            f"allowed: {list(MAINTENANCE_KEYS)}"
        )
    count = raw.get("optimize_min_small_files", MaintenanceSpec.optimize_min_small_files)
    size = raw.get("small_file_mb", MaintenanceSpec.small_file_mb)
    vacuum = raw.get("vacuum", MaintenanceSpec.vacuum)
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise DatasetError(
            f"Delta table '{filepath}': maintenance.optimize_min_small_files must be an "
            f"integer >= 1, not {count!r}"
        )
    if isinstance(size, bool) or not isinstance(size, int | float) or size <= 0:
        raise DatasetError(
            f"Delta table '{filepath}': maintenance.small_file_mb must be a positive number, not {size!r}"
        )
    if not isinstance(vacuum, bool):
        raise DatasetError(
            f"Delta table '{filepath}': maintenance.vacuum must be true or false, not {vacuum!r}"
        )
    return MaintenanceSpec(count, float(size), vacuum)


def check_table_properties(properties: dict[str, str], filepath: str) -> None:
    """Retention properties must be Delta intervals in hours, days or weeks; the checkpoint interval
    a positive integer (Delta would accept some bad values and fail on the next write)."""
    for key, value in properties.items():
        if not PROPERTY_KEY.fullmatch(str(key)) or "'" in str(value) or "\\" in str(value):
            raise DatasetError(
                f"Delta table '{filepath}': table_properties.{key} = {value!r}: keys are dotted identifiers "
                "and values hold no quote or backslash"
            )
    for key in (LOG_RETENTION, FILE_RETENTION):
        if key in properties and not INTERVAL.fullmatch(str(properties[key]).strip()):
            raise DatasetError(
                f"Delta table '{filepath}': table_properties.{key} is {properties[key]!r}; write it as "
                "'interval <N> hours|days|weeks', e.g. 'interval 7 days'"
            )
    if CHECKPOINT_INTERVAL in properties and not str(properties[CHECKPOINT_INTERVAL]).isdigit():
        raise DatasetError(
            f"Delta table '{filepath}': table_properties.{CHECKPOINT_INTERVAL} is "
            f"{properties[CHECKPOINT_INTERVAL]!r}; it must be a positive integer (commits per checkpoint)"
        )
    if str(properties.get(CHECKPOINT_INTERVAL, "1")) == "0":
        raise DatasetError(f"Delta table '{filepath}': table_properties.{CHECKPOINT_INTERVAL} must be >= 1")


def interval_hours(text: str) -> float:
    """``interval 7 days`` → 168.0 (the forms ``check_table_properties`` accepts)."""
    match = INTERVAL.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"not an interval in hours, days or weeks: {text!r}")
    return float(int(match.group(1)) * UNIT_HOURS[match.group(2).lower()])


def interval_days(hours: float) -> str:
    """The Delta interval of at least ``hours``, in whole days."""
    return f"interval {max(1, math.ceil(hours / 24))} days"
