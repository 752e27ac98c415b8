"""The model contract: a registered model version resolved once, with everything stages read from it.

A ``ModelRef`` pins a version (an alias is resolved to its number when the reference is made), so a
stage that runs while someone moves ``champion`` keeps using the version it started with.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from lakehouse_mlops.framework import model_registry as registry
from lakehouse_mlops.framework.errors import LakehouseError

DEFAULT_THRESHOLD = 0.5


@dataclass(frozen=True)
class ModelRef:
    name: str
    version: str
    tags: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def resolve(cls, name: str, version: str | None = None, alias: str = registry.CHAMPION) -> ModelRef:
        """``version`` if given, else the version ``alias`` points at, with its tags."""
        version = version or registry.alias_version(name, alias)
        if version is None:
            raise LakehouseError(
                f"model '{name}' has no {alias}: run training and promotion first (or pass a model version)"
            )
        return cls(name, str(version), registry.version_tags(name, str(version)))

    @property
    def uri(self) -> str:
        return f"models:/{self.name}/{self.version}"

    @property
    def run_id(self) -> str:
        return self.tags.get("run_id", "")

    @property
    def threshold(self) -> float:
        """The decision threshold chosen on the version's validation window."""
        return float(self.tags.get("decision_threshold", DEFAULT_THRESHOLD))

    def test_metric(self, metric: str) -> float:
        """A test metric recorded at training (``test_<metric>`` tag); NaN when missing."""
        return float(self.tags.get(f"test_{metric}", "nan"))

    @cached_property
    def model(self):
        """The scikit-learn model, loaded once per reference."""
        return registry.load_model(self.name, self.version)

    def predict_proba(self, frame) -> object:
        """P(positive) for every row of a pandas frame."""
        return self.model.predict_proba(frame)[:, 1]
