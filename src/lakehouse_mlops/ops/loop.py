"""The continuous-training loop: one cycle per batch (land → ingestion → features → inference →
monitoring → [training → promotion → re-scoring by the new champion]), each stage a Kedro run of
the installed pipelines.

Every stage is idempotent, so re-running a cycle (or resuming one that crashed) changes nothing that
is already done: landing leaves identical files untouched, ingestion skips ingested files, features
and predictions MERGE only changed rows, the batch keeps the model version that first scored it, the
monitoring decision is recorded once, and a retrain asked for by a batch happens once (its model
version carries ``trigger_batch``) and is judged once (``gate.decision``). A cycle that finds nothing
new since its batch's completed cycle runs no stage at all, and a stage whose tables (and whatever
else it depends on, ``STAGE_SCOPES``) are as its last run for the batch left them is not run again: a
cycle that stopped part-way resumes (ops/completed_cycles.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from kedro.framework.session import KedroSession
from kedro.runner import SequentialRunner, ThreadRunner
from omegaconf import OmegaConf

from lakehouse_mlops.framework import model_registry as registry
from lakehouse_mlops.framework.usecase import features_params, parse_usecase, usecase_source
from lakehouse_mlops.ops import completed_cycles
from lakehouse_mlops.ops.completed_cycles import CycleInputs, outcome_of, record_stage
from lakehouse_mlops.ops.stages import (
    CycleResult,
    StageResult,
    report_recorded,
    run_stages,
    table_versions,
    tracking_checked,
)
from lakehouse_mlops.ops.tables import delta_datasets, pipeline_tables
from lakehouse_mlops.pipelines import inference, monitoring, promotion, training
from lakehouse_mlops.platform.kedro_project import bootstrap, config_loader
from lakehouse_mlops.platform.lakehouse_lock import lakehouse_lock
from lakehouse_mlops.platform.spark_session import build_spark_session, without_spark
from lakehouse_mlops.platform.tracking import check_tracking_server, end_leftover_runs

logger = logging.getLogger(__name__)
#: lands one batch: (batch id, landing root, file suffix) -> the files written
Lander = Callable[[str, Path, str], list[Path]]
#: the selected use case's source lands the batch (its package's ``land``)
USECASE_SOURCE = "usecase"
NOISY_LOGGERS = ("kedro", "lakehouse_mlops", "kedro_mlflow", "kedro_viz", "mlflow", "kedro.io.data_catalog")
#: loggers whose warnings are expected noise in a cycle (e.g. kedro-mlflow replacing its datasets)
SILENCED_LOGGERS = ("mlflow", "kedro_viz", "kedro.io.data_catalog")
#: Pipelines of independent branches, run by Kedro's ThreadRunner: ingestion's six feed branches
#: overlap their Spark jobs with each other's driver-side work (Delta commits, query planning);
#: Jan–Apr 2013 in 57 s instead of 66 s (benchmarks/README.md). The others run node by node.
THREADED_PIPELINES = frozenset({"ingestion"})


@dataclass(frozen=True)
class StageScope:
    """What a stage's work depends on, besides the parameters, the code and the outcome of the stages
    before it: a stage that finds all of it as its last run for the batch left it is not run again."""

    pipeline: str | None  # the Delta tables this pipeline reads or writes; None: every table
    landing: bool = False  # the files in the landing zone
    #: the model's aliases it reads (from the tracking server); None: every alias
    aliases: frozenset[str] | None = None


#: Per stage of a cycle (the loop's own reads go through the same tables as its pipeline's nodes).
#: Training points ``challenger`` at its version: the stages before it do not read that alias.
STAGE_SCOPES = {
    "ingestion": StageScope("ingestion", landing=True, aliases=frozenset()),
    "features": StageScope("features", aliases=frozenset()),
    "inference": StageScope("inference", aliases=frozenset({registry.CHAMPION})),
    "monitoring": StageScope("monitoring", aliases=frozenset({registry.CHAMPION})),
    "training": StageScope("training", aliases=frozenset({registry.CHALLENGER})),
    "promotion": StageScope("promotion"),
    "rescoring": StageScope("inference", aliases=frozenset({registry.CHAMPION})),
    "maintenance": StageScope(None),  # every table, under the registry's lineage guard
}
WHOLE_CYCLE = StageScope(None, landing=True)


def scoped_aliases(name: str, read: frozenset[str] | None) -> dict[str, str]:
    """The aliases of model ``name`` among ``read`` (None: all), without calling the server for none."""
    if read == frozenset():
        return {}
    return {
        alias: version for alias, version in registry.aliases(name).items() if read is None or alias in read
    }


def spark_first(steps: list[tuple[str, Callable[[], str | None]]], spark_conf: dict) -> list:
    """Each step starts Spark (or finds it started) first: a stage's own reads of tables through the
    catalog come before its Kedro run, whose hook would start it."""

    def started(step: Callable[[], str | None]) -> Callable[[], str | None]:
        def run() -> str | None:
            build_spark_session(spark_conf)
            return step()

        return run

    return [(stage, started(step)) for stage, step in steps]


@contextmanager
def quiet(enabled: bool) -> Iterator[None]:
    """Only warnings from the stage runs: the cycle prints one summary line per stage instead."""
    if not enabled:
        yield
        return
    loggers = [logging.getLogger(name) for name in NOISY_LOGGERS]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR if logger.name in SILENCED_LOGGERS else logging.WARNING)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def dotlist_params(items: list[str]) -> dict:
    """``key.sub=value`` items (as ``kedro run --params``) into a nested dict."""
    return OmegaConf.to_container(OmegaConf.from_dotlist(items)) if items else {}


def merge(base: dict, extra: dict) -> dict:
    merged = dict(base)
    for key, value in extra.items():
        merged[key] = (
            merge(merged[key], value)
            if isinstance(value, dict) and isinstance(merged.get(key), dict)
            else value
        )
    return merged


def runner_for(pipeline: str) -> SequentialRunner | ThreadRunner:
    return ThreadRunner() if pipeline in THREADED_PIPELINES else SequentialRunner()


class Loop:
    """Runs cycles on one project (``conf_source`` lets tests and benchmarks use a sandbox).

    ``lander``: the selected use case's source by default; ``None``: the batch is already in the
    landing zone (dropped by the source systems), so the land stage is skipped and the files are
    ingested as they are (``--no-land``); or any function that lands a batch (tests, benchmarks).
    ``full``: run every stage of a cycle even when nothing is new since the batch's completed cycle
    (``kedro cycle --full``; ops/completed_cycles.py).
    """

    def __init__(
        self,
        project_path: Path,
        env: str | None = None,
        conf_source: str | None = None,
        params: dict | None = None,
        lander: Lander | str | None = USECASE_SOURCE,
        verbose: bool = False,
        full: bool = False,
    ) -> None:
        self.project_path, self.env, self.conf_source = project_path, env, conf_source
        self.params, self.lander, self.verbose = params or {}, lander, verbose
        self.full = full  # every stage runs, even when the batch's completed cycle saw the same inputs
        bootstrap(project_path)

    # -- Kedro plumbing -------------------------------------------------------------------------
    def session(self, params: dict | None = None) -> KedroSession:
        return KedroSession.create(
            project_path=self.project_path,
            env=self.env,
            conf_source=self.conf_source,
            runtime_params=merge(self.params, params or {}),
        )

    def run(self, pipeline: str, params: dict | None = None) -> None:
        end_leftover_runs()
        try:
            with quiet(not self.verbose), self.session(params) as session:
                session.run(pipeline_names=[pipeline], runner=runner_for(pipeline))
        finally:
            end_leftover_runs()

    def context(self):
        """A loaded context (catalog, parameters, MLflow pointed at the project's store)."""
        session = self.session()
        return session, session.load_context()

    @contextmanager
    def exclusive(self, purpose: str) -> Iterator[str]:
        """Hold the lakehouse's lock, then check the tracking server, before the session starts Spark
        and kedro-mlflow: a second writer or an unreachable server fails at once, having done nothing.
        Yields the tracking URI."""
        loader = config_loader(self.project_path, self.env, self.conf_source)
        with lakehouse_lock(self._path(loader["globals"]["lakehouse_root"]), purpose):
            uri = loader["mlflow"]["server"].get("mlflow_tracking_uri") or ""
            check_tracking_server(uri)
            yield uri

    def _path(self, configured: str) -> str:
        """A configured path as used by the catalog: URIs as they are, relative paths under the project."""
        if "://" in configured or Path(configured).is_absolute():
            return configured
        return str(self.project_path / configured)

    # -- one cycle ------------------------------------------------------------------------------
    def cycle(self, batch_id: str, echo: Callable[[str], None] = print) -> CycleResult:
        result = CycleResult(batch_id)
        with self.exclusive(f"cycle {batch_id}") as tracking_uri:
            # Spark starts with the first stage's session: a cycle with nothing new needs none
            with without_spark():
                session, context = self.context()
            with session:
                catalog, usecase = context.catalog, context.params["usecase"]
                name = parse_usecase(usecase).model.registered_name
                steps = [
                    ("land", lambda: self._land_all([batch_id], context)),
                    ("ingestion", lambda: self.run("ingestion")),
                    ("features", lambda: self.run("features", features_params(batch_id))),
                    ("inference", lambda: self._infer(batch_id, catalog, usecase, result)),
                    ("monitoring", lambda: self._monitor(batch_id, catalog, result)),
                    ("training", lambda: self._train(batch_id, name, result)),
                    ("promotion", lambda: self._promote(batch_id, name, catalog, result)),
                    ("rescoring", lambda: self._rescore(batch_id, result)),
                    ("maintenance", lambda: self._maintain(context, name)),
                ]
                spark_conf = context.config_loader["spark"]
                steps = [steps[0], *spark_first(steps[1:], spark_conf)]
                steps, tables = tracking_checked(steps, tracking_uri), delta_datasets(catalog)
                run_stages(steps[:1], tables, result.stages, echo)  # land: its files are inputs too
                recorded = None
                if result.ok and not self.full:
                    inputs = self.inputs(context, tables, name)
                    recorded = completed_cycles.recorded_outcome(catalog, batch_id, inputs)
                if recorded is not None:
                    report_recorded(recorded, [stage for stage, _ in steps[1:]], result, echo)
                else:
                    stages = CycleStages(self, context, tables, name, tracking_uri, result)
                    run_stages(steps[1:], tables, result.stages, echo, stages.finished, stages.resumed)
                    if result.ok:
                        inputs = self.inputs(context, tables, name)
                        completed_cycles.record(catalog, batch_id, inputs, outcome_of(result))
            end_leftover_runs()
        echo(result.headline())
        return result

    def inputs(self, context, tables: dict, name: str, scope: StageScope = WHOLE_CYCLE) -> CycleInputs:
        """What decides the work of a cycle (or, ``scope``, of one stage) as it stands now."""
        if scope.pipeline is not None:
            tables = {n: tables[n] for n in pipeline_tables(context.catalog, scope.pipeline, tables)}
        landing = self._path(context.config_loader["globals"]["landing_root"])
        return CycleInputs(
            landing=completed_cycles.landing_listing(landing) if scope.landing else {},
            tables=table_versions(tables),
            parameters=completed_cycles.parameters_digest(context.params),
            aliases=scoped_aliases(name, scope.aliases),
            code=completed_cycles.code_version(self.project_path),
        )

    # -- maintenance ----------------------------------------------------------------------------
    def maintain(
        self,
        retain_hours: float | None = None,
        tables: list[str] | None = None,
        echo: Callable[[str], None] = print,
    ) -> list:
        """`kedro maintain`: every table compacted and vacuumed under the lineage guard, holding the
        lakehouse's lock like a cycle (no cycle writes while files are removed)."""
        from lakehouse_mlops.ops.maintain import maintain_lakehouse, totals

        with self.exclusive("maintain"):
            session, context = self.context()
            with session:
                name = parse_usecase(context.params["usecase"]).model.registered_name
                reports = maintain_lakehouse(context.catalog, [name], retain_hours, tables, echo=echo)
        echo(f"maintain: {totals(reports)}")
        return reports

    def _maintain(self, context, name: str) -> str:
        """The optional last stage of a cycle (``maintenance.after_cycle`` in parameters_maintenance.yml)."""
        from lakehouse_mlops.ops.maintain import maintain_lakehouse, totals

        if not context.params.get("maintenance", {}).get("after_cycle", False):
            return "skipped: maintenance.after_cycle is false"
        return totals(maintain_lakehouse(context.catalog, [name], echo=lambda _: None))

    # -- the initial history --------------------------------------------------------------------
    def history(self, batches: list[str], echo: Callable[[str], None] = print) -> list[StageResult]:
        """Land ``batches`` and build the first champion: ingestion, features of every batch,
        training, and the gate. One Spark application for all of it (one start-up, not four)."""
        stages: list[StageResult] = []
        with self.exclusive(f"history {batches[0]}..{batches[-1]}") as tracking_uri:
            session, context = self.context()
            with session:
                steps = [
                    ("land", lambda: self._land_all(batches, context)),
                    ("ingestion", lambda: self.run("ingestion")),
                    ("features", lambda: self.run("features")),
                    ("training", lambda: self.run("training")),
                    ("promotion", lambda: self.run("promotion")),
                ]
                run_stages(
                    tracking_checked(steps, tracking_uri), delta_datasets(context.catalog), stages, echo
                )
            end_leftover_runs()
        failed = [stage for stage in stages if stage.status == "failed"]
        span = f"{batches[0]}..{batches[-1]}"
        echo(f"history {span}: FAILED at {failed[0].stage}" if failed else f"history {span}: completed")
        return stages

    def _land_all(self, batches: list[str], context) -> str:
        conf = context.config_loader["globals"]
        root = Path(self._path(conf["landing_root"]))
        lander = self.lander
        if lander == USECASE_SOURCE:
            lander = usecase_source(parse_usecase(context.params["usecase"]))
        if lander is None:
            return f"skipped: no source to land from, the files already in {root} are ingested as they are"
        files = [f for batch in batches for f in lander(batch, root, conf["landing_file_suffix"])]
        return f"{len(files)} file(s) in {root}"

    def _infer(self, batch_id: str, catalog, usecase: dict, result: CycleResult) -> str:
        pinned, _ = inference.scored_batch(catalog.load("ml_predictions"), usecase, batch_id)
        self.run("inference", inference.run_params(batch_id, pinned))
        result.scored_by, rows = inference.scored_batch(catalog.load("ml_predictions"), usecase, batch_id)
        result.deployed = result.scored_by
        return f"version {result.scored_by}: {rows} rows scored"

    def _monitor(self, batch_id: str, catalog, result: CycleResult) -> str:
        self.run("monitoring", monitoring.run_params(batch_id, result.scored_by))
        latest = monitoring.recorded_decision(catalog.load("ml_decision_history"), batch_id, result.scored_by)
        result.decision = latest["decision"]
        return f"decision {latest['decision']}: {' | '.join(latest['reasons'])}"

    def _train(self, batch_id: str, name: str, result: CycleResult) -> str:
        if result.decision != monitoring.RETRAIN:
            return f"skipped: decision {result.decision}"
        existing = training.version_for_batch(name, batch_id)
        if existing is not None:
            result.retrained_version = existing
            return f"skipped: version {existing} was already trained for {batch_id}"
        self.run("training", training.run_params(batch_id))
        result.retrained_version = training.version_for_batch(name, batch_id)
        return f"registered version {result.retrained_version} as challenger"

    def _promote(self, batch_id: str, name: str, catalog, result: CycleResult) -> str:
        version = result.retrained_version
        if version is None:
            return "skipped: nothing retrained"
        decisions = catalog.load("ml_decision_history")
        if not promotion.complete_recorded_promotion(decisions, name, version, batch_id):
            self.run("promotion", promotion.run_params(version, batch_id))
        decision, reasons = promotion.gate_outcome(name, version)
        result.promoted = decision == promotion.PROMOTE
        result.awaiting_approval = decision == promotion.AWAITING_APPROVAL
        return f"version {version}: {decision} ({reasons})"

    def _rescore(self, batch_id: str, result: CycleResult) -> str:
        """A new champion re-scores the batch at once: its rows are still ahead, and the new model
        learned from the labels that arrived with this very batch."""
        if result.awaiting_approval:
            return f"skipped: version {result.retrained_version} is awaiting approval"
        if not result.promoted:
            return "skipped: the champion did not change"
        version = result.retrained_version
        self.run("inference", inference.run_params(batch_id, version))
        result.deployed = version
        return f"version {version}: the batch's scores now come from the new champion"


class CycleStages:
    """One cycle's stage-by-stage record: a stage whose work is there already is not run (``resumed``),
    and each stage that finishes is recorded (``finished``). Neither ever stops the cycle: a stage not
    recognised as done runs (idempotent), and one not recorded costs its repetition in a later cycle."""

    def __init__(self, loop: Loop, context, tables: dict, name: str, tracking_uri: str, result: CycleResult):
        self.loop, self.context, self.tables, self.name = loop, context, tables, name
        self.tracking_uri, self.result = tracking_uri, result
        self.before: dict[str, dict] = {}  # per stage, the cycle's outcome when it started

    def resumed(self, stage: str) -> str | None:
        self.before[stage] = outcome_of(self.result)
        if self.loop.full:
            return None
        try:
            entry = completed_cycles.finished_stage(
                self.context.catalog, self.result.batch_id, stage, self._inputs(stage), self.before[stage]
            )
        except Exception as exc:  # noqa: BLE001 - logged; the stage runs
            logger.warning("cycle %s: %s runs, its earlier run was not checked: %s", self.batch, stage, exc)
            return None
        if entry is None:
            return None
        for key, value in entry["outcome"].items():
            setattr(self.result, key, value)
        return (
            f"skipped: done by this batch's earlier cycle at {entry['finished_at']}, "
            "nothing it depends on changed since"
        )

    def finished(self, stage: str) -> None:
        try:
            inputs = self._inputs(stage)
            record_stage(
                self.context.catalog, self.batch, stage, inputs, self.before[stage], outcome_of(self.result)
            )
        except Exception as exc:  # noqa: BLE001 - logged; the cycle goes on
            logger.warning(
                "cycle %s: %s not recorded as done, a re-run repeats it: %s", self.batch, stage, exc
            )

    @property
    def batch(self) -> str:
        return self.result.batch_id

    def _inputs(self, stage: str) -> CycleInputs:
        scope = STAGE_SCOPES[stage]
        if scope.aliases != frozenset():  # read from it: no MLflow retries for minutes
            check_tracking_server(self.tracking_uri)
        return self.loop.inputs(self.context, self.tables, self.name, scope)
