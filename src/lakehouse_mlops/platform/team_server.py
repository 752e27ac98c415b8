"""The team MLflow tracking server: ``mlflow server`` with a SQL store, served artifacts and logins.

``python -m lakehouse_mlops.platform.team_server serve`` (``make mlflow-server``) starts mlflow's basic-auth
app on 127.0.0.1, then bootstraps it: the team's users with their passwords, the experiment and the
registered model the ``team`` env uses, and each user's grants. ``bootstrap`` does the bootstrap
alone against a running server (new users, rotated passwords). Secrets come from the environment
or from the ``mlflow_team_server`` entry of the credentials (conf/local/credentials.yml) and reach
the server through its environment only: never a command line, a file or a log line.
See docs/team_server.md.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from kedro.config import MissingConfigException
from mlflow.environment_variables import (
    MLFLOW_AUTH_ADMIN_PASSWORD,
    MLFLOW_AUTH_CONFIG_PATH,
    MLFLOW_FLASK_SERVER_SECRET_KEY,
    MLFLOW_TRACKING_PASSWORD,
    MLFLOW_TRACKING_USERNAME,
)
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import RESOURCE_ALREADY_EXISTS, RESOURCE_DOES_NOT_EXIST, ErrorCode
from mlflow.tracking import MlflowClient
from pydantic import AfterValidator, ConfigDict, Field, SecretStr
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from lakehouse_mlops.framework.config import StrictModel, parse_config
from lakehouse_mlops.framework.errors import LakehouseError
from lakehouse_mlops.framework.model_registry import CHAMPION, PENDING
from lakehouse_mlops.platform.kedro_project import config_loader

# named, not __name__: run with -m this module is __main__, which the logging config does not know
logger = logging.getLogger("lakehouse_mlops.platform.team_server")

HOST = "127.0.0.1"
DEFAULT_PORT = 5040
DEFAULT_ENV = "team"
SERVER_FOLDER = "mlflow-team"
CREDENTIALS_ENTRY = "mlflow_team_server"
ADMIN_USERNAME = "admin"
AUTHORIZATION_FUNCTION = "lakehouse_mlops.platform.team_auth:authenticate_request"
READY_MESSAGE = "team MLflow server ready at"
# What each role may do. ops needs EDIT on the experiment too: the promotion pipeline it runs is a
# tracked Kedro run. Moving `champion` or `approved_pending` (approving or rejecting a candidate) and renaming
# the model need MANAGE: platform.team_auth.
ROLE_GRANTS: dict[str, dict[str, str]] = {
    "ds": {"experiment": "EDIT", "registered_model": "EDIT"},
    "ops": {"experiment": "EDIT", "registered_model": "MANAGE"},
    "viewer": {"experiment": "READ", "registered_model": "READ"},
}
PROTECTED_ALIASES = (CHAMPION, PENDING)
# Seconds a checked password is trusted by a server worker: mlflow hashes it (PBKDF2) for every
# permission check otherwise, several per request. A rotated password can keep working this long
# on the workers that did not handle the change.
AUTH_CACHE_SECONDS = 30
BACKEND_STORE_VAR = "MLFLOW_BACKEND_STORE_URI"  # `mlflow server --backend-store-uri`'s variable
USERNAME_VAR, PASSWORD_VAR = MLFLOW_TRACKING_USERNAME.name, MLFLOW_TRACKING_PASSWORD.name


class TeamServerError(LakehouseError):
    """The team server could not be configured, started or bootstrapped."""


def _not_a_placeholder(value: SecretStr) -> SecretStr:
    # the example's placeholders are long enough to pass as passwords that everyone knows
    text = value.get_secret_value()
    if text.startswith("<") and text.endswith(">"):
        raise ValueError("still the placeholder of conf/local/credentials.example.yml")
    return value


Password = Annotated[SecretStr, Field(min_length=12), AfterValidator(_not_a_placeholder)]


class SecretModel(StrictModel):
    # a validation error must never echo the value it refused
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)


class TeamUser(SecretModel):
    role: Literal["ds", "ops", "viewer"]
    password: Password


class ServerSecrets(SecretModel):
    admin_username: str = ADMIN_USERNAME
    admin_password: Password  # mlflow refuses bootstrap passwords under 12 characters
    flask_secret_key: Annotated[SecretStr, Field(min_length=16), AfterValidator(_not_a_placeholder)]
    database_password: SecretStr | None = None  # PostgreSQL only: handed to libpq as PGPASSWORD
    users: dict[str, TeamUser] = {}


@dataclass(frozen=True)
class TeamNames:
    """What the ``team`` env tracks to: its experiment, its registered model, the server URL."""

    experiment: str
    model: str
    tracking_uri: str


@dataclass(frozen=True)
class ServerOptions:
    port: int
    folder: Path
    backend_store_uri: str
    auth_database_uri: str
    artifacts_destination: str
    workers: int = 2
    allowed_hosts: str | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"


def team_names(project: Path, env: str = DEFAULT_ENV) -> TeamNames:
    loader = config_loader(project, env)
    mlflow_conf, parameters = loader["mlflow"], loader["parameters"]
    return TeamNames(
        experiment=mlflow_conf["tracking"]["experiment"]["name"],
        model=parameters["usecase"]["model"]["registered_name"],
        tracking_uri=mlflow_conf["server"]["mlflow_tracking_uri"],
    )


def credentials_entry(project: Path, env: str = DEFAULT_ENV) -> dict:
    loader = config_loader(project, env)
    try:
        credentials = loader["credentials"]
    except MissingConfigException:
        return {}
    return dict(credentials.get(CREDENTIALS_ENTRY) or {})


def load_secrets(
    project: Path, env: str = DEFAULT_ENV, environ: Mapping[str, str] = os.environ
) -> ServerSecrets:
    """The server's secrets: mlflow's own variables when set, else the credentials entry."""
    raw = credentials_entry(project, env)
    overrides = {
        "admin_password": environ.get(MLFLOW_AUTH_ADMIN_PASSWORD.name),
        "flask_secret_key": environ.get(MLFLOW_FLASK_SERVER_SECRET_KEY.name),
    }
    raw.update({key: value for key, value in overrides.items() if value})
    source = f"credentials entry '{CREDENTIALS_ENTRY}' (see conf/local/credentials.example.yml)"
    return parse_config(ServerSecrets, raw, source)


def default_port(tracking_uri: str) -> int:
    """The port of the env's tracking URI when it is this machine's server, so both stay in step."""
    parts = urlsplit(tracking_uri)
    if parts.scheme == "http" and parts.hostname in (HOST, "localhost") and parts.port:
        return parts.port
    return DEFAULT_PORT


def server_options(
    project: Path,
    port: int,
    folder: Path | None = None,
    backend_store_uri: str | None = None,
    auth_database_uri: str | None = None,
    artifacts_destination: str | None = None,
    workers: int = 2,
    allowed_hosts: str | None = None,
) -> ServerOptions:
    """Everything not given lives in ``folder`` (default ``<project>/mlflow-team``, git-ignored)."""
    folder = (folder or project / SERVER_FOLDER).resolve()
    for uri in (backend_store_uri, auth_database_uri):
        _refuse_password_in(uri)
    return ServerOptions(
        port=port,
        folder=folder,
        backend_store_uri=backend_store_uri or f"sqlite:///{folder / 'mlflow.db'}",
        auth_database_uri=auth_database_uri or f"sqlite:///{folder / 'basic_auth.db'}",
        artifacts_destination=artifacts_destination or str(folder / "artifacts"),
        workers=workers,
        allowed_hosts=allowed_hosts,
    )


def _database_url(uri: str) -> URL | None:
    try:
        return make_url(uri)
    except ArgumentError:
        return None


def redacted(uri: str) -> str:
    """``uri`` fit for a log line: a password in a database URI is masked."""
    url = _database_url(uri)
    return url.render_as_string(hide_password=True) if url is not None else uri


def _refuse_password_in(uri: str | None) -> None:
    # the users database's URI is written to the auth ini, and URIs are easily logged or shown
    url = _database_url(uri) if uri else None
    if url is not None and url.password:
        raise TeamServerError(
            f"{redacted(uri)}: no password in a store URI; put it in the credentials' database_password"
        )


def auth_config_text(auth_database_uri: str, admin_username: str) -> str:
    # No admin_password here: mlflow takes it from MLFLOW_AUTH_ADMIN_PASSWORD, so the file holds no secret.
    return "\n".join(
        [
            "# Written by `python -m lakehouse_mlops.platform.team_server serve`: edits are overwritten.",
            "[mlflow]",
            "# Nobody gets anything that was not granted (mlflow's default is READ for everyone).",
            "default_permission = NO_PERMISSIONS",
            f"database_uri = {auth_database_uri}",
            f"admin_username = {admin_username}",
            f"authorization_function = {AUTHORIZATION_FUNCTION}",
            "grant_default_workspace_access = false",
            f"auth_cache_ttl_seconds = {AUTH_CACHE_SECONDS}",
            "",
            "# Read by lakehouse_mlops.platform.team_auth: moving these aliases needs MANAGE on the model.",
            "[lakehouse_mlops]",
            f"protected_aliases = {', '.join(PROTECTED_ALIASES)}",
            "",
        ]
    )


def write_auth_config(options: ServerOptions, admin_username: str) -> Path:
    options.folder.mkdir(parents=True, exist_ok=True)
    options.folder.chmod(0o700)  # password hashes, runs and models: the server's user only
    path = options.folder / "basic_auth.ini"
    path.write_text(auth_config_text(options.auth_database_uri, admin_username))
    return path


def server_command(options: ServerOptions) -> list[str]:
    """The ``mlflow server`` command line: no secret on it (anyone can read it with ``ps``)."""
    command = [
        sys.executable, "-m", "mlflow", "server",
        "--app-name", "basic-auth",
        "--host", HOST,
        "--port", str(options.port),
        "--workers", str(options.workers),
        "--serve-artifacts",
        "--artifacts-destination", options.artifacts_destination,
    ]  # fmt: skip
    if options.allowed_hosts:
        command += ["--allowed-hosts", options.allowed_hosts]
    return command


def server_environment(
    options: ServerOptions, secrets: ServerSecrets, auth_config: Path, base: Mapping[str, str] = os.environ
) -> dict[str, str]:
    """The server's environment: where its ini is, its store (a URI may carry a password), the secrets."""
    environ = {k: v for k, v in base.items() if k not in (USERNAME_VAR, PASSWORD_VAR)}
    environ.update(
        {
            MLFLOW_AUTH_CONFIG_PATH.name: str(auth_config),
            BACKEND_STORE_VAR: options.backend_store_uri,
            MLFLOW_AUTH_ADMIN_PASSWORD.name: secrets.admin_password.get_secret_value(),
            MLFLOW_FLASK_SERVER_SECRET_KEY.name: secrets.flask_secret_key.get_secret_value(),
        }
    )
    # mlflow's job runner (GenAI scorers, online scoring) is a second process a tracking server
    # does not need
    environ.setdefault("MLFLOW_SERVER_ENABLE_JOB_EXECUTION", "false")
    if secrets.database_password is not None:
        environ["PGPASSWORD"] = secrets.database_password.get_secret_value()
    return environ


