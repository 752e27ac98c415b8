"""Run the packaged project: ``lakehouse-mlops`` / ``python -m lakehouse_mlops`` / spark-submit.

Without a command (or with ``run``) it is Kedro's packaged ``run`` (``--pipelines ingestion --env cluster
--conf-source conf-lakehouse_mlops.tar.gz``); with an operator command as first argument (``cycle``,
``replay``, ``history``, ``land``, ``tables``, ``status``, ``promote``, ``rollback``, ...) it runs that
command, so a deployment needs no project checkout.
"""

import sys
from pathlib import Path
from typing import Any

from kedro.framework.cli.project import run as kedro_run
from kedro.framework.project import configure_project


def main(*args: Any, **kwargs: Any) -> Any:
    package_name = Path(__file__).parent.name
    configure_project(package_name)
    kwargs["standalone_mode"] = not hasattr(sys, "ps1")
    argv = list(args[0]) if args else sys.argv[1:]
    from lakehouse_mlops.ops.cli import cli

    if argv and argv[0] in cli.commands:
        return cli.main(argv, prog_name=package_name, **kwargs)
    # Kedro's own `run` (find_run_command would look for a `run` in our cli.py, which has none).
    return kedro_run.main(argv[1:] if argv[:1] == ["run"] else argv, prog_name=package_name, **kwargs)


if __name__ == "__main__":
    main()
