"""docs/tutorial_new_dataset.md is executed: its YAML blocks are the shipped conf files they name, its
Python blocks are lines of the shipped modules they name, its commands run (scaffold, check, fetch)
or are parsed by the project's command line (the loop commands, which the car-loans loop test runs),
its `make` targets exist for the use case, and its figures are measured here."""

from __future__ import annotations

import ast
import os
import re
import shlex
import subprocess
from pathlib import Path

import click
import pytest
import yaml

from lakehouse_mlops.ops.cli import cli
from tests.conftest import PROJECT_ROOT
from tests.test_scaffold import BIN, copy_project, run

TUTORIAL = PROJECT_ROOT / "docs" / "tutorial_new_dataset.md"
BLOCK = re.compile(r"^```(\w+)([^\n]*)\n(.*?)^```", re.S | re.M)
#: commands run for real (cheap, no Spark); the others are parsed
RUN = {("usecase", "new"), ("usecase", "check")}


def blocks(language: str) -> list[tuple[str, str]]:
    """(file the block names, its text) of every fenced block in ``language``."""
    found = BLOCK.findall(TUTORIAL.read_text())
    return [(target.strip(), body) for lang, target, body in found if lang == language]


def commands() -> list[tuple[dict[str, str], list[str]]]:
    """Every command line of the bash blocks: (environment it sets, words), `export` applied."""
    exported, found = {}, []
    for _, body in blocks("bash"):
        for line in body.splitlines():
            words = shlex.split(line, comments=True)
            if words and words[0] == "export":
                exported.update(w.split("=", 1) for w in words[1:])
                continue
            env = dict(exported)
            while words and re.match(r"^[A-Z_]+=", words[0]):
                env.update([words.pop(0).split("=", 1)])
            if words:
                found.append((env, words))
    return found


def is_part_of(excerpt, shipped, path: str = "") -> list[str]:
    """Where ``excerpt`` differs from ``shipped`` (every key and value of it must be there)."""
    if isinstance(excerpt, dict):
        if not isinstance(shipped, dict):
            return [f"{path}: not a mapping in the shipped file"]
        problems = []
        for key, value in excerpt.items():
            if key not in shipped:
                problems.append(f"{path}.{key}: no such key in the shipped file")
            else:
                problems += is_part_of(value, shipped[key], f"{path}.{key}")
        return problems
    return [] if excerpt == shipped else [f"{path}: {excerpt!r} in the tutorial, {shipped!r} shipped"]


def test_the_tutorial_has_blocks_of_every_kind():
    assert len(blocks("yaml")) >= 4 and len(blocks("python")) >= 3 and len(commands()) >= 10


@pytest.mark.parametrize("target, body", blocks("yaml"), ids=lambda v: v if v.endswith(".yml") else None)
def test_yaml_blocks_are_the_shipped_conf(target, body):
    assert target, f"a YAML block names no file:\n{body}"
    shipped = yaml.safe_load((PROJECT_ROOT / target).read_text())
    assert is_part_of(yaml.safe_load(body), shipped) == []


@pytest.mark.parametrize("target, body", blocks("python"), ids=lambda v: v if v.endswith(".py") else None)
def test_python_blocks_are_the_shipped_code(target, body):
    shipped = (PROJECT_ROOT / target).read_text()
    at = -1
    for line in body.rstrip().splitlines():
        at = shipped.find(line + "\n", at + 1)
        assert at >= 0, f"{target} has no line {line!r} (after the previous one)"


def parse(words: list[str]) -> click.Context:
    """The project command's context: subcommand, arguments and options checked, nothing run."""
    context = cli.make_context("kedro", list(words), resilient_parsing=False)
    command, rest = cli, words
    while isinstance(command, click.Group):
        name, command, rest = command.resolve_command(context, rest)
        context = command.make_context(name, list(rest), parent=context)
    return context


@pytest.mark.parametrize("env, words", commands(), ids=lambda v: " ".join(v) if isinstance(v, list) else "")
def test_every_command_exists_with_its_arguments(env, words, tmp_path):
    program = Path(words[0]).name
    if program == "kedro":
        parse(words[1:])
        assert env.get("LAKEHOUSE_USECASE") in (None, "car_loans") and env.get("LAKEHOUSE_ROOT") in (
            None,
            "data/car_loans",
        )
    elif program == "make":
        done = subprocess.run(["make", "-n", *words[1:]], cwd=PROJECT_ROOT, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        assert "kedro" in done.stdout
    elif program == "python":
        done = subprocess.run([str(BIN / "python"), *words[1:]], capture_output=True, text=True, timeout=300)
        assert done.returncode == 0 and "car_loans data: 3 files checked" in done.stdout, done.stderr
    else:
        pytest.fail(f"unknown program in the tutorial: {words}")


def test_the_scaffold_and_check_commands_run(tmp_path):
    """`kedro usecase new` and `kedro usecase check` as the tutorial writes them, in a copy of the project."""
    ran = [w for _, w in commands() if Path(w[0]).name == "kedro" and tuple(w[1:3]) in RUN]
    assert [w[1:3] for w in ran] == [["usecase", "new"], ["usecase", "check"], ["usecase", "check"]]
    copy_project(tmp_path)
    for words in ran:
        done = run(tmp_path, str(BIN / "kedro"), *words[1:])
        assert done.returncode == 0, (words, done.stdout, done.stderr)
        if words[1:3] == ["usecase", "check"]:
            assert done.stdout.rstrip().endswith("ok"), done.stdout


def test_make_keeps_each_use_case_in_its_own_lakehouse():
    show = "show: ; @echo $$LAKEHOUSE_USECASE $$LAKEHOUSE_ROOT"
    for usecase, expected in [("car_loans", "car_loans data/car_loans"), ("flights", "flights")]:
        done = subprocess.run(
            ["make", "-s", "--eval", show, "show", f"USECASE={usecase}"],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            env={k: v for k, v in os.environ.items() if not k.startswith("LAKEHOUSE_")},
        )
        assert done.stdout.strip() == expected


def test_the_package_size_the_tutorial_states():
    total = code = 0
    for path in sorted((PROJECT_ROOT / "src/lakehouse_mlops/usecases/car_loans").glob("*.py")):
        source = path.read_text()
        lines = source.splitlines()
        docstrings = set()
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Module | ast.FunctionDef | ast.ClassDef) and ast.get_docstring(node):
                docstrings |= set(range(node.body[0].lineno, node.body[0].end_lineno + 1))
        total += len(lines)
        code += sum(
            1
            for number, line in enumerate(lines, 1)
            if line.strip() and not line.strip().startswith("#") and number not in docstrings
        )
    assert f"The whole package is {total} lines, {code} of them code" in TUTORIAL.read_text()
