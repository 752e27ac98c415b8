"""Every configuration environment loads with the project's own loader settings and stays apart.

Fast (no Spark, no MLflow store): what a mistake in conf/<env>/ would otherwise only show on a
cluster or, worse, in production — a shipped ``spark.master``, two environments writing one table
or one registered model, a path that falls back to base's local root, a password in git.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml
from kedro.framework.project import settings
from kedro.framework.startup import bootstrap_project

PROJECT_ROOT = Path(__file__).resolve().parents[1]
CONF = PROJECT_ROOT / "conf"
DEPLOYED = ("staging", "prod")
# local is the default run env; cluster and team are other people's envs, checked when they exist
ENVS = [env for env in ("local", "cluster", "team", *DEPLOYED) if any((CONF / env).glob("*.y*ml"))]
SECRET_KEY = re.compile(r"pass(word|wd)?$|secret|token|api[_-]?key|access[_-]?key|private[_-]?key", re.I)
USERINFO_IN_URI = re.compile(r"://[^/\s:@]+:[^/\s@]+@")
TOKEN_SHAPES = re.compile(r"\bdapi[0-9a-f]{32}\b|\bAKIA[0-9A-Z]{16}\b|\bgh[pousr]_[A-Za-z0-9]{30,}")


def _loader(env: str):
    bootstrap_project(PROJECT_ROOT)
    loader = settings.CONFIG_LOADER_CLASS(
        conf_source=str(PROJECT_ROOT / settings.CONF_SOURCE), env=env, **settings.CONFIG_LOADER_ARGS
    )
    # kedro-mlflow's hook adds this key at run time; the same patterns, so tests see what runs see
    loader.config_patterns.setdefault("mlflow", ["mlflow*", "mlflow*/**", "**/mlflow*"])
    return loader


@pytest.fixture(scope="module")
def conf() -> dict[str, dict]:
    loaded = {}
    # an env that reads its root or server from the environment must follow it everywhere
    with pytest.MonkeyPatch.context() as env_vars:
        env_vars.setenv("LAKEHOUSE_ROOT", "/sentinel/lakehouse")
        env_vars.setenv("MLFLOW_TRACKING_URI", "http://sentinel.invalid:5000")
        for env in ["base", *ENVS]:
            loader = _loader(env)
            loaded[env] = {
                key: loader[key] for key in ("globals", "catalog", "parameters", "spark", "mlflow")
            }
    return loaded


def _storage_paths(entry) -> list[str]:
    """Every ``filepath``/``path`` in a catalog entry, nested datasets included."""
    if isinstance(entry, dict):
        found = [v for k, v in entry.items() if k in ("filepath", "path") and isinstance(v, str)]
        return found + [p for v in entry.values() for p in _storage_paths(v)]
    return []


def test_the_deployment_environments_exist():
    assert {"local", *DEPLOYED} <= set(ENVS)


@pytest.mark.parametrize("env", DEPLOYED)
def test_deployed_environment_changes_only_the_model_name_and_approval_in_parameters(conf, env):
    # soft merge: the env's one-key files keep every other parameter of base and of the use case
    params, base = conf[env]["parameters"], conf["base"]["parameters"]
    assert params.keys() == base.keys()

    def without_model_name(usecase: dict) -> dict:
        return {**usecase, "model": {**usecase["model"], "registered_name": None}}

    assert without_model_name(params["usecase"]) == without_model_name(base["usecase"])
    assert params["promotion"] == {**base["promotion"], "require_approval": True}
    assert base["promotion"]["require_approval"] is False
    assert {k: v for k, v in params.items() if k not in ("usecase", "promotion")} == {
        k: v for k, v in base.items() if k not in ("usecase", "promotion")
    }


@pytest.mark.parametrize("env", ENVS)
def test_only_local_pins_a_spark_master(conf, env):
    assert ("spark.master" in conf[env]["spark"]) == (env == "local")
    # soft merge: an env that sets one Spark key keeps base's Delta settings
    assert conf[env]["spark"]["spark.sql.extensions"] == conf["base"]["spark"]["spark.sql.extensions"]


@pytest.mark.parametrize("env", ENVS)
def test_catalog_paths_resolve_under_the_environment_root(conf, env):
    root = str(conf[env]["globals"]["lakehouse_root"]).rstrip("/") + "/"
    paths = [p for entry in conf[env]["catalog"].values() for p in _storage_paths(entry)]
    assert len(paths) > 20
    outside = [p for p in paths if not p.startswith(root)]
    assert not outside, f"{env}: {len(outside)} catalog paths outside {root}, e.g. {outside[:3]}"


@pytest.mark.parametrize("env", DEPLOYED)
def test_deployed_environment_is_separate_from_every_other(conf, env):
    def identity(e: str) -> dict[str, str]:
        return {
            "storage root": conf[e]["globals"]["lakehouse_root"],
            "experiment": conf[e]["mlflow"]["tracking"]["experiment"]["name"],
            "registered model": conf[e]["parameters"]["usecase"]["model"]["registered_name"],
            "tracking server": conf[e]["mlflow"]["server"]["mlflow_tracking_uri"],
        }

    mine = identity(env)
    for other in ENVS:
        if other != env:
            shared = {k: v for k, v in identity(other).items() if mine[k] == v}
            assert not shared, f"{env} shares with {other}: {shared}"
    assert mine["experiment"] == f"lakehouse_mlops_{env}"
    assert mine["registered model"] == f"flight_delay_{env}"


@pytest.mark.parametrize("env", DEPLOYED)
def test_deployed_environment_tracks_like_base_on_its_team_server(conf, env):
    server, tracking = conf[env]["mlflow"]["server"], conf[env]["mlflow"]["tracking"]
    assert server["mlflow_tracking_uri"].startswith(("http://", "https://"))
    assert server["credentials"] == "mlflow_team"
    assert server.keys() == conf["base"]["mlflow"]["server"].keys()
    # mlflow.yml merges destructively, so the env restates `tracking`: it must not drift from base
    base_tracking = conf["base"]["mlflow"]["tracking"]
    assert {**tracking, "experiment": None} == {**base_tracking, "experiment": None}
    assert {**tracking["experiment"], "name": None, "create_experiment_kwargs": None} == {
        **base_tracking["experiment"],
        "name": None,
        "create_experiment_kwargs": None,
    }
    assert conf[env]["mlflow"]["ui"] == conf["base"]["mlflow"]["ui"]


def _committed_conf_files() -> list[Path]:
    """Files under conf/ that git would commit (tracked, or new and not ignored)."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard", "conf"],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git work tree: cannot tell committed conf from local conf")
    files = [PROJECT_ROOT / p for p in listed if p.endswith((".yml", ".yaml"))]
    # git commits a link, not what it points at (conf/team/credentials.yml -> conf/local/...)
    return [f for f in files if f.is_file() and not f.is_symlink()]


