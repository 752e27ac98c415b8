"""Rule expressions: type the raw bronze strings and collect every rule a row fails.

The expressions are Spark SQL text handed over in a few ``selectExpr`` calls: built with the Column
API, every ``F.col``, ``F.lit``, ``F.when`` and ``alias`` is a round trip into the JVM, ~35,000 for a
month of the reference use case (benchmarks/README.md, issue 18). Names and literals are quoted by
``framework/sql_text.py``; only the rules' conf is ever written into the text, never landed data.
"""

from __future__ import annotations

from collections.abc import Mapping

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from lakehouse_mlops.framework.errors import ConfigError
from lakehouse_mlops.framework.sql_text import sql_in, sql_name, sql_string
from lakehouse_mlops.pipelines.ingestion.bronze import (
    MALFORMED_BLANK,
    MALFORMED_ENCODING,
    MALFORMED_FIELDS,
)
from lakehouse_mlops.pipelines.ingestion.rules import ColumnRule, FeedRules

FAILURES = "_failures"
RAW = "_raw"
#: a failing value is quoted in the reason up to this many characters (the raw row keeps it whole)
SHOWN_VALUE_CHARS = 120
#: a single quote as a SQL literal (values are quoted in reasons)
QUOTE = "'\\''"
#: Spark SQL's names of the rules' types
SQL_TYPES = {"int": "INT", "long": "BIGINT", "double": "DOUBLE", "timestamp": "TIMESTAMP", "date": "DATE"}


def raw_value(name: str) -> str:
    """The raw (landed) string of a column, kept in the ``_raw`` struct."""
    return f"{sql_name(RAW)}.{sql_name(name)}"


def failure(rule: str, column: str, value: str | None, message: str) -> str:
    """One failed rule as a struct (rule, column, value, message); the value (SQL) shortened."""
    return shown_failure(rule, column, shown(value) if value is not None else None, message)


def shown_failure(rule: str, column: str, shown_value: str | None, message: str) -> str:
    """``failure`` of a value already shortened by ``shown``."""
    value = shown_value if shown_value is not None else "CAST(NULL AS STRING)"
    return (
        f"named_struct('rule', {sql_string(rule)}, 'column', {sql_string(column)}, "
        f"'value', {value}, 'message', {message})"
    )


def shown(raw: str) -> str:
    """The value as quoted in a reason: whole when short, else its start and its length."""
    text = f"CAST({raw} AS STRING)"
    return (
        f"CASE WHEN length({text}) > {SHOWN_VALUE_CHARS} THEN concat(substring({text}, 1, "
        f"{SHOWN_VALUE_CHARS}), '… (', CAST(length({text}) AS STRING), ' characters)') ELSE {text} END"
    )


def cleaned(raw: str, null_tokens: list[str]) -> str:
    """The raw string with null tokens (e.g. '' and 'NA') turned into nulls."""
    trimmed = f"trim({raw})"
    return f"CASE WHEN {sql_in(trimmed, null_tokens)} THEN NULL ELSE {trimmed} END"


def typed(value: str, rule: ColumnRule) -> str:
    """The cleaned string cast to the declared type; null when it does not parse."""
    if rule.type == "string":
        return value
    if rule.format and rule.type in ("timestamp", "date"):
        return f"try_to_{rule.type}({value}, {sql_string(rule.format)})"
    return f"try_cast({value} AS {SQL_TYPES[rule.type]})"


def column_failures(name: str, rule: ColumnRule, raw: str, value: str, out: str) -> list[str]:
    """Struct-or-null expressions, one per rule of the column that can fail."""
    text = shown(raw)
    quoted = f"concat({QUOTE}, {text}, {QUOTE})"
    about = sql_string(f"column '{name}': ")
    checks = [
        (
            f"{value} IS NOT NULL AND {out} IS NULL",
            "type",
            f"concat({about}, {quoted}, {sql_string(f' is not a valid {rule.type}')})",
        ),
    ]
    if not rule.nullable:
        checks.append((f"{value} IS NULL", "not_null", sql_string(f"column '{name}' is required but empty")))
    bounds = [
        ("min", rule.min, "<", "below the minimum"),
        ("max", rule.max, ">", "above the maximum"),
        ("greater_than", rule.greater_than, "<=", "not greater than"),
    ]
    for rule_name, bound, violated_when, words in bounds:
        if bound is not None:
            checks.append(
                (
                    f"{out} {violated_when} CAST({sql_string(repr(float(bound)))} AS DOUBLE)",
                    rule_name,
                    f"concat({about}, {text}, {sql_string(f' is {words} {bound:g}')})",
                )
            )
    if rule.hhmm:
        checks.append(
            (
                f"{out} < 0 OR {out} > 2400 OR {out} % 100 >= 60",
                "hhmm",
                f"concat({about}, {quoted}, ' is not a time of day as HHMM')",
            )
        )
    if rule.allowed is not None:
        checks.append(
            (
                f"NOT {sql_in(out, rule.allowed)}",
                "allowed",
                f"concat({about}, {quoted}, {sql_string(f' is not one of {rule.allowed}')})",
            )
        )
    if rule.pattern is not None:
        checks.append(
            (
                f"NOT ({out} RLIKE {sql_string(rule.pattern)})",
                "pattern",
                f"concat({about}, {quoted}, {sql_string(f' does not match {rule.pattern}')})",
            )
        )
    return [
        f"CASE WHEN {condition} THEN {shown_failure(rule_name, name, text, message)} END"
        for condition, rule_name, message in checks
    ]


