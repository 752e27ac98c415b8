"""One lakehouse, one use case: the lakehouse root records the use case whose tables it holds.

Two use cases in one lakehouse would share the audit, quarantine, predictions and monitoring tables
and write canonical gold tables keyed by different columns. The first session on a root claims it
(a ``_usecase`` file); a session of another use case on that root stops before anything is written.
Roots on object stores (a URI) are not checked.
"""

from __future__ import annotations

from pathlib import Path

from lakehouse_mlops.framework.errors import ConfigError

MARKER = "_usecase"


def claim_lakehouse(lakehouse_root: str, usecase_name: str, project_path: Path) -> None:
    """Record ``usecase_name`` as the owner of ``lakehouse_root`` (relative: to ``project_path``), or
    fail if another use case owns it."""
    if "://" in lakehouse_root:
        return
    root = project_path / lakehouse_root
    marker = root / MARKER
    if marker.exists():
        owner = marker.read_text().strip()
        if owner != usecase_name:
            raise ConfigError(
                f"{root} holds the lakehouse of use case '{owner}' ({marker}), not of '{usecase_name}': "
                f"give '{usecase_name}' its own root (LAKEHOUSE_ROOT=data/{usecase_name}; "
                f"`make run USECASE={usecase_name}` sets it) or select use case '{owner}'"
            )
        return
    root.mkdir(parents=True, exist_ok=True)
    marker.write_text(f"{usecase_name}\n")