def _is_placeholder(value) -> bool:
    text = "" if value is None else str(value).strip()
    return (
        not text
        or (text.startswith("${") and text.endswith("}"))
        or (text.startswith("<") and text.endswith(">"))
        or "change" in text.lower()
    )


def _leaks(node, where: str) -> list[str]:
    if isinstance(node, dict):
        found = []
        for key, value in node.items():
            if (
                SECRET_KEY.search(str(key))
                and not isinstance(value, dict | list)
                and not _is_placeholder(value)
            ):
                found.append(f"{where}.{key}")
            found += _leaks(value, f"{where}.{key}")
        return found
    if isinstance(node, list):
        return [leak for i, item in enumerate(node) for leak in _leaks(item, f"{where}[{i}]")]
    if isinstance(node, str) and (USERINFO_IN_URI.search(node) or TOKEN_SHAPES.search(node)):
        return [where]
    return []


def test_no_secrets_in_committed_conf():
    files = _committed_conf_files()
    assert any(f.parent.name == "prod" for f in files)
    problems = []
    for f in files:
        where = str(f.relative_to(PROJECT_ROOT))
        try:
            problems += _leaks(yaml.safe_load(f.read_text()) or {}, where)
        except yaml.YAMLError as exc:
            # an example copied into place must load too
            problems.append(f"{where} is not valid YAML: {exc.problem} {exc.problem_mark}")
    assert not problems, f"secret-like values or unreadable files in committed conf: {problems}"


def test_the_secret_check_catches_a_password():
    assert _leaks({"mlflow_team": {"MLFLOW_TRACKING_PASSWORD": "hunter2-but-longer"}}, "x")
    assert _leaks({"server": {"uri": "http://alice:s3cret@host:5000"}}, "x")
    assert not _leaks({"mlflow_team": {"MLFLOW_TRACKING_PASSWORD": "${oc.env:MLFLOW_PASSWORD}"}}, "x")
