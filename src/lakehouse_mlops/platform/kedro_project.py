"""Kedro project set-up that works both from a source checkout and from the installed package.

A checkout has ``pyproject.toml`` (``bootstrap_project`` reads the package name and source folder from
it); a deployment has only the wheel and the conf tarball, so the package configures itself, as
Kedro's packaged entry point does.
"""

from __future__ import annotations

from pathlib import Path

from kedro.config import AbstractConfigLoader
from kedro.framework.project import configure_project
from kedro.framework.startup import bootstrap_project

PACKAGE_NAME = __package__.split(".")[0] if __package__ else "lakehouse_mlops"  # the top-level package


def bootstrap(project_path: Path) -> None:
    if (project_path / "pyproject.toml").is_file():
        bootstrap_project(project_path)
    else:
        configure_project(PACKAGE_NAME)


def config_loader(
    project_path: Path, env: str | None = None, conf_source: str | None = None
) -> AbstractConfigLoader:
    """The project's configuration without a session: no hooks run (no Spark, no MLflow calls).

    Built from the project's own settings module, so it works before (or without) Kedro's project
    set-up: the team server and the packaged entry point use it as the commands do.
    """
    from lakehouse_mlops import settings  # imports the hooks (pyspark): only when conf is read

    loader = settings.CONFIG_LOADER_CLASS(
        conf_source=conf_source or str(project_path / "conf"), env=env, **settings.CONFIG_LOADER_ARGS
    )
    # the pattern kedro-mlflow's hook adds when a session starts
    loader.config_patterns.setdefault("mlflow", ["mlflow*", "mlflow*/**", "**/mlflow*"])
    return loader
