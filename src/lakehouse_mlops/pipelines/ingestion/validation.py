"""Rule expressions: type the raw bronze strings and collect every rule a row fails."""

from __future__ import annotations

from collections.abc import Mapping
from functools import reduce

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from lakehouse_mlops.framework.errors import ConfigError
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


def failure(rule: str, column: str, value: Column | None, message: Column) -> Column:
    """One failed rule as a struct (rule, column, value, message); the value shortened."""
    return shown_failure(rule, column, shown(value) if value is not None else None, message)


def shown_failure(rule: str, column: str, shown_value: Column | None, message: Column) -> Column:
    """``failure`` of a value already shortened by ``shown``: a column with several rules builds that
    expression once (every expression is a call into the JVM: thousands per feed otherwise)."""
    return F.struct(
        F.lit(rule).alias("rule"),
        F.lit(column).alias("column"),
        (shown_value if shown_value is not None else F.lit(None).cast("string")).alias("value"),
        message.alias("message"),
    )


def shown(raw: Column) -> Column:
    """The value as quoted in a reason: whole when short, else its start and its length."""
    text = raw.cast("string")
    return F.when(
        F.length(text) > SHOWN_VALUE_CHARS,
        F.concat(
            F.substring(text, 1, SHOWN_VALUE_CHARS),
            F.lit("… ("),
            F.length(text).cast("string"),
            F.lit(" characters)"),
        ),
    ).otherwise(text)


def cleaned(raw: Column, null_tokens: list[str]) -> Column:
    """The raw string with null tokens (e.g. '' and 'NA') turned into nulls."""
    trimmed = F.trim(raw)
    return F.when(trimmed.isin(null_tokens), F.lit(None)).otherwise(trimmed)


def typed(value: Column, rule: ColumnRule) -> Column:
    """The cleaned string cast to the declared type; null when it does not parse."""
    if rule.type == "string":
        return value
    if rule.type == "timestamp":
        return F.try_to_timestamp(value, F.lit(rule.format)) if rule.format else value.try_cast("timestamp")
    if rule.type == "date":
        return F.try_to_date(value, rule.format) if rule.format else value.try_cast("date")
    return value.try_cast(rule.type)


def column_failures(name: str, rule: ColumnRule, raw: Column, value: Column, out: Column) -> list[Column]:
    """Struct-or-null expressions, one per rule of the column that can fail."""
    text = shown(raw)
    quoted = F.concat(F.lit("'"), text, F.lit("'"))
    checks = [
        (
            value.isNotNull() & out.isNull(),
            "type",
            F.concat(F.lit(f"column '{name}': "), quoted, F.lit(f" is not a valid {rule.type}")),
        ),
    ]
    if not rule.nullable:
        checks.append((value.isNull(), "not_null", F.lit(f"column '{name}' is required but empty")))
    bounds = [
        ("min", rule.min, out < F.lit(rule.min), "below the minimum"),
        ("max", rule.max, out > F.lit(rule.max), "above the maximum"),
        ("greater_than", rule.greater_than, out <= F.lit(rule.greater_than), "not greater than"),
    ]
    for rule_name, bound, violated, words in bounds:
        if bound is not None:
            checks.append(
                (
                    violated,
                    rule_name,
                    F.concat(F.lit(f"column '{name}': "), text, F.lit(f" is {words} {bound:g}")),
                )
            )
    if rule.hhmm:
        checks.append(
            (
                (out < 0) | (out > 2400) | (out % 100 >= 60),
                "hhmm",
                F.concat(F.lit(f"column '{name}': "), quoted, F.lit(" is not a time of day as HHMM")),
            )
        )
    if rule.allowed is not None:
        checks.append(
            (
                ~out.isin(rule.allowed),
                "allowed",
                F.concat(F.lit(f"column '{name}': "), quoted, F.lit(f" is not one of {rule.allowed}")),
            )
        )
    if rule.pattern is not None:
        checks.append(
            (
                ~out.rlike(rule.pattern),
                "pattern",
                F.concat(F.lit(f"column '{name}': "), quoted, F.lit(f" does not match {rule.pattern}")),
            )
        )
    return [F.when(cond, shown_failure(rule_name, name, text, msg)) for cond, rule_name, msg in checks]


