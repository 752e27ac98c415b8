"""Rule expressions: type the raw bronze strings and collect every rule a row fails."""

from __future__ import annotations

from collections.abc import Mapping

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from lakehouse_mlops.errors import ConfigError
from lakehouse_mlops.pipelines.ingestion.rules import ColumnRule, FeedRules

FAILURES = "_failures"
RAW = "_raw"


def failure(rule: str, column: str, value: Column | None, message: Column) -> Column:
    """One failed rule as a struct (rule, column, value, message)."""
    return F.struct(
        F.lit(rule).alias("rule"),
        F.lit(column).alias("column"),
        (value if value is not None else F.lit(None)).cast("string").alias("value"),
        message.alias("message"),
    )


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
    quoted = F.concat(F.lit("'"), raw, F.lit("'"))
    checks = [
        (value.isNotNull() & out.isNull(), "type",
         F.concat(F.lit(f"column '{name}': "), quoted, F.lit(f" is not a valid {rule.type}"))),
    ]
    if not rule.nullable:
        checks.append((value.isNull(), "not_null", F.lit(f"column '{name}' is required but empty")))
    bounds = [("min", rule.min, out < F.lit(rule.min), "below the minimum"),
              ("max", rule.max, out > F.lit(rule.max), "above the maximum"),
              ("greater_than", rule.greater_than, out <= F.lit(rule.greater_than), "not greater than")]
    for rule_name, bound, violated, words in bounds:
        if bound is not None:
            checks.append((violated, rule_name,
                           F.concat(F.lit(f"column '{name}': "), raw, F.lit(f" is {words} {bound:g}"))))
    if rule.allowed is not None:
        checks.append((~out.isin(rule.allowed), "allowed", F.concat(
            F.lit(f"column '{name}': "), quoted, F.lit(f" is not one of {rule.allowed}"))))
    if rule.pattern is not None:
        checks.append((~out.rlike(rule.pattern), "pattern", F.concat(
            F.lit(f"column '{name}': "), quoted, F.lit(f" does not match {rule.pattern}"))))
    return [F.when(cond, failure(rule_name, name, raw, msg)) for cond, rule_name, msg in checks]


def reference_failure(name: str, rule: ColumnRule, raw: Column, out: Column, found: Column) -> Column:
    known = out.isin(rule.also_known) if rule.also_known else F.lit(False)
    message = F.concat(F.lit(f"column '{name}': '"), raw,
                       F.lit(f"' is not a known {rule.references}"))
    return F.when(out.isNotNull() & found.isNull() & ~known,
                  failure("references", name, raw, message))


def derived_value(name: str, parts: list[str], kind: str) -> Column:
    if kind == "make_date":
        text = F.concat_ws("-", *[F.col(p).cast("string") for p in parts])
        return F.try_to_date(text, "y-M-d")
    return F.concat_ws("|", *[F.col(p).cast("string") for p in parts])


def classify(rows: DataFrame, feed: FeedRules, references: Mapping[str, DataFrame],
             null_tokens: list[str]) -> DataFrame:
    """Typed columns + ``_raw`` (the raw values) + ``_failures`` (every rule the row failed).

    Malformed lines (wrong number of fields, blank, invalid UTF-8) fail only that rule: their
    other values are not trustworthy enough to check.
    """
    raw_cols = list(feed.columns)
    rows = rows.withColumn(RAW, F.struct(*[F.col(c) for c in raw_cols], F.col("_rescued_data")))
    failures: list[Column] = []
    for name, rule in feed.columns.items():
        raw = F.col(f"{RAW}.`{name}`")
        value = cleaned(raw, null_tokens)
        rows = rows.withColumn(name, typed(value, rule))
        failures += column_failures(name, rule, raw, value, F.col(name))
        if rule.references:
            rows, found = _join_reference(rows, name, rule, references)
            failures.append(reference_failure(name, rule, raw, F.col(name), found))
    for name, derived in feed.derived.items():
        kind = "make_date" if derived.make_date else "concat_key"
        parts = derived.make_date or derived.concat_key
        rows = rows.withColumn(name, derived_value(name, parts, kind))
        if kind == "make_date":
            shown = F.concat_ws("-", *[F.col(f"{RAW}.`{p}`") for p in parts])
            failures.append(F.when(
                F.col(name).isNull() & F.greatest(*[F.col(p).isNotNull() for p in parts]),
                failure("valid_date", "/".join(parts), shown,
                        F.concat(F.lit(f"columns {'/'.join(parts)}: '"), shown,
                                 F.lit("' is not a valid calendar date")))))
    malformed = _malformed_failure(raw_cols)
    checked = F.array_compact(F.array(*failures))
    rows = rows.withColumn(
        FAILURES, F.when(malformed.isNotNull(), F.array(malformed)).otherwise(checked)
    )
    return rows.drop(*[c for c in rows.columns if c.startswith("_ref_")])


def _malformed_failure(raw_cols: list[str]) -> Column:
    joined = F.concat_ws(",", *[F.col(f"{RAW}.`{c}`") for c in raw_cols])
    corrupt = F.col("_corrupt_record")
    return (
        F.when(corrupt == "", failure("well_formed", "*", corrupt, F.lit("blank line")))
        .when(corrupt.isNotNull(), failure("well_formed", "*", corrupt, F.lit(
            f"line does not have the header's {len(raw_cols)} fields "
            "(truncated line or extra delimiter)")))
        .when(~F.is_valid_utf8(F.coalesce(joined, F.lit(""))), failure(
            "encoding", "*", F.lit(None),
            F.lit("line holds bytes that are not valid UTF-8 (the file must be UTF-8 encoded)")))
    )


def _join_reference(rows: DataFrame, name: str, rule: ColumnRule,
                    references: Mapping[str, DataFrame]) -> tuple[DataFrame, Column]:
    feed, column = rule.reference_feed, rule.reference_column
    if feed not in references or references[feed] is None:
        raise ConfigError(
            f"column '{name}' references '{rule.references}' but table '{feed}' was not given "
            "to the validation node (see pipelines/ingestion/pipeline.py REFERENCES)"
        )
    flag = f"_ref_{name}"
    keys = references[feed].select(F.col(column).alias(flag)).distinct()
    joined = rows.join(keys, rows[name] == keys[flag], "left")
    return joined, F.col(flag)
