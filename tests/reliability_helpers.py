"""Fault injection on real cycles: `kedro cycle` in subprocesses killed mid-write, and fingerprints of a
lakehouse (every Delta table and the registry) to compare it with one where nothing went wrong."""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import subprocess
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

import pandas as pd
import yaml
from mlflow.tracking import MlflowClient
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from lakehouse_mlops.framework.model_registry import CHAMPION, HISTORY_TAG
from tests.conftest import PROJECT_ROOT
from tests.small_lakehouse import EAGER_POLICY, FAST_TRAINING, PROMOTION_BARS, dotlist, land_small_month

BATCH = "2013-05"
MODEL = "flight_delay"
KEDRO = PROJECT_ROOT / ".venv" / "bin" / "kedro"
#: The loop of tests/small_lakehouse.py (fast search, test bars, a policy that retrains on May), with
#: sequential trials: SparkTrials suggests trials in completion order, so two runs could train
#: different models and "the same tables as an uninterrupted run" could not be asked for. The Brier
#: bar is relaxed so that May's model is promoted and the alias move and the re-scoring are exercised.
CYCLE_PARAMS = {
    **FAST_TRAINING,
    **EAGER_POLICY,
    "training": {**FAST_TRAINING["training"], "search": {**FAST_TRAINING["training"]["search"]}},
    "usecase": {"gate": {**PROMOTION_BARS["usecase"]["gate"], "absolute": {"roc_auc": 0.6, "brier": 0.25}}},
}
CYCLE_PARAMS["training"]["search"]["use_spark_trials"] = False
#: Columns whose values differ between two runs of the same cycle by design: times, ids, the MLflow
#: run of a newly trained version.
VOLATILE = {
    "_ingested_at",
    "checked_at",
    "quarantined_at",
    "computed_at",
    "scored_at",
    "decided_at",
    "decision_id",
    "model_run_id",
}
#: Business keys of the tables written with MERGE: a duplicate key means a re-run added rows twice.
MERGE_KEYS = {
    "03_silver/flights": ["flight_key"],
    "03_silver/outcomes": ["flight_key"],
    "03_silver/weather": ["origin", "time_hour"],
    "04_gold/features": ["flight_key"],
    "04_gold/labels": ["flight_key"],
    "05_ml/predictions": ["flight_key", "model_version"],
    "05_ml/monitoring_metrics": ["batch_id", "model_version", "kind", "feature", "metric"],
    "05_ml/reference_profiles": ["model_name", "model_version", "settings_key", "kind", "feature"],
    "03_silver/_ingestion_audit": ["feed", "_batch_id"],
    "02_bronze/_file_log": ["feed", "source_file"],
}
STAGE_LINE = re.compile(r"^(\w+)\s+(done|skipped|failed|not run)\s+([\d.]+)s", re.MULTILINE)


def land_batch(project: Path, batch: str = BATCH) -> None:
    """Land the small batch (UA from EWR): the subprocess cycles run with --no-land, since their
    lander would be the simulator's full month."""
    land_small_month(batch, project / "data" / "01_landing")


def set_tracking_uri(project: Path, uri: str) -> None:
    """Point the sandbox's kedro-mlflow conf at ``uri`` (e.g. a tracking server)."""
    path = project / "conf" / "local" / "mlflow.yml"
    conf = yaml.safe_load(path.read_text())
    conf["server"]["mlflow_tracking_uri"] = uri
    path.write_text(yaml.safe_dump(conf))


def registry_client(project: Path) -> MlflowClient:
    """The copy's store read directly (works while its tracking server is down)."""
    uri = f"sqlite:///{project / 'mlflow.db'}"
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


# -- cycles in subprocesses --------------------------------------------------------------------------
@dataclass
class CycleProcess:
    """``kedro cycle`` running in its own process group (Python and its Spark JVM)."""

    process: subprocess.Popen
    log: Path
    started: float

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stages(self) -> dict[str, str]:
        """stage → status, from the summary lines printed so far."""
        return {stage: status for stage, status, _ in STAGE_LINE.findall(self.output())}

    def seconds(self) -> dict[str, float]:
        """stage → seconds it took, from the summary lines printed so far."""
        return {stage: float(seconds) for stage, _, seconds in STAGE_LINE.findall(self.output())}

    def wait(self, timeout: float) -> int:
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(
                f"cycle still running after {timeout:.0f} s:\n{self.output()[-3000:]}"
            ) from None

    def kill(self) -> None:
        """SIGKILL to the whole group: the JVM dies with the driver, as in a machine crash, instead of
        finishing a commit the driver had started."""
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait()


