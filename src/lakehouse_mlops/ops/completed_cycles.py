"""What a completed cycle ended with, so that running the same batch again with nothing new does nothing.

A cycle's work is decided by its inputs: the files in the landing zone, every Delta table's version,
the effective parameters, the model registry's aliases and the code. When a cycle completes, those
inputs as they stand at its end are recorded with its outcome (``loop_completed_cycles`` in the
catalog). A later cycle of the same batch that finds exactly the same inputs after landing would only
re-read everything and commit nothing (every stage is idempotent): it reports the recorded outcome
instead, every stage ``skipped``. Anything different — a new or rewritten landing file, a table written
by anyone, a parameter, an alias moved by `promote`/`approve`/`rollback`, a code change — and the
cycle runs (no outcome is recorded until a cycle completes), and ``kedro cycle --full`` runs every
stage.

A cycle that stops part-way (killed, or a stage failed) resumes: each stage that finishes records the
inputs as it left them (``stages`` of the batch's record). The next cycle of the batch that finds the
inputs exactly as one of those stages left them reports it and the stages before it as done by the
earlier attempt and starts at the stage after it; anything changed since (a table written by a stage
cut off part-way, an alias moved, a parameter, the code) and it runs every stage, as before.

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
    records[batch_id] = {"completed_at": _now(), **_state(inputs, outcome)}
    catalog.save("loop_completed_cycles", records)


def finished_stages(catalog, batch_id: str, stages: list[str], inputs: CycleInputs) -> list[dict]:
    """The recorded stages a cycle of ``batch_id`` can take as done, in order: those up to the last one
    that left exactly ``inputs``, if they are the first of ``stages``; none otherwise."""
    recorded = _records(catalog).get(batch_id, {}).get("stages", [])
    current = _comparable(inputs)
    for last in range(len(recorded), 0, -1):
        if recorded[last - 1]["inputs"] == current:
            done = recorded[:last]
            return done if [entry["stage"] for entry in done] == stages[:last] else []
    return []


def record_stage(
    catalog, batch_id: str, done: list[dict], stage: str, inputs: CycleInputs, outcome: dict
) -> list[dict]:
    """``done`` (the stages of this cycle so far) and ``stage``, finished with ``inputs``: what a
    cycle resumed after it can take as done. Returns the new list."""
    entry = {"stage": stage, "finished_at": _now(), **_state(inputs, outcome)}
    records = _records(catalog)
    records.setdefault(batch_id, {})["stages"] = [*done, entry]
    catalog.save("loop_completed_cycles", records)
    return [*done, entry]


def _state(inputs: CycleInputs, outcome: dict) -> dict:
    return {"outcome": {key: outcome[key] for key in OUTCOME_FIELDS}, "inputs": asdict(inputs)}


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