def start_server(options: ServerOptions, secrets: ServerSecrets) -> subprocess.Popen:
    auth_config = write_auth_config(options, secrets.admin_username)
    if "://" not in options.artifacts_destination:
        Path(options.artifacts_destination).mkdir(parents=True, exist_ok=True)
    logger.info(
        "starting the team MLflow server on %s: store %s, users %s, artifacts %s",
        options.url, redacted(options.backend_store_uri), redacted(options.auth_database_uri),
        options.artifacts_destination,
    )  # fmt: skip
    return subprocess.Popen(server_command(options), env=server_environment(options, secrets, auth_config))


def wait_until_healthy(url: str, process: subprocess.Popen | None = None, timeout: float = 180) -> None:
    """Until ``url`` answers its health check; fails at once if ``process`` (the server) exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise TeamServerError(
                f"mlflow server exited with code {process.returncode}: see its output above"
            )
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    raise TeamServerError(f"{url}/health did not answer within {timeout:.0f} s")


@contextmanager
def signed_in(username: str, password: SecretStr | str) -> Iterator[None]:
    """MLflow clients in this block call servers as ``username``: MLflow reads these variables at
    every request. The previous values come back afterwards."""
    secret = password.get_secret_value() if isinstance(password, SecretStr) else password
    names = (USERNAME_VAR, PASSWORD_VAR)
    saved = {name: os.environ.get(name) for name in names}
    os.environ.update(dict(zip(names, (username, secret), strict=True)))
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _error_is(exc: MlflowException, code: int) -> bool:
    return exc.error_code == ErrorCode.Name(code)


def ensure_experiment(client: MlflowClient, name: str) -> str:
    experiment = client.get_experiment_by_name(name)
    if experiment is None:
        return client.create_experiment(name)
    if experiment.lifecycle_stage == "deleted":
        client.restore_experiment(experiment.experiment_id)
    return experiment.experiment_id


def ensure_registered_model(client: MlflowClient, name: str) -> None:
    try:
        client.get_registered_model(name)
    except MlflowException as exc:
        if not _error_is(exc, RESOURCE_DOES_NOT_EXIST):
            raise
        client.create_registered_model(name)


def ensure_user(auth_client, username: str, password: SecretStr) -> str:
    """Create ``username``, or give it ``password`` if it exists (how passwords are rotated)."""
    # looked up first: a refused create would still cost the server a password hash
    try:
        auth_client.get_user(username)
    except MlflowException as exc:
        if not _error_is(exc, RESOURCE_DOES_NOT_EXIST):
            raise
        auth_client.create_user(username, password.get_secret_value())
        return "created"
    auth_client.update_user_password(username, password.get_secret_value())
    return "updated"


def ensure_grant(auth_client, username: str, resource_type: str, resource_id: str, permission: str) -> None:
    """mlflow refuses a second grant on one resource: a changed level replaces the old grant."""
    try:
        auth_client.grant_user_permission(username, resource_type, resource_id, permission)
        return
    except MlflowException as exc:
        if not _error_is(exc, RESOURCE_ALREADY_EXISTS):
            raise
    if auth_client.get_user_permission(username, resource_type, resource_id).permission != permission:
        auth_client.revoke_user_permission(username, resource_type, resource_id)
        auth_client.grant_user_permission(username, resource_type, resource_id, permission)


def grant_role(auth_client, username: str, role: str, experiment_id: str, model: str) -> None:
    targets = {"experiment": experiment_id, "registered_model": model}
    for resource_type, permission in ROLE_GRANTS[role].items():
        ensure_grant(auth_client, username, resource_type, targets[resource_type], permission)


def bootstrap(url: str, secrets: ServerSecrets, names: TeamNames) -> dict[str, str]:
    """Idempotent: users (created or re-passworded), the experiment, the model, the grants.
    Returns username → what was done, for the log."""
    from mlflow.server import get_app_client  # loads mlflow's server app: only the bootstrap needs it

    done = {}
    with signed_in(secrets.admin_username, secrets.admin_password):
        client = MlflowClient(tracking_uri=url, registry_uri=url)
        try:
            experiment_id = ensure_experiment(client, names.experiment)
        except MlflowException as exc:
            raise TeamServerError(
                f"bootstrap as '{secrets.admin_username}' failed: {exc.message.splitlines()[0]} "
                "(a 401: admin_password in the credentials is not the admin's current password)"
            ) from exc
        ensure_registered_model(client, names.model)
        auth_client = get_app_client("basic-auth", tracking_uri=url)
        for username, user in secrets.users.items():
            action = ensure_user(auth_client, username, user.password)
            grant_role(auth_client, username, user.role, experiment_id, names.model)
            done[username] = f"{action}, role {user.role}"
    return done


def _exit_on_sigterm(signum, _frame) -> None:
    raise SystemExit(128 + signum)


def stop(process: subprocess.Popen) -> None:
    """Stop the server; it passes the signal on to its workers and waits for them."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def serve(project: Path, env: str, options: ServerOptions) -> int:
    """Start, bootstrap, then run until the server exits or this process is stopped (Ctrl-C, SIGTERM):
    the server never outlives this process, even when it is stopped half-way through the bootstrap."""
    secrets = load_secrets(project, env)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    process = start_server(options, secrets)
    try:
        import mlflow.server  # noqa: F401 - the bootstrap's client: loaded while the server starts

        names = team_names(project, env)
        wait_until_healthy(options.url, process)
        done = bootstrap(options.url, secrets, names)
        if not secrets.users:
            logger.warning("no users in credentials entry '%s': only the admin can log in", CREDENTIALS_ENTRY)
        logger.info(
            "%s %s: experiment '%s', model '%s', users %s",
            READY_MESSAGE, options.url, names.experiment, names.model, done or "none",
        )  # fmt: skip
        return process.wait()
    finally:
        stop(process)


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m lakehouse_mlops.platform.team_server", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--project", type=Path, default=Path.cwd(), help="project folder (default: here)")
    parser.add_argument("--env", default=DEFAULT_ENV, help="Kedro env naming experiment, model, URL")
    commands = parser.add_subparsers(metavar="{serve,bootstrap}", required=True)
    run = commands.add_parser("serve", help="start the server on 127.0.0.1 and bootstrap it")
    run.set_defaults(command="serve")
    run.add_argument("--port", type=int, help="default: the port of the env's tracking URI")
    run.add_argument("--folder", type=Path, help=f"server files (default: <project>/{SERVER_FOLDER})")
    run.add_argument("--backend-store-uri", help="default: a SQLite file in the folder")
    run.add_argument(
        "--auth-database-uri", help="the users and grants (default: a SQLite file in the folder)"
    )
    run.add_argument("--artifacts-destination", help="default: artifacts/ in the folder")
    run.add_argument("--workers", type=int, default=2)
    run.add_argument("--allowed-hosts", help="Host headers to accept, e.g. the reverse proxy's name")
    again = commands.add_parser("bootstrap", help="users, grants, experiment, model on a running server")
    again.set_defaults(command="bootstrap")
    again.add_argument("--url", help="default: the env's tracking URI")
    return parser.parse_args(argv)


