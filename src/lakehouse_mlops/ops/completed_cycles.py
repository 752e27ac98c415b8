"""What a completed cycle ended with, so that running the same batch again with nothing new does nothing.

A cycle's work is decided by its inputs: the files in the landing zone, every Delta table's version,
the effective parameters, the model registry's aliases and the code. When a cycle completes, those
inputs as they stand at its end are recorded with its outcome (``loop_completed_cycles`` in the
catalog). A later cycle of the same batch that finds exactly the same inputs after landing would only
re-read everything and commit nothing (every stage is idempotent): it reports the recorded outcome
instead, every stage ``skipped``. Anything different — a new or rewritten landing file, a table written
by anyone, a parameter, an alias moved by `promote`/`approve`/`rollback`, a code change — and the
cycle runs the stages it affects (below); ``kedro cycle --full`` runs every stage.

Stage by stage, so that a cycle that stopped part-way (killed, or a stage failed) resumes, and a change
re-runs only what it affects: each stage that finishes records what it depends on as it left them
(``stages`` of the batch's record): the tables its pipeline reads and writes, the landing files
(ingestion), the model aliases it reads, the parameters, the code, and the
outcome of the stages before it (which it is given; ops/loop.py ``STAGE_SCOPES``). A later cycle of
the batch runs a stage only if one of those differs now; one that does not is reported as done by the
earlier cycle, with the outcome it reached (every stage is idempotent: running it would commit
nothing). A stage cut off after a commit thus runs again, and so does every later stage that reads its
table, while the stages that do not read it are skipped.

Landing files are compared by path, size and modification time (not content: hashing every landed file
is the ingestion's job, which then runs). A file edited in place that keeps its size and time to the
nanosecond is not seen here; ``--full`` runs the ingestion's content check.
"""

from __future__ import annotations

import hashlib
import json
import logging
import subprocess
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import fsspec
from kedro.io import DatasetError

logger = logging.getLogger(__name__)
#: the outcome of a cycle that a skipped re-run reports again (CycleResult's fields)
OUTCOME_FIELDS = ("decision", "scored_by", "deployed", "retrained_version", "promoted", "awaiting_approval")


@dataclass(frozen=True)
class CycleInputs:
    landing: dict[str, list]  # path under the landing root -> [size, modification time]
    tables: dict[str, int | None]  # catalog name -> Delta version
    parameters: str  # sha256 of the effective parameters
    aliases: dict[str, str]
    code: str


def landing_listing(root: str) -> dict[str, list]:
    """Every file under ``root`` (local or any fsspec URL): relative path -> [size, modification time]."""
    fs, path = fsspec.core.url_to_fs(root)
    if not fs.exists(path):
        return {}
    base = path.rstrip("/") + "/"
    listing = {}
    for name, info in fs.find(path, detail=True).items():
        changed = info.get("mtime") or info.get("LastModified") or info.get("last_modified")
        listing[name.removeprefix(base)] = [info.get("size"), str(changed)]
    return listing


def parameters_digest(parameters: dict) -> str:
    return hashlib.sha256(json.dumps(parameters, sort_keys=True, default=str).encode()).hexdigest()


def code_version(project_path: Path) -> str:
    """The commit and a digest of uncommitted changes to tracked files in a checkout; the installed
    package's version in a deployment (no git)."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=project_path, capture_output=True, text=True, check=True
        ).stdout.strip()
        diff = subprocess.run(
            ["git", "diff", "HEAD"], cwd=project_path, capture_output=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        try:
            return f"package {metadata.version('lakehouse_mlops')}"
        except metadata.PackageNotFoundError:
            return "unknown"
    return f"{commit} {hashlib.sha256(diff).hexdigest()[:16]}"


def outcome_of(result) -> dict:
    """A cycle's result (ops/stages.py CycleResult) as recorded: its OUTCOME_FIELDS."""
    return {key: getattr(result, key) for key in OUTCOME_FIELDS}


def recorded_outcome(catalog, batch_id: str, inputs: CycleInputs) -> dict | None:
    """The outcome recorded for ``batch_id`` when its completed cycle ended with exactly ``inputs``."""
    record = _records(catalog).get(batch_id)
    if record is None or record.get("inputs") != _comparable(inputs):
        return None
    return record


def record(catalog, batch_id: str, inputs: CycleInputs, outcome: dict) -> None:
    records = _records(catalog)
    stages = _stages(catalog, batch_id, records)  # kept: a later change re-runs only what it affects
    records[batch_id] = {"completed_at": _now(), **_state(inputs, outcome), "stages": stages}
    catalog.save("loop_completed_cycles", records)


def finished_stage(catalog, batch_id: str, stage: str, inputs: CycleInputs, before: dict) -> dict | None:
    """The record of ``stage`` finished by an earlier attempt at ``batch_id``'s cycle, when what it depends
    on is as it left it: ``inputs`` (scoped to the stage) and ``before``, the outcome of the stages before
    it in this attempt. None: the stage runs."""
    entry = _stages(catalog, batch_id).get(stage)
    if entry is None or entry["inputs"] != _comparable(inputs) or entry["before"] != _outcome(before):
        return None
    return entry


def record_stage(
    catalog, batch_id: str, stage: str, inputs: CycleInputs, before: dict, outcome: dict
) -> None:
    """``stage`` finished, leaving ``inputs`` (scoped to it); ``before``/``outcome``: the cycle's outcome
    before and after it."""
    records = _records(catalog)
    stages = _stages(catalog, batch_id, records)
    stages[stage] = {"finished_at": _now(), "before": _outcome(before), **_state(inputs, outcome)}
    records.setdefault(batch_id, {})["stages"] = stages
    catalog.save("loop_completed_cycles", records)


def _stages(catalog, batch_id: str, records: dict | None = None) -> dict[str, dict]:
    """The finished stages recorded for ``batch_id``, by name (a record of an older form: none)."""
    recorded = (records if records is not None else _records(catalog)).get(batch_id, {}).get("stages")
    return dict(recorded) if isinstance(recorded, dict) else {}


def _state(inputs: CycleInputs, outcome: dict) -> dict:
    return {"outcome": _outcome(outcome), "inputs": asdict(inputs)}


def _outcome(outcome: dict) -> dict:
    return {key: outcome[key] for key in OUTCOME_FIELDS}


def _comparable(inputs: CycleInputs) -> dict:
    """``inputs`` as they read back from the JSON file (tuples as lists, keys as strings)."""
    return json.loads(json.dumps(asdict(inputs)))


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _records(catalog) -> dict:
    """The records so far; none when the file is missing or unreadable (then every stage runs)."""
    if not catalog.exists("loop_completed_cycles"):
        return {}
    try:
        return catalog.load("loop_completed_cycles")
    except DatasetError as exc:  # e.g. a write cut short: it costs one full cycle, nothing else
        logger.warning("completed cycles not readable, every stage runs: %s", exc)
        return {}