def reference_failure(name: str, rule: ColumnRule, raw: str, out: str, found: str) -> str:
    known = sql_in(out, rule.also_known)
    text = shown(raw)
    before, after = f"column '{name}': '", f"' is not a known {rule.references}"
    message = f"concat({sql_string(before)}, {text}, {sql_string(after)})"
    return (
        f"CASE WHEN {out} IS NOT NULL AND {found} IS NULL AND NOT {known} "
        f"THEN {shown_failure('references', name, text, message)} END"
    )


def derived_value(parts: list[str], kind: str) -> str:
    texts = ", ".join(f"CAST({sql_name(p)} AS STRING)" for p in parts)
    if kind == "make_date":
        return f"try_to_date(concat_ws('-', {texts}), 'y-M-d')"
    return f"concat_ws('|', {texts})"


def classify(
    rows: DataFrame, feed: FeedRules, references: Mapping[str, DataFrame], null_tokens: list[str]
) -> DataFrame:
    """Typed columns + ``_raw`` (the raw values) + ``_failures`` (every rule the row failed).

    Malformed lines (wrong number of fields, blank, invalid UTF-8) fail only that rule: their
    other values are not trustworthy enough to check. Columns are built in a few wide selects (not
    one ``withColumn`` per rule) to keep the plan small.
    """
    raw_cols = list(feed.columns)
    lineage = [c for c in rows.columns if c.startswith("_") and c not in ("_rescued_data",)]
    raw_fields = ", ".join(f"{sql_string(c)}, {sql_name(c)}" for c in [*raw_cols, "_rescued_data"])
    rows = rows.selectExpr(
        *[sql_name(c) for c in lineage],
        f"named_struct({raw_fields}) AS {sql_name(RAW)}",
        *[f"{cleaned(sql_name(c), null_tokens)} AS {sql_name(f'_clean_{c}')}" for c in raw_cols],
    )
    rows = rows.selectExpr(
        "*", *[f"{typed(sql_name(f'_clean_{c}'), r)} AS {sql_name(c)}" for c, r in feed.columns.items()]
    )
    rows = _add_derived(rows, feed)
    failures: list[str] = []
    for name, rule in feed.columns.items():
        raw = raw_value(name)
        failures += column_failures(name, rule, raw, sql_name(f"_clean_{name}"), sql_name(name))
        if rule.references:
            rows, found = _join_reference(rows, name, rule, references)
            failures.append(reference_failure(name, rule, raw, sql_name(name), found))
    failures += _derived_failures(feed)
    malformed = _malformed_failure(raw_cols)
    checked = f"array_compact(array({', '.join(failures)}))"
    rows = rows.withColumn(
        FAILURES, F.expr(f"CASE WHEN ({malformed}) IS NOT NULL THEN array({malformed}) ELSE {checked} END")
    )
    helpers = [c for c in rows.columns if c.startswith(("_ref_", "_clean_"))]
    return rows.drop(*helpers)


def _add_derived(rows: DataFrame, feed: FeedRules) -> DataFrame:
    for name, derived in feed.derived.items():  # in order: a key may use a derived date
        kind = "make_date" if derived.make_date else "concat_key"
        rows = rows.withColumn(name, F.expr(derived_value(derived.make_date or derived.concat_key, kind)))
    return rows


def _derived_failures(feed: FeedRules) -> list[str]:
    failures = []
    for name, derived in feed.derived.items():
        if not derived.make_date:
            continue
        parts = derived.make_date
        columns = "/".join(parts)
        given = f"concat_ws('-', {', '.join(raw_value(p) for p in parts)})"
        all_given = " AND ".join(f"{sql_name(p)} IS NOT NULL" for p in parts)
        before, after = f"columns {columns}: '", "' is not a valid calendar date"
        message = f"concat({sql_string(before)}, {given}, {sql_string(after)})"
        failures.append(
            f"CASE WHEN {sql_name(name)} IS NULL AND {all_given} "
            f"THEN {failure('valid_date', columns, given, message)} END"
        )
    return failures


def _malformed_failure(raw_cols: list[str]) -> str:
    kind, line = sql_name("_malformed"), shown(sql_name("_corrupt_record"))
    fields = f"line does not have the header's {len(raw_cols)} fields (truncated line or extra delimiter)"
    encoding = "line holds bytes that are not valid UTF-8 (the file must be UTF-8 encoded)"
    cases = [
        (MALFORMED_BLANK, "well_formed", "blank line"),
        (MALFORMED_FIELDS, "well_formed", fields),
        (MALFORMED_ENCODING, "encoding", encoding),
    ]
    whens = " ".join(
        f"WHEN {kind} = {sql_string(malformed)} THEN {shown_failure(rule, '*', line, sql_string(message))}"
        for malformed, rule, message in cases
    )
    return f"CASE {whens} END"


def _join_reference(
    rows: DataFrame, name: str, rule: ColumnRule, references: Mapping[str, DataFrame]
) -> tuple[DataFrame, str]:
    feed, column = rule.reference_feed, rule.reference_column
    if feed not in references or references[feed] is None:
        raise ConfigError(
            f"column '{name}' references '{rule.references}' but table '{feed}' was not given "
            "to the validation node (the pipeline is built from the rules: is it a feed?)"
        )
    flag = f"_ref_{name}"
    keys = references[feed].select(F.col(column).alias(flag)).distinct()
    joined = rows.join(keys, rows[name] == keys[flag], "left")
    return joined, sql_name(flag)
