"""A real Spark standalone cluster on this machine, from the installed pyspark, and submission of the
packaged project to it.

``python -m lakehouse_mlops.platform.standalone_cluster up`` starts a master and two workers bound to
127.0.0.1; ``submit -- <command> <args>`` runs the packaged project (``dist/``: wheel, its ``.zip``
for ``--py-files``, conf tarball, entry script) with ``spark-submit`` in client mode (the only mode
for Python apps on standalone); ``down`` stops the daemons; ``status`` prints the master's view.

Everything binds to 127.0.0.1. The daemons are the same classes a multi-host cluster runs
(``deploy.master.Master``, ``deploy.worker.Worker``); only their host names differ there.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pyspark

from lakehouse_mlops.platform.spark_session import cached_delta_jars, delta_maven_coordinates

SPARK_HOME = Path(pyspark.__file__).parent
LOCALHOST = "127.0.0.1"


@dataclass(frozen=True)
class ClusterSpec:
    state_dir: Path = Path(".cluster")
    master_port: int = 7077
    ui_port: int = 8080
    workers: int = 2
    worker_cores: int = 1
    worker_memory: str = "4g"
    #: worker UIs on consecutive ports from here; 0 lets each worker pick a free one
    worker_ui_port: int = 8081

    @property
    def master_url(self) -> str:
        return f"spark://{LOCALHOST}:{self.master_port}"

    @property
    def master_json(self) -> str:
        return f"http://{LOCALHOST}:{self.ui_port}/json/"


def daemon_env() -> dict[str, str]:
    # SPARK_LOCAL_IP makes the web UIs bind to loopback too (they default to every interface).
    return {**os.environ, "SPARK_HOME": str(SPARK_HOME), "SPARK_LOCAL_IP": LOCALHOST}


def master_state(spec: ClusterSpec) -> dict | None:
    """The master's JSON view (workers, running and completed applications), None when it is down."""
    try:
        with urllib.request.urlopen(spec.master_json, timeout=5) as response:
            return json.load(response)
    except (urllib.error.URLError, ConnectionError, TimeoutError, ValueError):
        return None


def alive_workers(state: dict | None) -> list[dict]:
    return [w for w in (state or {}).get("workers", []) if w.get("state") == "ALIVE"]


def _start(name: str, args: list[str], spec: ClusterSpec) -> None:
    log = (spec.state_dir / f"{name}.log").open("w")
    process = subprocess.Popen(
        [str(SPARK_HOME / "bin" / "spark-class"), *args],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=daemon_env(),
        start_new_session=True,  # `down` stops the whole process group, and Ctrl-C here does not
    )
    (spec.state_dir / f"{name}.pid").write_text(str(process.pid))


def _wait(condition, what: str, spec: ClusterSpec, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = master_state(spec)
        if condition(state):
            return state
        time.sleep(1)
    raise TimeoutError(f"{what} within {timeout:.0f} s: see the logs in {spec.state_dir}/")


def up(spec: ClusterSpec, timeout: float = 120) -> dict:
    """Start the master and the workers (a no-op when they are already up); wait until all are alive."""
    if len(alive_workers(master_state(spec))) >= spec.workers:
        return master_state(spec)
    spec.state_dir.mkdir(parents=True, exist_ok=True)
    master = "org.apache.spark.deploy.master.Master"
    worker = "org.apache.spark.deploy.worker.Worker"
    _start(
        "master",
        [master, "--host", LOCALHOST, "--port", str(spec.master_port), "--webui-port", str(spec.ui_port)],
        spec,
    )
    _wait(lambda state: state is not None, "the master did not answer", spec, timeout)
    for index in range(1, spec.workers + 1):
        work_dir = (spec.state_dir / f"worker-{index}").resolve()
        work_dir.mkdir(exist_ok=True)
        _start(
            f"worker-{index}",
            [
                worker,
                "--host", LOCALHOST,
                "--cores", str(spec.worker_cores),
                "--memory", spec.worker_memory,
                "--webui-port", str(spec.worker_ui_port and spec.worker_ui_port + index - 1),
                "--work-dir", str(work_dir),
                spec.master_url,
            ],
            spec,
        )  # fmt: skip
    return _wait(
        lambda state: len(alive_workers(state)) >= spec.workers,
        f"{spec.workers} workers did not register",
        spec,
        timeout,
    )


def down(spec: ClusterSpec, timeout: float = 30) -> list[str]:
    """Stop the workers, then the master; returns the daemons stopped."""
    stopped = []
    pid_files = sorted(spec.state_dir.glob("worker-*.pid")) + sorted(spec.state_dir.glob("master.pid"))
    for pid_file in pid_files:
        pid = int(pid_file.read_text())
        _stop_group(pid, timeout)
        pid_file.unlink()
        stopped.append(pid_file.stem)
    return stopped


def _stop_group(pid: int, timeout: float) -> None:
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _reap(pid)
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.5)
    os.killpg(pid, signal.SIGKILL)
    _reap(pid)


