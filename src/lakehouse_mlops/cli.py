"""Project commands for `kedro <command>` (Kedro looks for `<package>.cli.cli`); they live in `ops`."""

from lakehouse_mlops.ops.cli import cli

__all__ = ["cli"]
