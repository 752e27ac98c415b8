"""Project commands for operating the lakehouse (``kedro <command>``), next to Kedro's own."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from kedro.framework.cli.utils import split_string
from kedro.framework.session import KedroSession

from lakehouse_mlops.framework.batches import BatchIdError, batch_range
from lakehouse_mlops.framework.errors import LakehouseError
from lakehouse_mlops.framework.usecase import UseCase, parse_usecase, usecase_source
from lakehouse_mlops.platform.kedro_project import bootstrap, config_loader
from lakehouse_mlops.platform.spark_session import without_spark

ENV_OPTION = click.option("--env", "-e", default=None, help="Kedro configuration environment.")
CONF_SOURCE_OPTION = click.option(
    "--conf-source",
    default=None,
    help="Configuration folder or packaged conf tarball (default: the project's conf/).",
)
NO_LAND_OPTION = click.option(
    "--no-land",
    is_flag=True,
    help="The batches are already in the landing zone (source systems): do not land them from the "
    "use case's source.",
)
FULL_OPTION = click.option(
    "--full",
    is_flag=True,
    help="Run every stage even when nothing is new since the batch's completed cycle (by default such a "
    "cycle reports that cycle's outcome and skips the stages).",
)
VERBOSE_OPTION = click.option("--verbose", is_flag=True, help="Show every stage's full Kedro log.")


def _params_items(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> tuple[str, ...]:
    """``--params`` as `kedro run` reads it (``a.b=1,c=2``), repeatable: one ``key=value`` per item."""
    items = tuple(item for value in values for item in split_string(ctx, param, value))
    for item in items:
        key, equals, _ = item.partition("=")
        if not equals or not key.strip():
            raise click.BadParameter(
                f"item '{item}' is not key=value: give key.sub=value, several separated by commas "
                "or with --params repeated",
                ctx,
                param,
            )
    return items


PARAMS_OPTION = click.option(
    "--params",
    "params",
    multiple=True,
    callback=_params_items,
    help="Parameter overrides for every stage, as `kedro run --params`: key.sub=value, several "
    "separated by commas (repeatable).",
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


def _loop(
    env: str | None,
    conf_source: str | None,
    params: tuple[str, ...],
    verbose: bool,
    land: bool = True,
    full: bool = False,
):
    from lakehouse_mlops.ops.loop import USECASE_SOURCE, Loop, dotlist_params  # Spark/MLflow when needed

    return Loop(
        _project_path(),
        env,
        conf_source,
        params=dotlist_params(list(params)),
        lander=USECASE_SOURCE if land else None,
        verbose=verbose,
        full=full,
    )


def _usecase(env: str | None, conf_source: str | None) -> UseCase:
    """The selected use case's contract, read without a session (no Spark, no MLflow)."""
    try:
        return parse_usecase(config_loader(_project_path(), env, conf_source).usecase_contract())
    except LakehouseError as exc:
        raise click.ClickException(str(exc)) from exc


def _batches(first: str, last: str | None, usecase: UseCase) -> list[str]:
    try:
        return batch_range(first, last or first, usecase.batch.cadence)
    except BatchIdError as exc:
        raise click.ClickException(f"{exc} (use case '{usecase.name}' has {usecase.batch.cadence} batches)")


def loop_options(command):
    """The options of every command that runs the loop (cycle, history, replay)."""
    for option in (CONF_SOURCE_OPTION, ENV_OPTION, VERBOSE_OPTION, PARAMS_OPTION, NO_LAND_OPTION):
        command = option(command)
    return command


def _loop_over(first: str | None, last: str | None, options: dict, demo: str) -> tuple[list[str], object]:
    """The batches FIRST..LAST of the use case's cadence (when not given: the use case's
    ``usecase.demo.<demo>``), and the loop the options describe."""
    env, conf_source = options["env"], options["conf_source"]
    usecase = _usecase(env, conf_source)
    if first is None:
        if usecase.demo is None:
            raise click.UsageError(
                f"name the batches: use case '{usecase.name}' declares no usecase.demo.{demo} in its "
                "parameters_usecase.yml"
            )
        span = getattr(usecase.demo, demo)
        first, last = (span, None) if isinstance(span, str) else span
    batches = _batches(first, last, usecase)
    loop = _loop(
        env,
        conf_source,
        options["params"],
        options["verbose"],
        land=not options["no_land"],
        full=options.get("full", False),
    )
    return batches, loop