def _reap(pid: int) -> None:
    """Collect the daemon's exit status when this process started it: an exited child stays a zombie
    in its process group until then, and the group would look alive until the timeout."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:  # started by another process (`make cluster-up`): init reaps it
        pass


# -- submission -----------------------------------------------------------------------------------
def packaged(dist: Path) -> dict[str, Path]:
    """The deployable files ``make package`` leaves in ``dist`` (fails clearly when one is missing)."""
    files = {
        "py_files": sorted(dist.glob("lakehouse_mlops-*.zip")),
        "conf": sorted(dist.glob("conf-lakehouse_mlops.tar.gz")),
        "entrypoint": sorted(dist.glob("entrypoint.py")),
        "log_config": sorted(dist.glob("log4j2.properties")),
    }
    missing = [name for name, found in files.items() if not found]
    if missing:
        raise FileNotFoundError(f"{dist}/ lacks the packaged {', '.join(missing)}: run `make package` first")
    return {name: found[-1].resolve() for name, found in files.items()}


def delta_jars_option() -> list[str]:
    """The driver JVM starts before Python asks for Delta, so its JARs go on the command line."""
    cached = cached_delta_jars()
    return ["--jars", ",".join(cached)] if cached else ["--packages", delta_maven_coordinates()]


def submit_command(
    spec: ClusterSpec, dist: Path, args: list[str], python: str, driver_memory: str = "4g"
) -> list[str]:
    files = packaged(dist)
    command_args = list(args)
    if "--conf-source" not in command_args:
        command_args += ["--conf-source", str(files["conf"])]
    return [
        str(SPARK_HOME / "bin" / "spark-submit"),
        "--master", spec.master_url,
        "--deploy-mode", "client",
        "--name", f"lakehouse-mlops {' '.join(args[:2])}",
        "--driver-memory", driver_memory,
        "--driver-java-options", f"-Dlog4j2.configurationFile=file:{files['log_config']}",
        "--py-files", str(files["py_files"]),
        "--conf", f"spark.pyspark.python={python}",
        "--conf", f"spark.pyspark.driver.python={python}",
        *delta_jars_option(),
        str(files["entrypoint"]),
        *command_args,
    ]  # fmt: skip


def submit_env(python: str) -> dict[str, str]:
    return {
        **daemon_env(),
        "PYSPARK_PYTHON": python,
        "PYSPARK_DRIVER_PYTHON": python,
        "KEDRO_DISABLE_TELEMETRY": "1",
    }


def submit(spec: ClusterSpec, dist: Path, args: list[str], workdir: Path, python: str) -> int:
    """Run the packaged project's command ``args`` on the cluster from ``workdir`` (the shared path)."""
    if not alive_workers(master_state(spec)):
        raise RuntimeError(f"no Spark master with workers at {spec.master_url}: run `make cluster-up`")
    workdir.mkdir(parents=True, exist_ok=True)
    command = submit_command(spec, dist, args, python)
    return subprocess.run(command, cwd=workdir, env=submit_env(python), check=False).returncode


def _spec(options: argparse.Namespace) -> ClusterSpec:
    return ClusterSpec(
        state_dir=Path(options.state_dir),
        master_port=options.master_port,
        ui_port=options.ui_port,
        workers=options.workers,
        worker_memory=options.worker_memory,
    )


def main(argv: list[str] | None = None) -> int:
    env = os.environ.get
    parser = argparse.ArgumentParser(
        prog="python -m lakehouse_mlops.platform.standalone_cluster",
        description=__doc__,
        epilog="submit: the packaged project's command and its arguments follow `--`",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("action", choices=["up", "down", "status", "submit"])
    parser.add_argument("--state-dir", default=env("CLUSTER_STATE_DIR", ".cluster"))
    parser.add_argument("--master-port", type=int, default=int(env("CLUSTER_MASTER_PORT", "7077")))
    parser.add_argument("--ui-port", type=int, default=int(env("CLUSTER_UI_PORT", "8080")))
    parser.add_argument("--workers", type=int, default=int(env("CLUSTER_WORKERS", "2")))
    parser.add_argument("--worker-memory", default=env("CLUSTER_WORKER_MEMORY", "4g"))
    parser.add_argument("--dist", default="dist", help="submit: folder with the packaged project")
    parser.add_argument(
        "--workdir", default=env("CLUSTER_WORKDIR", "data/cluster"), help="submit: run folder"
    )
    parser.add_argument(
        "--python", default=sys.executable, help="submit: interpreter of driver and executors"
    )
    argv = sys.argv[1:] if argv is None else argv
    # Everything after `--` belongs to the packaged project's command line, untouched.
    split = argv.index("--") if "--" in argv else len(argv)
    options = parser.parse_args(argv[:split])
    options.args = argv[split + 1 :]
    spec = _spec(options)
    if options.action == "up":
        state = up(spec)
        workers = len(alive_workers(state))
        print(f"Spark master {spec.master_url} with {workers} workers; UI http://{LOCALHOST}:{spec.ui_port}")
    elif options.action == "down":
        print(f"stopped: {', '.join(down(spec)) or 'nothing was running'}")
    elif options.action == "status":
        state = master_state(spec)
        print(json.dumps(state, indent=2) if state else f"no master at {spec.master_url}")
    else:
        return submit(spec, Path(options.dist), options.args, Path(options.workdir).resolve(), options.python)
    return 0


if __name__ == "__main__":
    sys.exit(main())
