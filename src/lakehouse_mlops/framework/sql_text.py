"""Names and literals written into Spark SQL text, quoted once here.

Only configuration (rules, table paths, headers) is ever written into SQL text this way; data values
stay data.
"""

from __future__ import annotations


def sql_name(name: str) -> str:
    """A column, field or path as a quoted SQL identifier (backticks doubled)."""
    return "`" + name.replace("`", "``") + "`"


def sql_string(text: str) -> str:
    """A Python string as a SQL string literal (backslashes and quotes escaped)."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def sql_in(value: str, choices: list[str]) -> str:
    """``value IN (choices)``; false for no choices (``IN ()`` is not SQL)."""
    return f"({value} IN ({', '.join(sql_string(c) for c in choices)}))" if choices else "false"
