"""Validation rules of the landing feeds, parsed once from the use case's ``parameters_ingestion.yml``."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import model_validator

from lakehouse_mlops.framework.config import StrictModel, parse_config
from lakehouse_mlops.framework.errors import ConfigError

SOURCE = "conf/base/usecases/<name>/parameters_ingestion.yml (key 'ingestion')"

ColumnType = Literal["string", "int", "long", "double", "timestamp", "date"]


class ColumnRule(StrictModel):
    """How one source column is typed and what values it may hold."""

    type: ColumnType = "string"
    nullable: bool = True
    min: float | None = None
    max: float | None = None
    greater_than: float | None = None
    allowed: list[str] | None = None
    pattern: str | None = None
    hhmm: bool = False
    format: str | None = None
    references: str | None = None
    also_known: list[str] = []
    description: str | None = None

    @model_validator(mode="after")
    def _reference_is_table_dot_column(self) -> ColumnRule:
        if self.references is not None and self.references.count(".") != 1:
            raise ValueError(f"references '{self.references}' must be '<feed>.<column>'")
        return self

    @model_validator(mode="after")
    def _hhmm_is_a_number(self) -> ColumnRule:
        if self.hhmm and self.type not in ("int", "long"):
            raise ValueError(f"hhmm needs type int or long (got {self.type})")
        return self

    @property
    def reference_feed(self) -> str | None:
        return self.references.split(".")[0] if self.references else None

    @property
    def reference_column(self) -> str | None:
        return self.references.split(".")[1] if self.references else None


class DerivedColumn(StrictModel):
    """A column computed from source columns: a calendar date or a composite key."""

    make_date: list[str] | None = None
    concat_key: list[str] | None = None
    description: str | None = None

    @model_validator(mode="after")
    def _exactly_one_kind(self) -> DerivedColumn:
        kinds = [k for k in ("make_date", "concat_key") if getattr(self, k) is not None]
        if len(kinds) != 1:
            raise ValueError(f"give exactly one of make_date / concat_key (got {kinds or 'none'})")
        if self.make_date is not None and len(self.make_date) != 3:
            raise ValueError("make_date needs [year, month, day] columns")
        return self


class FeedRules(StrictModel):
    """Columns, derived columns and business key of one feed."""

    key: list[str]
    columns: dict[str, ColumnRule]
    derived: dict[str, DerivedColumn] = {}
    #: ``every_batch``: a batch without this feed is an alarm (monitoring's ``feed_missing``);
    #: ``once``: reference data that lands with one batch and is not expected again
    arrives: Literal["every_batch", "once"] = "every_batch"

    @model_validator(mode="after")
    def _key_columns_exist(self) -> FeedRules:
        known = set(self.columns) | set(self.derived)
        missing = [k for k in self.key if k not in known]
        if missing:
            raise ValueError(f"key columns {missing} are neither columns nor derived columns")
        return self

    @property
    def referenced_feeds(self) -> set[str]:
        return {r.reference_feed for r in self.columns.values() if r.reference_feed}


class IngestionRules(StrictModel):
    """All landing feeds plus the CSV conventions of the source systems."""

    delimiter: str = ","
    null_tokens: list[str] = ["", "NA", "NULL"]
    feeds: dict[str, FeedRules]

    @property
    def arrivals(self) -> dict[str, str]:
        """feed → how it arrives (``every_batch`` or ``once``)."""
        return {name: rules.arrives for name, rules in self.feeds.items()}

    def feed(self, name: str) -> FeedRules:
        if name not in self.feeds:
            raise ConfigError(f"{SOURCE}: no rules for feed '{name}' (known: {sorted(self.feeds)})")
        return self.feeds[name]


def parse_rules(raw: dict[str, Any]) -> IngestionRules:
    """Parse the ``ingestion`` parameters; unknown keys and bad values name the file and key."""
    return parse_config(IngestionRules, raw, SOURCE)
