"""One writer at a time per lakehouse: an exclusive lock file in the lakehouse root.

Two cycles on the same lakehouse would both append the batch to bronze and both train a model for
it: Delta's optimistic concurrency only rejects *conflicting* commits, and appends never conflict.
The cycle (and the initial history) therefore holds ``<lakehouse root>/.lakehouse.lock`` for its whole
run; a second one fails at once, before it reads or writes anything, naming the holder.

The lock is ``fcntl.flock`` on an open file: the kernel releases it when the holder exits in any way
(including SIGKILL), so a crashed cycle never leaves a stale lock behind and can simply be re-run.
Object stores (``s3://``, ``abfss://`` …) have no such lock: there the scheduler must run one cycle
at a time, and the lock is skipped with a warning.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from kedro.io.core import get_protocol_and_path

from lakehouse_mlops.framework.errors import LakehouseError

LOCK_FILE = ".lakehouse.lock"
logger = logging.getLogger(__name__)


class LakehouseBusyError(LakehouseError):
    """Another process holds the lakehouse's lock (a cycle or the history is running on it)."""


@contextmanager
def lakehouse_lock(root: str | Path, purpose: str) -> Iterator[Path | None]:
    """Hold the lakehouse's lock for the block; ``purpose`` (e.g. ``cycle 2013-05``) is shown to
    whoever finds it taken. Yields the lock file (None where no lock is possible)."""
    protocol, _ = get_protocol_and_path(str(root))
    if protocol != "file":
        logger.warning("%s is on %s storage: no lock, run one cycle at a time on it", root, protocol)
        yield None
        return
    path = Path(root) / LOCK_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise LakehouseBusyError(
                f"another process is writing to the lakehouse {Path(root)} ({_holder(fd)}); this "
                f"{purpose} did nothing: wait for it to finish, then run it again"
            ) from None
        os.ftruncate(fd, 0)
        holder = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "purpose": purpose,
            "since": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        os.pwrite(fd, json.dumps(holder).encode(), 0)
        yield path
    finally:
        os.close(fd)  # closing the only descriptor releases the flock


def _holder(fd: int) -> str:
    """Who holds the lock, from what the holder writes into the file right after taking it."""
    for _ in range(10):
        try:
            holder = json.loads(os.pread(fd, 4096, 0) or b"{}")
        except ValueError:  # being written
            holder = {}
        if holder:
            break
        time.sleep(0.05)
    else:
        return "holder not recorded"
    held = {key: holder.get(key, "?") for key in ("purpose", "pid", "host", "since")}
    return f"{held['purpose']}, pid {held['pid']} on {held['host']}, since {held['since']}"
