"""The team MLflow server over real HTTP: logins, grants, the champion rule, secrets kept out of logs.

The server is started the way ``make mlflow-server`` starts it (``python -m
lakehouse_mlops.platform.team_server serve``) in a copy of the project's conf with generated passwords;
once on SQLite for the module, once on a throwaway PostgreSQL cluster when Debian's server binaries
are installed.
"""

from __future__ import annotations

import glob
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import mlflow
import pandas as pd
import pytest
import requests
import yaml
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from lakehouse_mlops.framework import model_registry as registry
from lakehouse_mlops.framework.errors import ConfigError
from lakehouse_mlops.framework.model_registry import RegistryError
from lakehouse_mlops.ops import operations
from lakehouse_mlops.pipelines.promotion.gate import PROMOTE
from lakehouse_mlops.platform import team_server
from tests.mlflow_store import active_store
from tests.servers import free_port, serving

pytestmark = pytest.mark.team_server

PROJECT_ROOT = Path(__file__).resolve().parents[1]
EXPERIMENT, MODEL = "lakehouse_mlops", "flight_delay"  # conf/base: what the team env tracks to
ALIAS_PATH = "/api/2.0/mlflow/registered-models/alias"


@dataclass
class Team:
    url: str
    passwords: dict[str, str]  # admin and every user
    secrets: list[str]  # every value that must never be logged
    project: Path
    log: Path

    def call(self, method: str, path: str, user: str | None = None, **kwargs) -> requests.Response:
        auth = (user, self.passwords[user]) if user else None
        return requests.request(method, self.url + path, auth=auth, timeout=60, **kwargs)

    def client(self) -> MlflowClient:
        return MlflowClient(tracking_uri=self.url, registry_uri=self.url)

    def as_user(self, user: str):
        return team_server.signed_in(user, self.passwords[user])

    def experiment_id(self) -> str:
        with self.as_user("viewer"):
            return self.client().get_experiment_by_name(EXPERIMENT).experiment_id


def write_team_project(root: Path, port: int, database_password: str | None = None) -> dict[str, str]:
    """The project's base and team conf under ``root``, the team URL on ``port``, credentials with
    fresh passwords in conf/local (which conf/team/credentials.yml links to). Returns the passwords."""
    conf = root / "conf"
    shutil.copytree(PROJECT_ROOT / "conf" / "base", conf / "base")
    shutil.copytree(PROJECT_ROOT / "conf" / "team", conf / "team", symlinks=True)
    mlflow_yml = conf / "team" / "mlflow.yml"
    settings = yaml.safe_load(mlflow_yml.read_text())
    settings["server"]["mlflow_tracking_uri"] = f"http://127.0.0.1:{port}"
    mlflow_yml.write_text(yaml.safe_dump(settings))
    passwords = {user: f"{user}-{secrets.token_urlsafe(16)}" for user in ("admin", "ds", "ops", "viewer")}
    server = {
        "admin_password": passwords["admin"],
        "flask_secret_key": secrets.token_hex(32),
        "database_password": database_password,
        "users": {user: {"role": user, "password": passwords[user]} for user in ("ds", "ops", "viewer")},
    }
    credentials = {
        "mlflow_team": {"MLFLOW_TRACKING_USERNAME": "ds", "MLFLOW_TRACKING_PASSWORD": passwords["ds"]},
        team_server.CREDENTIALS_ENTRY: server,
    }
    (conf / "local").mkdir()
    (conf / "local" / "credentials.yml").write_text(yaml.safe_dump(credentials))
    return passwords | {"flask_secret_key": server["flask_secret_key"]}


