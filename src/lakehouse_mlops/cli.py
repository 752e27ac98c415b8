"""Project commands for operating the lakehouse (``kedro <command>``), next to Kedro's own."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from kedro.framework.project import settings
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

from lakehouse_mlops import operations, simulator
from lakehouse_mlops.errors import LakehouseError
from lakehouse_mlops.tables import describe_tables

ENV_OPTION = click.option("--env", "-e", default=None, help="Kedro configuration environment.")


def _project_path() -> Path:
    path = Path.cwd()
    bootstrap_project(path)
    return path


@contextmanager
def _context(env: str | None, runtime_params: dict | None = None) -> Iterator:
    """A loaded Kedro context: Spark started and MLflow pointed at the project's tracking store."""
    with KedroSession.create(
        project_path=_project_path(), env=env, runtime_params=runtime_params or {}
    ) as session:
        yield session, session.load_context()


def _model_name(context) -> str:
    return context.params["training"]["registered_model_name"]


def _fail(exc: LakehouseError) -> None:
    raise click.ClickException(str(exc)) from exc


@click.group(name="lakehouse-mlops")
def cli() -> None:
    """Operate the lakehouse: land batches, inspect tables, manage the champion."""


@cli.command()
@click.argument("first_month")
@click.option("--to", "last_month", default=None, help="Last month to land (inclusive).")
@ENV_OPTION
def land(first_month: str, last_month: str | None, env: str | None) -> None:
    """Land batch FIRST_MONTH (YYYY-MM), or FIRST_MONTH..--to, into the landing zone."""
    from kedro.config import OmegaConfigLoader

    path = _project_path()
    loader = OmegaConfigLoader(
        str(path / settings.CONF_SOURCE), env=env, base_env="base", default_run_env="local"
    )
    conf = loader["globals"]
    root = Path(conf["landing_root"])
    root = root if root.is_absolute() else path / root
    batches = simulator.months(first_month, last_month or first_month)
    for landed in simulator.land_months(batches, root, conf["landing_file_suffix"]):
        click.echo(f"landed {landed}")


@cli.command()
@ENV_OPTION
def tables(env: str | None) -> None:
    """Print every Delta table of the project with its row count and latest version."""
    with _context(env) as (_, context):
        for line in describe_tables(context.catalog):
            click.echo(line)


@cli.command()
@ENV_OPTION
def status(env: str | None) -> None:
    """Champion and challenger: versions, metrics, lineage, and the recent champion history."""
    with _context(env) as (_, context):
        for line in operations.status_lines(_model_name(context)):
            click.echo(line)


@cli.command()
@click.argument("version")
@click.option("--force", is_flag=True, help="Bypass the gate (needs --reason).")
@click.option("--reason", default="", help="Why (recorded with the decision).")
@ENV_OPTION
def promote(version: str, force: bool, reason: str, env: str | None) -> None:
    """Make VERSION the champion if it passes the gate (or, with --force and a reason, anyway)."""
    if force:
        with _context(env) as (_, context):
            try:
                move, rows = operations.force_promote(_model_name(context), version, reason)
            except LakehouseError as exc:
                _fail(exc)
            context.catalog.save("ml_decisions", rows)
            click.echo(f"champion {move['previous'] or '-'} -> {version} (forced: {reason})")
        return
    params = {"promotion": {"candidate_version": version}}
    with _context(env, params) as (session, _):
        session.run(pipeline_names=["promotion"])


@cli.command()
@click.option("--reason", required=True, help="Why the champion is rolled back (recorded).")
@ENV_OPTION
def rollback(reason: str, env: str | None) -> None:
    """Restore the previous champion."""
    with _context(env) as (_, context):
        try:
            move, rows = operations.rollback(_model_name(context), reason)
        except LakehouseError as exc:
            _fail(exc)
        context.catalog.save("ml_decisions", rows)
        click.echo(f"champion {move['previous']} -> {move['version']} (rollback: {reason})")


@cli.command()
@click.argument("version")
@ENV_OPTION
def reproduce(version: str, env: str | None) -> None:
    """Retrain VERSION from its pinned Delta versions and hyperparameters; report the AUC difference."""
    with _context(env) as (_, context):
        try:
            result = operations.reproduce(_model_name(context), version, context.params["training"])
        except LakehouseError as exc:
            _fail(exc)
        for key, value in result.items():
            click.echo(f"{key:<24} {value}")
