"""Kedro project set-up that works both from a source checkout and from the installed package.

A checkout has ``pyproject.toml`` (``bootstrap_project`` reads the package name and source folder from
it); a deployment has only the wheel and the conf tarball, so the package configures itself, as
Kedro's packaged entry point does.
"""

from __future__ import annotations

from pathlib import Path

from kedro.framework.project import configure_project
from kedro.framework.startup import bootstrap_project

PACKAGE_NAME = __package__ or "lakehouse_mlops"


def bootstrap(project_path: Path) -> None:
    if (project_path / "pyproject.toml").is_file():
        bootstrap_project(project_path)
    else:
        configure_project(PACKAGE_NAME)