def wait_for_line(log: Path, text: str, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while text not in log.read_text(errors="replace"):
        if time.monotonic() > deadline:
            raise TimeoutError(f"no '{text}' in {log} within {timeout:.0f} s:\n{log.read_text()[-3000:]}")
        time.sleep(0.5)


@contextmanager
def team_server_at(root: Path, *options: str, database_password: str | None = None) -> Iterator[Team]:
    port = free_port()
    project, log = root / "project", root / "team_server.log"
    passwords = write_team_project(project, port, database_password)
    command = [
        sys.executable,
        "-m",
        "lakehouse_mlops.platform.team_server",
        "--project",
        str(project),
        "serve",
    ]
    command += ["--port", str(port), "--workers", "1", *options]
    with serving(command, f"http://127.0.0.1:{port}/health", cwd=project, log=log) as url:
        wait_for_line(log, team_server.READY_MESSAGE)
        hidden = [*passwords.values(), *([database_password] if database_password else [])]
        yield Team(url=url, passwords=passwords, secrets=hidden, project=project, log=log)


@pytest.fixture(scope="module")
def team(tmp_path_factory) -> Iterator[Team]:
    with team_server_at(tmp_path_factory.mktemp("team_sqlite")) as running:
        yield running


def register_version(team: Team) -> str:
    """As ds: a run with a metric and an artifact (through the server's artifact proxy), registered."""
    with team.as_user("ds"):
        client = team.client()
        run = client.create_run(team.experiment_id(), run_name="team-server-test")
        client.log_metric(run.info.run_id, "roc_auc", 0.81)
        client.log_text(run.info.run_id, "a model stands here", "model/README.txt")
        client.set_terminated(run.info.run_id)
        version = client.create_model_version(MODEL, f"{run.info.artifact_uri}/model", run.info.run_id)
        return str(version.version)


def set_alias(team: Team, user: str, alias: str, version: str) -> int:
    body = {"name": MODEL, "alias": alias, "version": version}
    return team.call("POST", ALIAS_PATH, user, json=body).status_code


def test_anonymous_and_wrong_passwords_are_refused(team):
    assert (
        team.call("GET", f"/api/2.0/mlflow/experiments/get-by-name?experiment_name={EXPERIMENT}").status_code
        == 401
    )
    assert team.call("POST", "/api/2.0/mlflow/runs/create", json={"experiment_id": "1"}).status_code == 401
    assert team.call("GET", f"/api/2.0/mlflow/registered-models/get?name={MODEL}").status_code == 401
    wrong = requests.get(
        f"{team.url}/api/2.0/mlflow/registered-models/get?name={MODEL}",
        auth=("ds", "not-the-password"),
        timeout=60,
    )
    assert wrong.status_code == 401
    assert team.call("GET", f"/api/2.0/mlflow/registered-models/get?name={MODEL}", "ds").status_code == 200


def test_viewer_reads_but_is_refused_every_write(team):
    version = register_version(team)
    experiment_id = team.experiment_id()
    assert (
        team.call("GET", f"/api/2.0/mlflow/registered-models/get?name={MODEL}", "viewer").status_code == 200
    )
    assert team.call("GET", f"/api/2.0/mlflow/experiments/get?experiment_id={experiment_id}", "viewer").ok
    refused = {
        "create run": team.call(
            "POST", "/api/2.0/mlflow/runs/create", "viewer", json={"experiment_id": experiment_id}
        ),
        "register version": team.call(
            "POST", "/api/2.0/mlflow/model-versions/create", "viewer", json={"name": MODEL, "source": "x"}
        ),
        "set challenger": team.call(
            "POST", ALIAS_PATH, "viewer", json={"name": MODEL, "alias": "challenger", "version": version}
        ),
    }
    assert {what: r.status_code for what, r in refused.items()} == dict.fromkeys(refused, 403)
    with team.as_user("viewer"), pytest.raises(MlflowException):
        team.client().create_run(experiment_id)


def test_a_user_without_grants_gets_nothing(team):
    """default_permission is NO_PERMISSIONS: an account sees only what it was granted."""
    password = secrets.token_urlsafe(16)
    created = team.call(
        "POST", "/api/2.0/mlflow/users/create", "admin", json={"username": "guest", "password": password}
    )
    assert created.ok
    response = requests.get(
        f"{team.url}/api/2.0/mlflow/registered-models/get?name={MODEL}", auth=("guest", password), timeout=60
    )
    assert response.status_code == 403


def test_ds_logs_registers_and_sets_challenger_but_cannot_move_champion(team):
    version = register_version(team)
    with team.as_user("ds"):
        client = team.client()
        client.set_registered_model_alias(MODEL, registry.CHALLENGER, version)
        assert client.get_registered_model(MODEL).aliases[registry.CHALLENGER] == version
        run_id = client.get_model_version(MODEL, version).run_id
        assert client.get_run(run_id).data.metrics == {"roc_auc": 0.81}
        assert [a.path for a in client.list_artifacts(run_id, "model")] == ["model/README.txt"]
    champion_before = alias_of(team, registry.CHAMPION)
    assert set_alias(team, "ds", registry.CHAMPION, version) == 403
    delete = team.call("DELETE", ALIAS_PATH, "ds", params={"name": MODEL, "alias": registry.CHAMPION})
    assert delete.status_code == 403
    # a rename would carry champion away and free the name for a model ds would own
    rename = team.call(
        "POST", "/api/2.0/mlflow/registered-models/rename", "ds", json={"name": MODEL, "new_name": "mine"}
    )
    assert rename.status_code == 403
    assert alias_of(team, registry.CHAMPION) == champion_before


def alias_of(team: Team, alias: str) -> str | None:
    with team.as_user("viewer"):
        return team.client().get_registered_model(MODEL).aliases.get(alias)


@pytest.fixture
def tracking_at_team(team):
    """The project's registry code talks to the default tracking URI: point it at the server."""
    with active_store(team.url):
        yield


def test_only_ops_moves_champion_with_the_project_registry_code(team, tracking_at_team):
    version = register_version(team)
    for user in ("ds", "viewer"):
        with team.as_user(user), pytest.raises(MlflowException, match="403|Permission denied"):
            registry.set_champion(MODEL, version, user, "not my call")
    assert registry.alias_version(MODEL, registry.CHAMPION) != version
    with team.as_user("ops"):
        move = registry.set_champion(MODEL, version, "ops", "passed the gate")
        assert registry.alias_version(MODEL, registry.CHAMPION) == version
        assert registry.champion_history(MODEL)[-1] == move
    # ops may set challenger too; ds still may after a champion exists
    assert set_alias(team, "ops", registry.CHALLENGER, version) == 200
    assert set_alias(team, "ds", registry.CHALLENGER, version) == 200


def test_only_ops_approves_or_rejects_a_pending_candidate(team, tracking_at_team, spark):
    version = register_version(team)
    with team.as_user("ds"), pytest.raises(MlflowException, match="403|Permission denied"):
        registry.set_pending(MODEL, version)  # what the gate does: an ops run, like moving champion
    with team.as_user("ops"):
        registry.set_pending(MODEL, version)
    champion = alias_of(team, registry.CHAMPION)
    verdict = {"decision": PROMOTE, "reasons": ["passes every bar"], "metrics": {}, "champion": champion,
               "window_start": None, "window_end": None}  # the re-check's verdict (tests/test_approval.py)
    attempts = {
        "approve": lambda: operations.approve(MODEL, version, "looks good", lambda: verdict),
        "reject": lambda: operations.reject(MODEL, version, "not convinced"),
    }
    for command, attempt in attempts.items():
        with team.as_user("ds"), pytest.raises(RegistryError, match=f"'ds' may not {command} .*the ops role"):
            attempt()
    assert alias_of(team, registry.PENDING) == version and alias_of(team, registry.CHAMPION) == champion
    with team.as_user("ops"):
        move, rows = operations.approve(MODEL, version, "reviewed the report", lambda: verdict)
    assert alias_of(team, registry.CHAMPION) == version and alias_of(team, registry.PENDING) is None
    assert move["by"] == "ops" and move["previous"] == champion
    row = rows.first()
    assert (row["kind"], row["decision"], row["decided_by"]) == ("approval", "promote", "ops")
    assert row["reasons"][0] == "approved: reviewed the report"


def test_bootstrap_is_idempotent_and_rotates_passwords(team):
    names = team_server.team_names(team.project)
    # what the server bootstrapped is what these tests and the team env's clients use
    assert names == team_server.TeamNames(EXPERIMENT, MODEL, team.url)
    current = team_server.load_secrets(team.project)
    new_password = f"viewer-{secrets.token_urlsafe(16)}"
    rotated = current.model_copy(
        update={
            "users": {
                **current.users,
                "viewer": team_server.TeamUser(role="viewer", password=new_password),
            }
        }
    )
    model_url = f"{team.url}/api/2.0/mlflow/registered-models/get?name={MODEL}"
    try:
        assert team_server.bootstrap(team.url, rotated, names) == {
            "ds": "updated, role ds",
            "ops": "updated, role ops",
            "viewer": "updated, role viewer",
        }
        assert (
            requests.get(model_url, auth=("viewer", team.passwords["viewer"]), timeout=60).status_code == 401
        )
        assert requests.get(model_url, auth=("viewer", new_password), timeout=60).status_code == 200
    finally:
        team_server.bootstrap(team.url, current, names)
    assert team.call("GET", model_url.removeprefix(team.url), "viewer").status_code == 200
    # grants were upserted, not widened: viewer still reads only
    assert set_alias(team, "viewer", registry.CHALLENGER, "1") == 403


def test_team_env_logs_through_kedro_as_ds(team, spark, monkeypatch, capfd, caplog):
    """`--env team`: kedro-mlflow points MLflow at the server with conf/local's credentials (through the
    conf/team link); the training code path registers a challenger, a tracked pipeline logs its run.
    The project hooks start Spark: the suite's shared session (``spark``) is the one they get."""
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project
    from sklearn.linear_model import LogisticRegression

    from lakehouse_mlops.platform.tracking import end_leftover_runs

    for variable in ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"):
        monkeypatch.setenv(variable, "")  # kedro-mlflow sets them for good: restored after the test
    # inferring pip requirements imports the model in a subprocess (up to 20 s on a busy machine);
    # what it finds does not matter to who may log the model
    monkeypatch.setattr(mlflow.models, "infer_pip_requirements", lambda *_, fallback=None, **__: fallback)
    bootstrap_project(PROJECT_ROOT)
    end_leftover_runs()
    example = pd.DataFrame({"distance": [100.0, 900.0, 1500.0, 300.0], "dep_hour": [6.0, 18.0, 21.0, 9.0]})
    model = LogisticRegression().fit(example, [0, 1, 1, 0])
    # the session points MLflow at the server for the process: put the suite's store back after
    with active_store(mlflow.get_tracking_uri()):
        try:
            team_conf = str(team.project / "conf")
            with KedroSession.create(PROJECT_ROOT, env="team", conf_source=team_conf) as session:
                session.load_context()
                assert mlflow.get_tracking_uri() == team.url
                assert os.environ["MLFLOW_TRACKING_USERNAME"] == "ds"
                with mlflow.start_run(experiment_id=team.experiment_id()):
                    registered = registry.log_and_register(model, example, MODEL, {"origin": "team-env-test"})
                session.run(pipeline_names=["promotion"], node_names=["find_candidate"])
        finally:
            end_leftover_runs()
    assert alias_of(team, registry.CHALLENGER) == registered["version"]
    with team.as_user("viewer"):
        runs = team.client().search_runs([team.experiment_id()])
    # kedro-mlflow logs the run's parameters: only the pipeline run has the use case's gate
    runs = [run for run in runs if "usecase.gate.beat_champion_by" in run.data.params]
    assert len(runs) == 1, "the promotion pipeline's run was not logged on the team server"
    logged = capfd.readouterr()
    everything = logged.out + logged.err + caplog.text
    assert not [s for s in team.secrets if s in everything]


def test_secrets_never_reach_logs_or_errors(team, tmp_path):
    assert team_server.PROTECTED_ALIASES == (registry.CHAMPION, registry.PENDING)
    server_log = team.log.read_text(errors="replace")
    assert team_server.READY_MESSAGE in server_log
    assert "refused POST" in server_log, "team_auth should log each refused champion move"
    assert not [s for s in team.secrets if s in server_log]
    # a refused value is not echoed by the configuration error
    credentials = yaml.safe_load((team.project / "conf/local/credentials.yml").read_text())
    credentials[team_server.CREDENTIALS_ENTRY]["admin_password"] = "short-pw1"
    project = tmp_path / "project"
    shutil.copytree(team.project / "conf", project / "conf", symlinks=True)
    (project / "conf/local/credentials.yml").write_text(yaml.safe_dump(credentials))
    with pytest.raises(ConfigError) as refused:
        team_server.load_secrets(project, environ={})
    assert "admin_password" in str(refused.value)
    assert "short-pw1" not in str(refused.value) + str(refused.value.__cause__)
    assert team_server.redacted("postgresql+psycopg://mlflow:s3cret@db:5432/mlflow") == (
        "postgresql+psycopg://mlflow:***@db:5432/mlflow"
    )
    # a password belongs in the credentials, never in a store URI (the users' URI goes to the ini)
    with pytest.raises(team_server.TeamServerError, match="database_password") as refused_uri:
        team_server.server_options(
            project, 5040, auth_database_uri="postgresql+psycopg://mlflow:s3cret@db/auth"
        )
    assert "s3cret" not in str(refused_uri.value)


@dataclass
class Postgres:
    port: int
    password: str

    def uri(self, database: str) -> str:
        return f"postgresql+psycopg://mlflow@127.0.0.1:{self.port}/{database}"

    def query(self, database: str, sql: str, autocommit: bool = False) -> list[tuple]:
        import psycopg

        with psycopg.connect(
            host="127.0.0.1",
            port=self.port,
            user="mlflow",
            password=self.password,
            dbname=database,
            autocommit=autocommit,
        ) as connection:
            cursor = connection.execute(sql)
            return cursor.fetchall() if cursor.description else []


def _as_postgres_user(command: list[str]) -> list[str]:
    # initdb and postgres refuse to run as root
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@contextmanager
def postgres_cluster() -> Iterator[Postgres]:
    """A throwaway PostgreSQL cluster on 127.0.0.1 with the databases `mlflow` and `mlflow_auth`."""
    binaries = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not binaries:
        pytest.skip("PostgreSQL server binaries not installed (Debian: apt-get install -y postgresql)")
    bin_dir = Path(binaries[-1]).parent
    root = Path(tempfile.mkdtemp(prefix="team-server-pg-"))  # not under pytest's root-only tmp
    password, port = secrets.token_urlsafe(16), free_port()
    (root / "pwfile").write_text(password)
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(root / "pwfile", "postgres")
    data = root / "data"
    run = dict(check=True, capture_output=True, text=True)
    initdb = [str(bin_dir / "initdb"), "-D", str(data), "-U", "mlflow", "--pwfile", str(root / "pwfile")]
    subprocess.run(
        _as_postgres_user([*initdb, "--auth=scram-sha-256", "--no-sync", "--encoding=UTF8"]), **run
    )
    server_options = f"-c listen_addresses=127.0.0.1 -p {port} -k {root} -c fsync=off"
    pg_ctl = [str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(root / "postgres.log")]
    subprocess.run(_as_postgres_user([*pg_ctl, "-o", server_options, "-w", "start"]), **run)
    try:
        cluster = Postgres(port, password)
        for database in ("mlflow", "mlflow_auth"):
            cluster.query("postgres", f"CREATE DATABASE {database}", autocommit=True)
        yield cluster
    finally:
        subprocess.run(
            _as_postgres_user([*pg_ctl, "-m", "fast", "-w", "stop"]), check=False, capture_output=True
        )
        shutil.rmtree(root, ignore_errors=True)


def start_postgres_team(stack: ExitStack, root: Path) -> tuple[Postgres, Team]:
    from mlflow.db import upgrade

    cluster = stack.enter_context(postgres_cluster())
    # the documented first step: `mlflow db upgrade` creates (later: migrates) the schema. Called in
    # this process (a new interpreter would load mlflow again), with the password in a libpq password
    # file: this process's environment is shared with the other tests
    passfile = root / "pgpass"
    passfile.write_text(f"127.0.0.1:{cluster.port}:*:mlflow:{cluster.password}\n")
    passfile.chmod(0o600)
    upgrade.main([f"{cluster.uri('mlflow')}?passfile={passfile}"], standalone_mode=False)
    stores = ["--backend-store-uri", cluster.uri("mlflow"), "--auth-database-uri", cluster.uri("mlflow_auth")]
    # the password only in the credentials: the server must take it from there
    return cluster, stack.enter_context(team_server_at(root, *stores, database_password=cluster.password))


@pytest.fixture(scope="module", autouse=True)
def postgres_team(tmp_path_factory) -> Iterator[Future]:
    """The PostgreSQL team server, started in a thread as the module starts: on 2 cores its start-up
    overlaps the SQLite server's and the other tests. A skip reaches the test through the future."""
    with ExitStack() as stack, ThreadPoolExecutor(max_workers=1) as pool:
        future = pool.submit(start_postgres_team, stack, tmp_path_factory.mktemp("team_postgres"))
        yield future
        future.exception()  # a start-up still running finishes before the stack unwinds


def test_team_server_on_postgresql(postgres_team):
    cluster, team = postgres_team.result(timeout=600)
    assert team.call("GET", f"/api/2.0/mlflow/registered-models/get?name={MODEL}").status_code == 401
    version = register_version(team)
    assert set_alias(team, "ds", registry.CHALLENGER, version) == 200
    assert set_alias(team, "ds", registry.CHAMPION, version) == 403
    assert set_alias(team, "ops", registry.CHAMPION, version) == 200
    assert alias_of(team, registry.CHAMPION) == version
    assert cluster.query("mlflow", "SELECT count(*) FROM runs") == [(1,)]
    users = {username for (username,) in cluster.query("mlflow_auth", "SELECT username FROM users")}
    assert {"ds", "ops", "viewer"} <= users
    assert not [s for s in team.secrets if s in team.log.read_text(errors="replace")]
