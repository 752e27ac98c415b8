"""The use-case contract: what every generic stage needs to know about a use case, declared once in
``conf/base/usecases/<name>/parameters_usecase.yml`` (key ``usecase``) and parsed into one typed object.

The gold tables a use case's pipeline writes are canonical (``gold_features``, ``gold_labels``); the
contract names their columns. Generic stages read names from here and never spell a use case's
column or table themselves.
"""

from __future__ import annotations

import functools
import importlib
import re
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from lakehouse_mlops.framework.batches import SEASON_BATCHES, Cadence
from lakehouse_mlops.framework.config import StrictModel, parse_config
from lakehouse_mlops.framework.errors import ConfigError

SOURCE = "conf/base/usecases/<name>/parameters_usecase.yml (key 'usecase')"
#: Spark reads a dot as a struct field and Delta refuses spaces and ,;{}()= in column names
UNSAFE_COLUMN = re.compile(r"[.\s,;{}()\n\t=`]")
#: metrics the gate can compare, and whether higher is better
GATE_METRICS = {
    "roc_auc": True,
    "pr_auc": True,
    "accuracy": True,
    "precision": True,
    "recall": True,
    "brier": False,
    "log_loss": False,
}
GateMetric = Literal["roc_auc", "pr_auc", "accuracy", "precision", "recall", "brier", "log_loss"]


class BatchSpec(StrictModel):
    """The column holding a row's batch id in the gold tables, and the cadence of batches."""

    column: str = "batch_id"
    cadence: Cadence = "month"


class LabelSpec(StrictModel):
    """The target column (0/1 or boolean) and when a row's label becomes known.

    ``known_after_batches``: the labels of batch B land with batch B + n. Either way ``gold_labels``
    carries ``label_known_at`` (when it became known) and ``label_batch_id`` (the batch it landed with).
    """

    column: str
    #: the name of the class the label's 1 / true stands for, used in outputs and reports
    positive: str = "positive"
    known_after_batches: int = 1


class FeatureSpec(StrictModel):
    numeric: list[str] = []
    categorical: list[str] = []

    @property
    def all(self) -> list[str]:
        return [*self.categorical, *self.numeric]

    @model_validator(mode="after")
    def _some_and_no_repeats(self) -> FeatureSpec:
        if not self.all:
            raise ValueError("declare at least one feature under numeric or categorical")
        repeated = sorted({c for c in self.all if self.all.count(c) > 1})
        if repeated:
            raise ValueError(f"features {repeated} are declared twice (numeric and categorical?)")
        return self


class ModelSpec(StrictModel):
    registered_name: str
    #: the predictions table's label column holds ``probability >= threshold`` under this name
    predicted_label: str = "predicted_label"


class GateSpec(StrictModel):
    """The promotion gate. Every metric in ``metrics`` must beat the baseline score by
    ``beat_baseline_by`` and the champion by ``beat_champion_by`` (relative bars, on the same window);
    ``absolute`` adds optional fixed bars per metric (a floor when higher is better, a ceiling for
    brier and log_loss). With ``champion_confidence``, the improvement over the champion must hold at
    that one-sided confidence (a paired test on the window); null compares the point values."""

    metrics: list[GateMetric] = ["roc_auc"]
    beat_baseline_by: float = 0.01
    beat_champion_by: float = 0.002
    champion_confidence: float | None = Field(0.95, ge=0.5, lt=1.0)
    baseline_score: str | None = None
    absolute: dict[GateMetric, float] = {}
    min_rows: int = 1000

    @model_validator(mode="after")
    def _some_metric(self) -> GateSpec:
        if not self.metrics:
            raise ValueError("metrics: name at least one metric the gate compares")
        return self


#: the windows a feature's drift can be measured against
TRAINING, PREVIOUS, SEASONAL = "training", "previous", "seasonal"


class DriftReferences(StrictModel):
    """The window each monitored feature's drift is measured against: the model version's training
    window (every feature not named here), the ``previous`` batch (consecutive drift: features that
    move by design, e.g. trailing rates) or the ``seasonal`` one, ``season_batches`` batches earlier
    (the same period one cycle before; ``None``: a day of hours, a week of days, a year of weeks or
    months). A window not in the history falls back to the training window, and the decision says so."""

    previous: list[str] = []
    seasonal: list[str] = []
    season_batches: int | None = Field(None, ge=2)

    @model_validator(mode="after")
    def _one_reference_per_feature(self) -> DriftReferences:
        both = sorted(set(self.previous) & set(self.seasonal))
        if both:
            raise ValueError(f"features {both} are under both previous and seasonal: keep one")
        return self

    def of(self, feature: str) -> str:
        return PREVIOUS if feature in self.previous else SEASONAL if feature in self.seasonal else TRAINING


METRIC_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
#: the rows a custom metric aggregates: the monitored batch as scored (features and predictions), or
#: the windows whose labels landed with it (the same, plus the label)
SCORED, LABELLED = "scored", "labelled"