def reference_failure(name: str, rule: ColumnRule, raw: Column, out: Column, found: Column) -> Column:
    known = out.isin(rule.also_known) if rule.also_known else F.lit(False)
    text = shown(raw)
    message = F.concat(F.lit(f"column '{name}': '"), text, F.lit(f"' is not a known {rule.references}"))
    return F.when(out.isNotNull() & found.isNull() & ~known, shown_failure("references", name, text, message))


def derived_value(parts: list[str], kind: str) -> Column:
    if kind == "make_date":
        text = F.concat_ws("-", *[F.col(p).cast("string") for p in parts])
        return F.try_to_date(text, "y-M-d")
    return F.concat_ws("|", *[F.col(p).cast("string") for p in parts])


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
    rows = rows.select(
        *lineage,
        F.struct(*[F.col(c) for c in raw_cols], F.col("_rescued_data")).alias(RAW),
        *[cleaned(F.col(c), null_tokens).alias(f"_clean_{c}") for c in raw_cols],
    )
    rows = rows.select("*", *[typed(F.col(f"_clean_{c}"), r).alias(c) for c, r in feed.columns.items()])
    rows = _add_derived(rows, feed)
    failures: list[Column] = []
    for name, rule in feed.columns.items():
        raw = F.col(f"{RAW}.`{name}`")
        failures += column_failures(name, rule, raw, F.col(f"_clean_{name}"), F.col(name))
        if rule.references:
            rows, found = _join_reference(rows, name, rule, references)
            failures.append(reference_failure(name, rule, raw, F.col(name), found))
    failures += _derived_failures(feed)
    checked = F.array_compact(F.array(*failures))
    malformed = _malformed_failure(raw_cols)
    rows = rows.withColumn(FAILURES, F.when(malformed.isNotNull(), F.array(malformed)).otherwise(checked))
    helpers = [c for c in rows.columns if c.startswith(("_ref_", "_clean_"))]
    return rows.drop(*helpers)


def _add_derived(rows: DataFrame, feed: FeedRules) -> DataFrame:
    for name, derived in feed.derived.items():  # in order: a key may use a derived date
        kind = "make_date" if derived.make_date else "concat_key"
        rows = rows.withColumn(name, derived_value(derived.make_date or derived.concat_key, kind))
    return rows


def _derived_failures(feed: FeedRules) -> list[Column]:
    failures = []
    for name, derived in feed.derived.items():
        if not derived.make_date:
            continue
        parts = derived.make_date
        shown = F.concat_ws("-", *[F.col(f"{RAW}.`{p}`") for p in parts])
        all_given = reduce(lambda a, b: a & b, [F.col(p).isNotNull() for p in parts])
        failures.append(
            F.when(
                F.col(name).isNull() & all_given,
                failure(
                    "valid_date",
                    "/".join(parts),
                    shown,
                    F.concat(
                        F.lit(f"columns {'/'.join(parts)}: '"),
                        shown,
                        F.lit("' is not a valid calendar date"),
                    ),
                ),
            )
        )
    return failures


def _malformed_failure(raw_cols: list[str]) -> Column:
    kind, line = F.col("_malformed"), shown(F.col("_corrupt_record"))
    fields = f"line does not have the header's {len(raw_cols)} fields (truncated line or extra delimiter)"
    encoding = "line holds bytes that are not valid UTF-8 (the file must be UTF-8 encoded)"
    return (
        F.when(kind == MALFORMED_BLANK, shown_failure("well_formed", "*", line, F.lit("blank line")))
        .when(kind == MALFORMED_FIELDS, shown_failure("well_formed", "*", line, F.lit(fields)))
        .when(kind == MALFORMED_ENCODING, shown_failure("encoding", "*", line, F.lit(encoding)))
    )


def _join_reference(
    rows: DataFrame, name: str, rule: ColumnRule, references: Mapping[str, DataFrame]
) -> tuple[DataFrame, Column]:
    feed, column = rule.reference_feed, rule.reference_column
    if feed not in references or references[feed] is None:
        raise ConfigError(
            f"column '{name}' references '{rule.references}' but table '{feed}' was not given "
            "to the validation node (the pipeline is built from the rules: is it a feed?)"
        )
    flag = f"_ref_{name}"
    keys = references[feed].select(F.col(column).alias(flag)).distinct()
    joined = rows.join(keys, rows[name] == keys[flag], "left")
    return joined, F.col(flag)