def _model_name(context) -> str:
    """From the conf's contract (runtime parameters applied): ``context.params`` would import every
    pipeline to validate the parameters, seconds that a registry-only command should not pay."""
    return parse_usecase(context.config_loader.usecase_contract()).model.registered_name


def _fail(exc: LakehouseError) -> None:
    raise click.ClickException(str(exc)) from exc


@click.group(name="lakehouse-mlops")
def cli() -> None:
    """Operate the lakehouse: land batches, inspect tables, manage the champion."""


@cli.command()
@click.argument("first_batch")
@click.option("--to", "last_batch", default=None, help="Last batch to land (inclusive).")
@ENV_OPTION
@CONF_SOURCE_OPTION
def land(first_batch: str, last_batch: str | None, env: str | None, conf_source: str | None) -> None:
    """Land batch FIRST_BATCH (e.g. 2013-05 for monthly batches), or FIRST_BATCH..--to, into the
    landing zone with the use case's source."""
    usecase = _usecase(env, conf_source)
    lander = usecase_source(usecase)
    if lander is None:
        raise click.ClickException(
            f"use case '{usecase.name}' has no source ({usecase.package} defines no land()): "
            "its files are dropped into the landing zone by the source systems"
        )
    conf = config_loader(_project_path(), env, conf_source)["globals"]
    root = Path(conf["landing_root"])
    root = root if root.is_absolute() else _project_path() / root
    for batch in _batches(first_batch, last_batch, usecase):
        for landed in lander(batch, root, conf["landing_file_suffix"]):
            click.echo(f"landed {landed}")


@cli.command()
@ENV_OPTION
@CONF_SOURCE_OPTION
def tables(env: str | None, conf_source: str | None) -> None:
    """Print every Delta table of the project with its row count and latest version."""
    from lakehouse_mlops.ops.tables import describe_tables

    with _context(env, conf_source=conf_source) as (_, context):
        for line in describe_tables(context.catalog):
            click.echo(line)


@cli.command()
@ENV_OPTION
@CONF_SOURCE_OPTION
def status(env: str | None, conf_source: str | None) -> None:
    """Champion and challenger: versions, metrics, lineage, and the recent champion history."""
    from lakehouse_mlops.ops.status import status_lines

    with without_spark(), _context(env, conf_source=conf_source) as (_, context):
        for line in status_lines(_model_name(context)):
            click.echo(line)


@cli.command()
@click.argument("version")
@click.option("--force", is_flag=True, help="Bypass the gate (needs --reason).")
@click.option("--reason", default="", help="Why (recorded with the decision).")
@ENV_OPTION
@CONF_SOURCE_OPTION
def promote(version: str, force: bool, reason: str, env: str | None, conf_source: str | None) -> None:
    """Make VERSION the champion if it passes the gate (or, with --force and a reason, anyway)."""
    from lakehouse_mlops.ops import operations

    if force:
        with _context(env, conf_source=conf_source) as (_, context):
            try:
                move, rows = operations.force_promote(_model_name(context), version, reason)
            except LakehouseError as exc:
                _fail(exc)
            context.catalog.save("ml_decisions", rows)
            click.echo(f"champion {move['previous'] or '-'} -> {version} (forced: {reason})")
        return
    from lakehouse_mlops.pipelines import promotion  # Spark only when needed

    with _context(env, promotion.run_params(version, None), conf_source) as (session, _):
        session.run(pipeline_names=["promotion"])


@cli.command()
@click.option("--reason", required=True, help="Why the champion is rolled back (recorded).")
@ENV_OPTION
@CONF_SOURCE_OPTION
def rollback(reason: str, env: str | None, conf_source: str | None) -> None:
    """Restore the previous champion."""
    from lakehouse_mlops.ops import operations

    with _context(env, conf_source=conf_source) as (_, context):
        try:
            move, rows = operations.rollback(_model_name(context), reason)
        except LakehouseError as exc:
            _fail(exc)
        context.catalog.save("ml_decisions", rows)
        click.echo(f"champion {move['previous']} -> {move['version']} (rollback: {reason})")