class CustomMetric(StrictModel):
    """A use case's own figure: a Spark SQL aggregate over the scored or the labelled rows (e.g. the
    expected positives the model misses: ``sum(CASE WHEN NOT <predicted label> THEN probability ELSE 0
    END)``), optionally with bounds outside which it alerts (never retrains)."""

    sql: str = Field(min_length=1)
    over: Literal["scored", "labelled"] = SCORED
    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _bounds_in_order(self) -> CustomMetric:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) is above max ({self.max}): swap them")
        return self


class MonitoringSpec(StrictModel):
    """Features left out of drift (e.g. calendar features drift by construction), the reference
    window of the others, the use case's own metrics, and its slices: Spark SQL expressions over the
    scored rows (e.g. ``region``, ``amount > 1000``) whose every value is a slice with its own
    estimated and realised performance."""

    exclude: list[str] = []
    reference: DriftReferences = DriftReferences()
    custom_metrics: dict[str, CustomMetric] = {}
    slices: dict[str, Annotated[str, Field(min_length=1)]] = {}

    @model_validator(mode="after")
    def _names_are_identifiers(self) -> MonitoringSpec:
        for key, names in (("custom_metrics", self.custom_metrics), ("slices", self.slices)):
            odd = sorted(name for name in names if not METRIC_NAME.fullmatch(name))
            if odd:
                raise ValueError(
                    f"{key} names {odd}: use letters, digits and underscores (e.g. expected_loss, long_haul)"
                )
        return self


class DemoSpec(StrictModel):
    """The batches the project's own commands run when none are given (`make run`, `make replay`):
    ``kedro history`` (first, last), ``kedro cycle`` (first_cycle), ``kedro replay`` (first, last)."""

    history: tuple[str, str]
    first_cycle: str
    replay: tuple[str, str]


class UseCase(StrictModel):
    name: str
    package: str
    entity_key: str
    event_time: str
    batch: BatchSpec = BatchSpec()
    label: LabelSpec
    features: FeatureSpec
    model: ModelSpec
    gate: GateSpec = GateSpec()
    monitoring: MonitoringSpec = MonitoringSpec()
    demo: DemoSpec | None = None
    description: str = ""

    @model_validator(mode="after")
    def _columns_are_usable(self) -> UseCase:
        named = {
            "entity_key": [self.entity_key],
            "event_time": [self.event_time],
            "batch.column": [self.batch.column],
            "label.column": [self.label.column],
            "features": self.features.all,
            "gate.baseline_score": [self.gate.baseline_score] if self.gate.baseline_score else [],
            "monitoring.exclude": self.monitoring.exclude,
        }
        for key, columns in named.items():
            for column in columns:
                if UNSAFE_COLUMN.search(column):
                    raise ValueError(
                        f"{key}: column '{column}' has a dot, a space or one of ,;{{}}()= — Spark reads a "
                        "dot as a struct field and Delta refuses the others: rename it in the use case's "
                        "features pipeline (e.g. with underscores) and here"
                    )
        reserved = {self.entity_key, self.event_time, self.batch.column, self.label.column}
        clash = sorted(reserved & set(self.features.all))
        if clash:
            raise ValueError(f"features {clash} are also the key, event time, batch or label column")
        unknown = sorted(set(self.monitoring.exclude) - set(self.features.all))
        if unknown:
            raise ValueError(f"monitoring.exclude names {unknown}, which are not features")
        references = self.monitoring.reference
        for key, columns in (("previous", references.previous), ("seasonal", references.seasonal)):
            unmonitored = sorted(set(columns) - set(self.monitored_numeric + self.monitored_categorical))
            if unmonitored:
                raise ValueError(
                    f"monitoring.reference.{key} names {unmonitored}, which are not monitored features "
                    "(features not under monitoring.exclude)"
                )
        return self

    @property
    def monitored_numeric(self) -> list[str]:
        return [c for c in self.features.numeric if c not in self.monitoring.exclude]

    @property
    def monitored_categorical(self) -> list[str]:
        return [c for c in self.features.categorical if c not in self.monitoring.exclude]

    @property
    def season_batches(self) -> int:
        return self.monitoring.reference.season_batches or SEASON_BATCHES[self.batch.cadence]


def parse_usecase(raw: dict[str, Any]) -> UseCase:
    return parse_config(UseCase, raw, SOURCE)


def usecase_source(spec: UseCase):
    """The use case's source, ``land(batch_id, landing_root, suffix, usecase) -> list[Path]`` in its
    package, bound to the contract (e.g. its label delay): ``(batch_id, landing_root, suffix) -> files``.
    None when it has none (production: the source systems drop the files)."""
    land = getattr(usecase_module(spec), "land", None)
    return None if land is None else functools.partial(land, usecase=spec)


def features_params(batch_id: str | None) -> dict:
    """The runtime parameters of the use case's features pipeline: build only ``batch_id``."""
    return {"features": {"batch_id": batch_id}}


def usecase_module(spec: UseCase):
    """The use case's package: ``create_pipeline()`` (features + labels) and, optionally, ``land``."""
    try:
        return importlib.import_module(spec.package)
    except ImportError as exc:
        raise ConfigError(
            f"{SOURCE}: package '{spec.package}' of use case '{spec.name}' cannot be imported ({exc}); "
            "install it or fix usecase.package"
        ) from exc
