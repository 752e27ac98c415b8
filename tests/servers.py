"""Local servers for tests: started on 127.0.0.1 on a free port, waited for, always stopped."""

from __future__ import annotations

import random
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    """A free port below the ephemeral range (kedro-viz refuses ports above 49151)."""
    for port in random.sample(range(20000, 49000), 200):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port between 20000 and 49000 on 127.0.0.1")


@contextmanager
def serving(command: list[str], ready_url: str, cwd: Path, log: Path, timeout: float = 180) -> Iterator[str]:
    """Run ``command`` until ``ready_url`` answers 200; yield its base URL; stop it afterwards."""
    with log.open("w") as output:
        process = subprocess.Popen(command, cwd=cwd, stdout=output, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + timeout
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"{command[0]} exited with {process.returncode}: see {log}")
                try:
                    with urllib.request.urlopen(ready_url, timeout=5) as response:
                        if response.status == 200:
                            break
                except (urllib.error.URLError, ConnectionError, TimeoutError):
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{ready_url} did not answer within {timeout:.0f} s: see {log}")
                time.sleep(1)
            yield ready_url.split("/", 3)[0] + "//" + ready_url.split("/", 3)[2]
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
