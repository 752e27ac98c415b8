"""Project commands for operating the lakehouse (``kedro <command>``), next to Kedro's own."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from kedro.framework.project import settings
from kedro.framework.session import KedroSession

from lakehouse_mlops import operations, simulator
from lakehouse_mlops.errors import LakehouseError
from lakehouse_mlops.kedro_project import bootstrap
from lakehouse_mlops.tables import describe_tables

ENV_OPTION = click.option("--env", "-e", default=None, help="Kedro configuration environment.")
CONF_SOURCE_OPTION = click.option(
    "--conf-source",
    default=None,
    help="Configuration folder or packaged conf tarball (default: the project's conf/).",
)
VERBOSE_OPTION = click.option("--verbose", is_flag=True, help="Show every stage's full Kedro log.")
PARAMS_OPTION = click.option(
    "--params",
    "params",
    multiple=True,
    help="Parameter override for every stage, as `kedro run --params`: key.sub=value (repeatable).",
)


def _project_path() -> Path:
    """The working directory: a source checkout, or where a deployed package keeps its data."""
    path = Path.cwd()
    bootstrap(path)
    return path


@contextmanager
def _context(env: str | None, runtime_params: dict | None = None, conf_source: str | None = None) -> Iterator:
    """A loaded Kedro context: Spark started and MLflow pointed at the project's tracking store."""
    with KedroSession.create(
        project_path=_project_path(), env=env, conf_source=conf_source, runtime_params=runtime_params or {}
    ) as session:
        yield session, session.load_context()


def _loop(env: str | None, conf_source: str | None, params: tuple[str, ...], verbose: bool):
    from lakehouse_mlops.loop import Loop, dotlist_params  # Spark/MLflow imports only when needed

    return Loop(_project_path(), env, conf_source, params=dotlist_params(list(params)), verbose=verbose)


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
@CONF_SOURCE_OPTION
def land(first_month: str, last_month: str | None, env: str | None, conf_source: str | None) -> None:
    """Land batch FIRST_MONTH (YYYY-MM), or FIRST_MONTH..--to, into the landing zone."""
    path = _project_path()
    loader = settings.CONFIG_LOADER_CLASS(
        conf_source=conf_source or str(path / settings.CONF_SOURCE), env=env, **settings.CONFIG_LOADER_ARGS
    )
    conf = loader["globals"]
    root = Path(conf["landing_root"])
    root = root if root.is_absolute() else path / root
    batches = simulator.months(first_month, last_month or first_month)
    for landed in simulator.land_months(batches, root, conf["landing_file_suffix"]):
        click.echo(f"landed {landed}")


@cli.command()
@ENV_OPTION
@CONF_SOURCE_OPTION
def tables(env: str | None, conf_source: str | None) -> None:
    """Print every Delta table of the project with its row count and latest version."""
    with _context(env, conf_source=conf_source) as (_, context):
        for line in describe_tables(context.catalog):
            click.echo(line)


@cli.command()
@ENV_OPTION
@CONF_SOURCE_OPTION
def status(env: str | None, conf_source: str | None) -> None:
    """Champion and challenger: versions, metrics, lineage, and the recent champion history."""
    with _context(env, conf_source=conf_source) as (_, context):
        for line in operations.status_lines(_model_name(context)):
            click.echo(line)


@cli.command()
@click.argument("version")
@click.option("--force", is_flag=True, help="Bypass the gate (needs --reason).")
@click.option("--reason", default="", help="Why (recorded with the decision).")
@ENV_OPTION
@CONF_SOURCE_OPTION
def promote(version: str, force: bool, reason: str, env: str | None, conf_source: str | None) -> None:
    """Make VERSION the champion if it passes the gate (or, with --force and a reason, anyway)."""
    if force:
        with _context(env, conf_source=conf_source) as (_, context):
            try:
                move, rows = operations.force_promote(_model_name(context), version, reason)
            except LakehouseError as exc:
                _fail(exc)
            context.catalog.save("ml_decisions", rows)
            click.echo(f"champion {move['previous'] or '-'} -> {version} (forced: {reason})")
        return
    params = {"promotion": {"candidate_version": version}}
    with _context(env, params, conf_source) as (session, _):
        session.run(pipeline_names=["promotion"])


