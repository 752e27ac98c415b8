"""Writing a landing file as a source system should: complete or not at all."""

from __future__ import annotations

import filecmp
import os
from pathlib import Path

import pandas as pd


def landing_path(landing_root: Path, feed: str, batch_id: str, suffix: str = ".csv") -> Path:
    """``<landing_root>/<feed>/<batch_id>/<feed>_<batch_id><suffix>``: the layout ingestion reads."""
    return landing_root / feed / batch_id / f"{feed}_{batch_id}{suffix}"


def write_landing_file(frame: pd.DataFrame, path: Path) -> Path:
    """Write a CSV atomically (temporary name, then rename), so ingestion never sees half a file. A file
    already there with the same bytes is left as it is (its modification time too: a re-run of a
    cycle sees nothing new in landing, ops/completed_cycles.py)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    frame.to_csv(partial, index=False, na_rep="", lineterminator="\n")
    if path.is_file() and filecmp.cmp(partial, path, shallow=False):
        partial.unlink()
    else:
        os.replace(partial, path)
    return path