def _approval(version: str, reason: str, env: str | None, conf_source: str | None, approved: bool) -> None:
    """`kedro approve` and `kedro reject`: the decision row is saved once the registry took the move."""
    from lakehouse_mlops.ops import operations
    from lakehouse_mlops.pipelines import promotion  # Spark only when needed

    with _context(env, conf_source=conf_source) as (_, context):
        catalog, params, name = context.catalog, context.params, _model_name(context)

        def recheck() -> dict:
            features, labels = catalog.load("gold_features"), catalog.load("gold_labels")
            return promotion.rejudge(features, labels, params["usecase"], params["promotion"], version)

        try:
            if approved:
                move, rows = operations.approve(name, version, reason, recheck)
            else:
                move, rows = None, operations.reject(name, version, reason)
        except LakehouseError as exc:
            _fail(exc)
        catalog.save("ml_decisions", rows)
        row = rows.first()
        click.echo(
            f"version {version}: {row['kind']} {row['decision']} by {row['decided_by']}: "
            f"{' | '.join(row['reasons'])}"
        )
        if move is not None:
            click.echo(f"champion {move['previous'] or '-'} -> {version}")


@cli.command()
@click.argument("version")
@click.option("--reason", required=True, help="Why (recorded in decisions with who and when).")
@ENV_OPTION
@CONF_SOURCE_OPTION
def approve(version: str, reason: str, env: str | None, conf_source: str | None) -> None:
    """Approve VERSION, the candidate the gate left in `approved_pending` (promotion.require_approval):
    the gate re-checks it against the champion of now, and only if it still passes does it become
    champion. On the team server only the ops role may."""
    _approval(version, reason, env, conf_source, approved=True)


@cli.command()
@click.argument("version")
@click.option("--reason", required=True, help="Why (recorded in decisions with who and when).")
@ENV_OPTION
@CONF_SOURCE_OPTION
def reject(version: str, reason: str, env: str | None, conf_source: str | None) -> None:
    """Reject VERSION, the candidate waiting in `approved_pending`: the champion stays. On the team
    server only the ops role may."""
    _approval(version, reason, env, conf_source, approved=False)


@cli.command()
@click.argument("tables", nargs=-1)
@click.option(
    "--retain-hours",
    type=float,
    default=None,
    help="VACUUM retention for every table instead of its declared delta.deletedFileRetentionDuration "
    "(the lineage guard still widens it; below the declared one Delta's retention check must be off).",
)
@ENV_OPTION
@CONF_SOURCE_OPTION
def maintain(tables: tuple[str, ...], retain_hours: float | None, env: str | None, conf_source: str | None):
    """Apply every Delta table's (or only TABLES') declared properties, OPTIMIZE tables past their
    small-file bar, and VACUUM with the declared retention, never removing a file that a registered
    model version or a stored reference profile pins (the lineage guard). One line per table."""
    loop = _loop(env, conf_source, (), verbose=False)
    try:
        loop.maintain(retain_hours, list(tables) or None, echo=click.echo)
    except LakehouseError as exc:
        _fail(exc)


@cli.command()
@click.argument("version")
@ENV_OPTION
@CONF_SOURCE_OPTION
def reproduce(version: str, env: str | None, conf_source: str | None) -> None:
    """Retrain VERSION from its pinned Delta versions and hyperparameters; report the AUC difference."""
    from lakehouse_mlops.ops import operations

    with _context(env, conf_source=conf_source) as (_, context):
        try:
            result = operations.reproduce(
                _model_name(context), version, context.params["training"], context.params["usecase"]
            )
        except LakehouseError as exc:
            _fail(exc)
        for key, value in result.items():
            click.echo(f"{key:<24} {value}")