@cli.command()
@click.option("--reason", required=True, help="Why the champion is rolled back (recorded).")
@ENV_OPTION
@CONF_SOURCE_OPTION
def rollback(reason: str, env: str | None, conf_source: str | None) -> None:
    """Restore the previous champion."""
    with _context(env, conf_source=conf_source) as (_, context):
        try:
            move, rows = operations.rollback(_model_name(context), reason)
        except LakehouseError as exc:
            _fail(exc)
        context.catalog.save("ml_decisions", rows)
        click.echo(f"champion {move['previous']} -> {move['version']} (rollback: {reason})")


@cli.command()
@click.argument("version")
@ENV_OPTION
@CONF_SOURCE_OPTION
def reproduce(version: str, env: str | None, conf_source: str | None) -> None:
    """Retrain VERSION from its pinned Delta versions and hyperparameters; report the AUC difference."""
    with _context(env, conf_source=conf_source) as (_, context):
        try:
            result = operations.reproduce(_model_name(context), version, context.params["training"])
        except LakehouseError as exc:
            _fail(exc)
        for key, value in result.items():
            click.echo(f"{key:<24} {value}")


@cli.command()
@click.argument("batch_id")
@PARAMS_OPTION
@VERBOSE_OPTION
@ENV_OPTION
@CONF_SOURCE_OPTION
def cycle(
    batch_id: str, params: tuple[str, ...], verbose: bool, env: str | None, conf_source: str | None
) -> None:
    """Process batch BATCH_ID (YYYY-MM) end to end: land → ingestion → features → inference →
    monitoring → (if the decision is retrain) training → promotion. One line per stage; exit code 0
    when the cycle completed, 1 when a stage failed. Re-running a cycle changes nothing."""
    loop = _loop(env, conf_source, params, verbose)
    result = loop.cycle(batch_id, echo=click.echo)
    if not result.ok:
        raise SystemExit(1)


@cli.command()
@click.argument("first_month")
@click.argument("last_month")
@PARAMS_OPTION
@VERBOSE_OPTION
@ENV_OPTION
@CONF_SOURCE_OPTION
def history(
    first_month: str,
    last_month: str,
    params: tuple[str, ...],
    verbose: bool,
    env: str | None,
    conf_source: str | None,
) -> None:
    """Land FIRST_MONTH..LAST_MONTH and build the first champion in one Spark application:
    ingestion → features → training → promotion. One line per stage; exit code 1 on a failure."""
    loop = _loop(env, conf_source, params, verbose)
    stages = loop.history(simulator.months(first_month, last_month), echo=click.echo)
    if any(stage.status == "failed" for stage in stages):
        raise SystemExit(1)


@cli.command()
@click.argument("first_month")
@click.argument("last_month")
@PARAMS_OPTION
@VERBOSE_OPTION
@ENV_OPTION
@CONF_SOURCE_OPTION
def replay(
    first_month: str,
    last_month: str,
    params: tuple[str, ...],
    verbose: bool,
    env: str | None,
    conf_source: str | None,
) -> None:
    """Run the cycles FIRST_MONTH..LAST_MONTH and write the policy backtest timeline (CSV, PNG, HTML):
    per month the AUC of the deployed model, a static model and a model refit every month."""
    from rich.progress import Progress

    from lakehouse_mlops import replay as backtest

    batches = simulator.months(first_month, last_month)
    loop = _loop(env, conf_source, params, verbose)
    with Progress(transient=False) as progress:
        task = progress.add_task("replay", total=len(batches))

        def advance(result) -> None:
            progress.update(
                task, advance=1, description=f"replay ({result.batch_id} {result.decision or 'failed'})"
            )

        try:
            frame, summary = backtest.replay(loop, batches, on_cycle=advance)
        except LakehouseError as exc:
            _fail(exc)
    click.echo(frame.to_string(index=False))
    for key, value in summary.items():
        click.echo(f"{key:<32} {value:.4f}" if isinstance(value, float) else f"{key:<32} {value}")
    click.echo("timeline: data/08_reporting/replay/timeline.{csv,png,html}")
    if len(frame) < len(batches):
        raise SystemExit(1)
