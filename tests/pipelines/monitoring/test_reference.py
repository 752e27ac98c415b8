"""A reference profile survives its Delta table: drift against the stored profile is the drift
against the profile just computed, and re-storing it adds nothing."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pytest
import yaml

from lakehouse_mlops.framework.datasets import DeltaSparkDataset
from lakehouse_mlops.pipelines.monitoring.config import parse_monitoring
from lakehouse_mlops.pipelines.monitoring.drift import PREDICTION_DRIFT, drift_rows
from lakehouse_mlops.pipelines.monitoring.estimation import Calibrator
from lakehouse_mlops.pipelines.monitoring.nodes import SCORE_HISTOGRAM_EDGES
from lakehouse_mlops.pipelines.monitoring.profiles import histogram_counts, profile_reference
from lakehouse_mlops.pipelines.monitoring.reference import (
    ReferenceProfiles,
    profile_frame,
    profile_rows,
    profiles_from_rows,
    settings_key,
)
from tests.conftest import PROJECT_ROOT

SPEC = parse_monitoring({"min_reference_rows": 100, "min_current_rows": 100})
SCHEMA = "x double, k double, empty double, carrier string, probability double"
IDENTITY = {
    "model_name": "flight_delay",
    "model_version": "3",
    "settings_key": "k1",
    "source_table": "/lake/gold",
    "source_version": 7,
    "window_start": "2013-01-01",
    "window_end": "2013-04-01",
    "computed_at": datetime(2026, 11, 27),
}


def _window(spark, seed: int, shift: float, carriers: list[str], rows: int):
    rng = np.random.default_rng(seed)
    data = [
        (
            float(rng.normal(10 + shift, 2)),
            float(rng.integers(0, 24)),
            None,
            str(rng.choice(carriers)),
            float(rng.beta(2, 5 + shift)),
        )
        for _ in range(rows)
    ]
    return spark.createDataFrame(data, SCHEMA)


@pytest.fixture(scope="module")
def windows(spark):
    return _window(spark, 1, 0.0, ["AA", "UA", "DL"], 3000), _window(spark, 2, 1.0, ["AA", "UA", "B6"], 2000)


CALIBRATOR = Calibrator((0.1, 0.5, 0.9), (0.05, 0.4, 0.97), 0.12, 0.11, 2_000)


def _profiles(reference) -> ReferenceProfiles:
    q, error = SPEC.numeric.quantiles, SPEC.numeric.quantile_relative_error
    return ReferenceProfiles(
        data=profile_reference(reference, ["x", "k", "empty"], ["carrier"], q, error),
        scores=profile_reference(reference, ["probability"], [], q, error),
        score_edges=SCORE_HISTOGRAM_EDGES,
        score_counts=histogram_counts(reference, "probability", len(SCORE_HISTOGRAM_EDGES) - 1),
        calibrator=CALIBRATOR,
    )


def _table(path) -> DeltaSparkDataset:
    """The table as the catalog declares it."""
    catalog = yaml.safe_load((PROJECT_ROOT / "conf/base/catalog_monitoring.yml").read_text())
    entry = {k: v for k, v in catalog["ml_reference_profiles"].items() if k not in ("type", "filepath")}
    return DeltaSparkDataset(filepath=str(path), **entry)


def test_drift_against_the_stored_profile_equals_drift_against_the_computed_one(spark, windows, tmp_path):
    reference, current = windows
    computed = _profiles(reference)
    table = _table(tmp_path / "reference_profiles")
    table.save(profile_frame(profile_rows(computed, IDENTITY)))
    stored = profiles_from_rows([r.asDict() for r in table.load().collect()])

    for kind, profile, again, window in (
        ("data_drift", computed.data, stored.data, current),
        (PREDICTION_DRIFT, computed.scores, stored.scores, current.select("probability")),
    ):
        assert list(again.splits) == list(profile.splits)  # the features' order is kept
        assert list(again.categories) == list(profile.categories)
        assert drift_rows(again, window, SPEC, kind) == drift_rows(profile, window, SPEC, kind)
    np.testing.assert_array_equal(stored.score_counts, computed.score_counts)
    np.testing.assert_array_equal(stored.score_edges, SCORE_HISTOGRAM_EDGES)
    assert stored.data.numeric["empty"].non_null == 0 and np.isnan(stored.data.numeric["empty"].mean)
    assert stored.data.categories["carrier"].counts == computed.data.categories["carrier"].counts


def test_storing_a_profile_again_adds_nothing(spark, windows, tmp_path):
    rows = profile_rows(_profiles(windows[0]), IDENTITY)
    table = _table(tmp_path / "reference_profiles")
    table.save(profile_frame(rows))
    first = table.current_version()
    table.save(profile_frame(rows))
    # the data: 3 numeric and 1 categorical feature; the score; its histogram; its calibrator
    assert table.load().count() == len(rows) == 3 + 1 + 1 + 1 + 1
    assert table.current_version() == first
    stored = profiles_from_rows([r.asDict() for r in table.load().collect()])
    assert stored.calibrator == CALIBRATOR


def test_the_settings_key_follows_what_a_profile_depends_on():
    key = settings_key(["x"], ["carrier"], SPEC, 20)
    assert key == settings_key(["x"], ["carrier"], SPEC, 20)
    finer = parse_monitoring({"numeric": {"quantiles": 2000}})
    assert (
        len(
            {
                key,
                settings_key(["x", "k"], ["carrier"], SPEC, 20),
                settings_key(["x"], [], SPEC, 20),
                settings_key(["x"], ["carrier"], finer, 20),
                settings_key(["x"], ["carrier"], SPEC, 10),
            }
        )
        == 5
    )