@cli.command()
@click.argument("batch_id", required=False)
@loop_options
@FULL_OPTION
def cycle(batch_id: str | None, **options) -> None:
    """Process batch BATCH_ID (e.g. 2024-03 for monthly batches; default: the use case's
    usecase.demo.first_cycle) end to end: land → ingestion → features → inference → monitoring →
    (if the decision is retrain) training → promotion. One line per stage; exit code 0 when the
    cycle completed, 1 when a stage failed. Re-running a cycle changes nothing; with nothing new since
    it completed (same landing files, tables, parameters, aliases, code) it runs no stage (--full: all)."""
    (batch_id,), loop = _loop_over(batch_id, None, options, "first_cycle")
    try:
        result = loop.cycle(batch_id, echo=click.echo)
    except LakehouseError as exc:  # another writer, tracking server down: nothing was done
        _fail(exc)
    if not result.ok:
        raise SystemExit(1)


@cli.command()
@click.argument("first_batch", required=False)
@click.argument("last_batch", required=False)
@loop_options
def history(first_batch: str | None, last_batch: str | None, **options) -> None:
    """Land FIRST_BATCH..LAST_BATCH (default: the use case's usecase.demo.history) and build the
    first champion in one Spark application: ingestion → features → training → promotion. One line
    per stage; exit code 1 on a failure."""
    batches, loop = _loop_over(first_batch, last_batch, options, "history")
    try:
        stages = loop.history(batches, echo=click.echo)
    except LakehouseError as exc:
        _fail(exc)
    if any(stage.status == "failed" for stage in stages):
        raise SystemExit(1)


@cli.command()
@click.argument("first_batch", required=False)
@click.argument("last_batch", required=False)
@loop_options
@FULL_OPTION
def replay(first_batch: str | None, last_batch: str | None, **options) -> None:
    """Run the cycles FIRST_BATCH..LAST_BATCH (default: the use case's usecase.demo.replay) and write
    the policy backtest timeline (CSV, PNG, HTML): per batch the AUC of the deployed model, a static
    model and a model refit every batch."""
    from rich.progress import Progress

    from lakehouse_mlops.ops import replay as backtest

    batches, loop = _loop_over(first_batch, last_batch, options, "replay")
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
    conf = config_loader(_project_path(), options["env"], options["conf_source"])["globals"]
    click.echo(f"timeline: {conf['reporting_root']}/replay/timeline.{{csv,png,html}}")
    if len(frame) < len(batches):
        raise SystemExit(1)


# -- usecase: scaffold and check a use case (docs/tutorial_new_dataset.md) -------------------------
@cli.group()
def usecase() -> None:
    """Create a new use case's skeleton, or check a use case's conf and pipeline."""


@usecase.command("new")
@click.argument("name")
def usecase_new(name: str) -> None:
    """Write the skeleton of use case NAME: conf/base/usecases/NAME/ (the contract with every key
    commented, feed rules, feature settings, tables), src/lakehouse_mlops/usecases/NAME/ (functions
    that say what to write) and tests/usecases/NAME/ (a point-in-time test to write)."""
    from lakehouse_mlops.ops.scaffold import new_usecase

    project = _project_path()
    try:
        written = new_usecase(name, project)
    except LakehouseError as exc:
        _fail(exc)
    for path in written:
        click.echo(f"wrote {path.relative_to(project)}")
    click.echo(
        f"next: fill in the contract and feeds, then `kedro usecase check {name}`; run it with "
        f"LAKEHOUSE_USECASE={name} (or make run USECASE={name})"
    )


@usecase.command("check")
@click.argument("name")
@ENV_OPTION
@CONF_SOURCE_OPTION
def usecase_check(name: str, env: str | None, conf_source: str | None) -> None:
    """Check use case NAME without running it: its contract and feed rules parse, every feed has a
    silver table, its features pipeline builds, reads only declared datasets and writes both gold
    tables. Exit code 1 with every problem named."""
    from lakehouse_mlops.ops.scaffold import check_usecase

    os.environ["LAKEHOUSE_USECASE"] = name
    loader = config_loader(_project_path(), env, conf_source)
    if loader.usecase_name != name:
        raise click.ClickException(
            f"the conf selects use case '{loader.usecase_name}' whatever LAKEHOUSE_USECASE says "
            "(usecase_name is fixed in a globals.yml): check it there"
        )
    try:
        result = check_usecase(loader)
    except LakehouseError as exc:
        _fail(exc)
    click.echo(f"use case {result.usecase}: feeds {', '.join(result.feeds)}; nodes {', '.join(result.nodes)}")
    for problem in result.problems:
        click.echo(f"problem: {problem}")
    if result.problems:
        raise SystemExit(1)
    click.echo("ok")


