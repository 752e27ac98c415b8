"""`kedro usecase new` in a copy of the project: the skeleton is a valid use case (its contract parses,
its pipeline builds, `kedro usecase check` passes), lint-clean, covered by the generic-purity test,
and the suite collects its point-in-time test, which fails until it is written."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT

BIN = Path(sys.executable).parent
NAME = "sensors"
PURITY_TEST = "tests/test_generic_purity.py"


def run(project: Path, *command: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": f"{project / 'src'}{os.pathsep}{project}"}
    env.pop("LAKEHOUSE_USECASE", None)
    return subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, timeout=300)


def copy_project(target: Path) -> Path:
    """The project's code, conf and tests in ``target`` (commands run there import its ``src``)."""
    ignore = shutil.ignore_patterns("__pycache__", "credentials*.yml", "*.egg-info")
    for folder in ("src", "conf", "tests"):
        shutil.copytree(PROJECT_ROOT / folder, target / folder, ignore=ignore)
    shutil.copy(PROJECT_ROOT / "pyproject.toml", target)
    return target


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A copy of the project with use case 'sensors' scaffolded into it."""
    target = copy_project(tmp_path_factory.mktemp("scaffold"))
    done = run(target, str(BIN / "kedro"), "usecase", "new", NAME)
    assert done.returncode == 0, done.stderr
    return target


def test_new_writes_the_conf_block_the_package_and_a_test(project):
    for path in [
        f"conf/base/usecases/{NAME}/parameters_usecase.yml",
        f"conf/base/usecases/{NAME}/parameters_ingestion.yml",
        f"conf/base/usecases/{NAME}/catalog.yml",
        f"src/lakehouse_mlops/usecases/{NAME}/nodes.py",
        f"src/lakehouse_mlops/usecases/{NAME}/source.py",
        f"tests/usecases/{NAME}/test_point_in_time.py",
    ]:
        assert (project / path).is_file(), path
    contract = (project / f"conf/base/usecases/{NAME}/parameters_usecase.yml").read_text()
    keys = ["entity_key:", "event_time:", "cadence:", "known_after_batches:", "baseline_score:", "exclude:"]
    for key in keys:
        line = next(line for line in contract.splitlines() if key in line)
        assert "#" in line, f"{key} is not explained: {line}"


def test_the_skeleton_passes_the_check_and_the_linter(project):
    check = run(project, str(BIN / "kedro"), "usecase", "check", NAME)
    assert check.returncode == 0, check.stdout + check.stderr
    assert f"use case {NAME}: feeds {NAME}_events, {NAME}_outcomes" in check.stdout
    written = [f"src/lakehouse_mlops/usecases/{NAME}", f"tests/usecases/{NAME}"]
    lint = run(project, str(BIN / "ruff"), "check", *written)
    assert lint.returncode == 0, lint.stdout


def test_the_functions_to_write_say_what_to_return(project):
    code = (
        f"from lakehouse_mlops.usecases.{NAME} import nodes\n"
        "try:\n    nodes.build_features(None, None, {})\nexcept NotImplementedError as e:\n    print(e)\n"
    )
    done = run(project, sys.executable, "-c", code)
    assert f"usecases/{NAME}/nodes.py build_features" in done.stdout
    assert "gold_feature_rows" in done.stdout


def test_the_suite_collects_the_new_test_and_covers_the_new_conf(project):
    collected = run(project, sys.executable, "-m", "pytest", "--collect-only", "-q", f"tests/usecases/{NAME}")
    assert f"tests/usecases/{NAME}/test_point_in_time.py::test_features_use_only" in collected.stdout
    purity = run(project, sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", PURITY_TEST)
    assert purity.returncode == 0, purity.stdout
    listed = run(project, sys.executable, "-m", "pytest", "--collect-only", "-q", PURITY_TEST)
    assert f"[{NAME}]" in listed.stdout


def test_an_existing_use_case_is_never_overwritten(project):
    again = run(project, str(BIN / "kedro"), "usecase", "new", NAME)
    assert again.returncode != 0 and f"use case '{NAME}' already exists" in again.stderr
    bad = run(project, str(BIN / "kedro"), "usecase", "new", "Sensors-2")
    assert bad.returncode != 0 and "lower-case letters" in bad.stderr