def wait_all(cycles: list[CycleProcess], timeout: float) -> list[tuple[int, float]]:
    """Exit code and seconds to exit of each cycle, waiting for all of them."""
    ended: dict[int, tuple[int, float]] = {}
    deadline = time.monotonic() + timeout
    while len(ended) < len(cycles) and time.monotonic() < deadline:
        for i, cycle in enumerate(cycles):
            if i not in ended and cycle.process.poll() is not None:
                ended[i] = (cycle.process.returncode, round(time.monotonic() - cycle.started, 1))
        time.sleep(0.5)
    for i, cycle in enumerate(cycles):
        if i not in ended:
            cycle.kill()
            raise AssertionError(f"cycle still running after {timeout:.0f} s:\n{cycle.output()[-3000:]}")
    return [ended[i] for i in range(len(cycles))]


def start_cycle(project: Path, log: Path, batch: str = BATCH, env: dict | None = None) -> CycleProcess:
    command = [str(KEDRO), "cycle", batch, "--no-land", "--conf-source", str(project / "conf")]
    for item in dotlist(CYCLE_PARAMS):
        command += ["--params", item]
    environment = {
        **os.environ,
        "KEDRO_DISABLE_TELEMETRY": "1",
        "SPARK_LOCAL_IP": "127.0.0.1",
        "PYTHONUNBUFFERED": "1",  # stage lines as they happen: the kill triggers watch them
        **(env or {}),
    }
    output = log.open("w")
    process = subprocess.Popen(
        command,
        cwd=PROJECT_ROOT,
        env=environment,
        stdout=output,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    output.close()
    return CycleProcess(process, log, time.monotonic())


def data_files(table: Path) -> set[str]:
    """The table's data files (a write in progress adds them before its commit file)."""
    if not table.exists():
        return set()
    return {
        str(path.relative_to(table))
        for path in table.rglob("*.parquet")
        if "_delta_log" not in path.parts and not path.name.startswith(".")
    }


def table_version(table: Path) -> int | None:
    commits = [int(p.stem) for p in (table / "_delta_log").glob("*.json")] if table.exists() else []
    return max(commits) if commits else None


def commits_since(table: Path, version: int | None) -> list[dict]:
    """The table's commits after ``version``: operation and data files added (a table's creation
    adds none; Spark leaves an empty partition's file out of the commit)."""
    commits = []
    for path in sorted((table / "_delta_log").glob("*.json")):
        if version is not None and int(path.stem) <= version:
            continue
        actions = [json.loads(line) for line in path.read_text().splitlines()]
        commits.append(
            {
                "operation": next(a["commitInfo"]["operation"] for a in actions if "commitInfo" in a),
                "added": [unquote(a["add"]["path"]) for a in actions if "add" in a],
            }
        )
    return commits


def kill_during_write(
    cycle: CycleProcess, table: Path, trigger: str, after_stage: str | None, timeout: float
) -> dict:
    """SIGKILL ``cycle`` as soon as ``table`` gets a new data file (``trigger="data"``: a write has begun)
    or a new version (``"commit"``), counted from when ``after_stage`` has printed its summary line
    (from the start when None). Returns when the kill landed, the data files written since and the
    commits made since (a write cut off leaves files that no commit added)."""
    armed: tuple[set[str], int | None] | None = None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cycle.process.poll() is not None:
            raise AssertionError(f"the cycle ended before its write to {table}:\n{cycle.output()[-3000:]}")
        if armed is None and (after_stage is None or after_stage in cycle.stages()):
            armed = (data_files(table), table_version(table))
        if armed is not None:
            files, version = armed
            if (data_files(table) - files) if trigger == "data" else table_version(table) != version:
                cycle.kill()
                return {
                    "seconds": round(time.monotonic() - cycle.started, 1),
                    "written": sorted(data_files(table) - files),
                    "commits": commits_since(table, version),
                    "stages_done": cycle.stages(),
                }
        time.sleep(0.02)
    cycle.kill()
    raise AssertionError(f"no {trigger} in {table} within {timeout:.0f} s:\n{cycle.output()[-3000:]}")


def wait_for_new_data_file(cycle: CycleProcess, table: Path, timeout: float) -> None:
    """Return once ``table`` has a data file it did not have (or the cycle ended)."""
    known, deadline = data_files(table), time.monotonic() + timeout
    while not data_files(table) - known and cycle.process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)


# -- what a lakehouse holds --------------------------------------------------------------------------
def delta_tables(project: Path) -> dict[str, Path]:
    """Every Delta table of the lakehouse, by its path under data/."""
    data = project / "data"
    return {str(log.parent.relative_to(data)): log.parent for log in sorted(data.rglob("_delta_log"))}


def table_fingerprint(spark: SparkSession, path: Path) -> tuple[int, str]:
    """Row count and an order-independent hash of every row (volatile columns left out)."""
    frame = spark.read.format("delta").load(str(path))
    columns = sorted(c for c in frame.columns if c not in VOLATILE)
    rows = frame.select(F.sha2(F.to_json(F.struct(*columns)), 256).alias("h")).collect()
    digest = hashlib.sha256("".join(sorted(r["h"] for r in rows)).encode()).hexdigest()
    return len(rows), digest