# -- copy-model: the exceptional copy of a version between registries (docs/deployment.md) --------
def _credentials_entries(env: str | None, conf_source: str | None, *names: str | None) -> list[dict | None]:
    """The Kedro credentials entries ``names`` of ``env`` (None stays None): server logins as the
    environment variables MLflow reads, e.g. MLFLOW_TRACKING_USERNAME / MLFLOW_TRACKING_PASSWORD."""
    if not any(names):
        return [None for _ in names]
    from kedro.config import MissingConfigException

    try:
        entries = config_loader(_project_path(), env, conf_source)["credentials"]
    except MissingConfigException as exc:
        raise click.ClickException(f"no credentials files for env '{env or 'local'}': {exc}") from exc
    missing = [name for name in names if name and name not in entries]
    if missing:
        raise click.ClickException(f"no credentials entry {', '.join(missing)} for env '{env or 'local'}'")
    return [entries[name] if name else None for name in names]


@cli.command("copy-model")
@click.option(
    "--from-uri", required=True, help="Source tracking URI (server URL, sqlite:///..., databricks)."
)
@click.option("--from-registry-uri", default=None, help="Source registry URI (default: the tracking URI).")
@click.option("--from-model", required=True, help="Source registered model name.")
@click.option("--version", default=None, help="Source version number (or --alias).")
@click.option("--alias", default=None, help="Source alias, e.g. champion (or --version).")
@click.option("--to-uri", required=True, help="Destination tracking URI.")
@click.option(
    "--to-registry-uri",
    default=None,
    help="Destination registry URI (default: the tracking URI; databricks-uc).",
)
@click.option("--to-model", required=True, help="Destination registered model name (created when missing).")
@click.option(
    "--to-experiment", default="model_transfers", show_default=True, help="Experiment of the copy's run."
)
@click.option(
    "--from-credentials", default=None, help="Credentials entry (of --env) with the source's login."
)
@click.option(
    "--to-credentials", default=None, help="Credentials entry (of --env) with the destination's login."
)
@ENV_OPTION
@CONF_SOURCE_OPTION
def copy_model(
    from_uri: str,
    from_registry_uri: str | None,
    from_model: str,
    version: str | None,
    alias: str | None,
    to_uri: str,
    to_registry_uri: str | None,
    to_model: str,
    to_experiment: str,
    from_credentials: str | None,
    to_credentials: str | None,
    env: str | None,
    conf_source: str | None,
) -> None:
    """Copy one model version (--version or --alias) into another registry as a new version, with its
    run's params, metrics and tags and the source recorded. Never moves an alias in the destination:
    the copy serves only after that registry's gate (or an operator) promotes it."""
    from lakehouse_mlops.ops.model_transfer import Endpoint, copy_model_version

    source_login, destination_login = _credentials_entries(env, conf_source, from_credentials, to_credentials)
    source = Endpoint(from_uri, from_registry_uri, source_login)
    destination = Endpoint(to_uri, to_registry_uri, destination_login)
    try:
        copied = copy_model_version(
            source, from_model, destination, to_model, version=version, alias=alias, experiment=to_experiment
        )
    except LakehouseError as exc:
        _fail(exc)
    click.echo(
        f"copied models:/{from_model}/{copied.source_version} ({source.public_uri}) -> {copied.model_uri} "
        f"({destination.public_uri}, run {copied.run_id} in experiment {to_experiment})"
    )
    held = ", ".join(f"{a}={v}" for a, v in sorted(copied.aliases.items())) or "none"
    click.echo(f"aliases of {to_model} unchanged: {held}")
    click.echo(f"to serve it, promote it there: kedro promote {copied.version} --env <destination env>")
