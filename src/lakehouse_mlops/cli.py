"""Project commands for operating the lakehouse (``kedro <command>``), next to Kedro's own."""

from __future__ import annotations

from pathlib import Path

import click
from kedro.framework.project import settings
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

from lakehouse_mlops import simulator
from lakehouse_mlops.tables import describe_tables

ENV_OPTION = click.option("--env", "-e", default=None, help="Kedro configuration environment.")


def _project_path() -> Path:
    path = Path.cwd()
    bootstrap_project(path)
    return path


def _globals(env: str | None) -> dict:
    from kedro.config import OmegaConfigLoader

    path = _project_path()
    loader = OmegaConfigLoader(
        str(path / settings.CONF_SOURCE),
        env=env,
        **{k: v for k, v in settings.CONFIG_LOADER_ARGS.items() if k in ("base_env", "default_run_env")},
    )
    return loader["globals"]


@click.group(name="lakehouse-mlops")
def cli() -> None:
    """Operate the lakehouse: land batches, inspect tables."""


@cli.command()
@click.argument("first_month")
@click.option("--to", "last_month", default=None, help="Last month to land (inclusive).")
@ENV_OPTION
def land(first_month: str, last_month: str | None, env: str | None) -> None:
    """Land batch FIRST_MONTH (YYYY-MM), or FIRST_MONTH..--to, into the landing zone."""
    conf = _globals(env)
    root = _project_path() / conf["landing_root"]
    batches = simulator.months(first_month, last_month or first_month)
    for path in simulator.land_months(batches, root, conf["landing_file_suffix"]):
        click.echo(f"landed {path.relative_to(_project_path())}")


@cli.command()
@ENV_OPTION
def tables(env: str | None) -> None:
    """Print every Delta table of the project with its row count and latest version."""
    with KedroSession.create(project_path=_project_path(), env=env) as session:
        context = session.load_context()
        for line in describe_tables(context.catalog):
            click.echo(line)