def lakehouse_fingerprint(spark: SparkSession, project: Path) -> dict[str, tuple[int, str]]:
    return {name: table_fingerprint(spark, path) for name, path in delta_tables(project).items()}


def duplicate_keys(spark: SparkSession, project: Path) -> dict[str, int]:
    """Merged tables with keys held by more than one row → how many such keys."""
    found = {}
    for name, keys in MERGE_KEYS.items():
        path = project / "data" / name
        if not (path / "_delta_log").exists():
            continue
        frame = spark.read.format("delta").load(str(path))
        dupes = frame.groupBy(*keys).count().filter(F.col("count") > 1).count()
        if dupes:
            found[name] = dupes
    return found


def registry_state(project: Path) -> dict:
    """What the registry holds for the model, without times and run ids: aliases, versions with their
    trigger batch and gate decision, and the champion's moves (version, previous)."""
    client = registry_client(project)
    model = client.get_registered_model(MODEL)
    versions = {
        str(v.version): (v.tags.get("trigger_batch"), v.tags.get("gate.decision"))
        for v in client.search_model_versions(f"name='{MODEL}'")
    }
    moves = [(m["version"], m["previous"]) for m in json.loads(model.tags.get(HISTORY_TAG, "[]"))]
    aliases = {alias: str(version) for alias, version in model.aliases.items()}
    return {"aliases": aliases, "versions": versions, "champion_moves": moves}


def champion_problems(state: dict) -> list[str]:
    """What is wrong with the champion in a ``registry_state``: an alias can name one version only,
    so a half-applied move shows as an alias the history does not record, or a move to itself."""
    moves, champion = state["champion_moves"], state["aliases"].get(CHAMPION)
    problems = [f"move to itself: {m}" for m in moves if m[0] == m[1]]
    if champion is None or not moves or moves[-1][0] != champion:
        problems.append(f"champion {champion} is not the last recorded move {moves[-1:] or None}")
    return problems


def predictions_per_flight(spark: SparkSession, project: Path) -> Counter:
    """How many predictions each (flight, model version) has: 1 everywhere when nothing was doubled."""
    frame = spark.read.format("delta").load(str(project / "data" / "05_ml" / "predictions"))
    counts = frame.groupBy("flight_key", "model_version").count().groupBy("count").count().collect()
    return Counter({r[0]: r[1] for r in counts})


# -- a big landing file with broken rows -------------------------------------------------------------
#: How each kind of broken row is made, and the rule the quarantine must name for it.
MALFORMED = {
    "bad type": ("type", "distance"),
    "impossible date": ("valid_date", "year/month/day"),
    "unknown carrier": ("references", "carrier"),
    "negative distance": ("greater_than", "distance"),
    "truncated line": ("well_formed", "*"),
    "extra fields": ("well_formed", "*"),
}


def write_bulk_flights(path: Path, rows: int, every: int = 100) -> dict[int, str]:
    """``rows`` flight schedules, May 2013 of every carrier repeated in later years (new keys), with
    one row in ``every`` broken, the kinds of MALFORMED in turn. Returns line number → kind (the
    header is line 1). Deterministic."""
    from lakehouse_mlops.usecases.flights import source as simulator

    may = simulator.feeds_for_month(BATCH)["flights"]
    copies = -(-rows // len(may))
    frame = pd.concat(
        [
            may.assign(
                year=may["year"] + k, time_hour=may["time_hour"].str.replace("2013-", f"{2013 + k}-", n=1)
            )
            for k in range(copies)
        ],
        ignore_index=True,
    ).head(rows)
    frame = frame.astype(object)
    kinds = list(MALFORMED)
    broken = {i: kinds[(i // every) % len(kinds)] for i in range(every // 2, rows, every)}
    by_kind = {kind: [i for i, k in broken.items() if k == kind] for kind in kinds}
    frame.loc[by_kind["bad type"], "distance"] = "12O"
    frame.loc[by_kind["impossible date"], ["month", "day"]] = [2, 30]
    frame.loc[by_kind["unknown carrier"], "carrier"] = "ZZ"
    frame.loc[by_kind["negative distance"], "distance"] = -frame.loc[by_kind["negative distance"], "distance"]
    lines = frame.to_csv(index=False, na_rep="", lineterminator="\n").split("\n")
    for i in by_kind["truncated line"]:
        lines[i + 1] = lines[i + 1].rsplit(",", 3)[0]
    for i in by_kind["extra fields"]:
        lines[i + 1] += ",late,again"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines))
    return {i + 2: kind for i, kind in broken.items()}