def _log_to_stderr() -> None:
    """One plain line per message, flushed at once: the ready line is what scripts wait for. Its own
    handler, not Kedro's logging config (rich, wrapped, or buffered on stdout)."""
    # importing it applies Kedro's logging config, which resets the handlers of this logger: first
    import kedro.framework.project  # noqa: F401

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False


def main(argv: list[str] | None = None) -> int:
    _log_to_stderr()
    args = _arguments(argv)
    project = args.project.resolve()
    try:
        if args.command == "bootstrap":
            names = team_names(project, args.env)
            url = args.url or names.tracking_uri
            # MLflow's client would retry a server that is not there for minutes
            wait_until_healthy(url, timeout=10)
            done = bootstrap(url, load_secrets(project, args.env), names)
            logger.info("bootstrapped %s: users %s", url, done or "none")
            return 0
        options = server_options(
            project,
            port=args.port or default_port(team_names(project, args.env).tracking_uri),
            folder=args.folder,
            backend_store_uri=args.backend_store_uri,
            auth_database_uri=args.auth_database_uri,
            artifacts_destination=args.artifacts_destination,
            workers=args.workers,
            allowed_hosts=args.allowed_hosts,
        )
        return serve(project, args.env, options)
    except LakehouseError as exc:
        # what to fix, without a stack: these are configuration and server problems, not bugs
        logger.error("%s", exc)
        return 1


if __name__ == "__main__":
    sys.exit(main())
