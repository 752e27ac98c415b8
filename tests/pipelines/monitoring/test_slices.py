"""Performance per slice on real Spark: each slice's figures are those of its rows alone (checked
against the whole-window functions on the filtered rows and against scikit-learn), the smaller
values of a wide expression add up to ``(other)`` with no row left out, and a wrong expression is
named by its config key before anything runs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lakehouse_mlops.framework.errors import ConfigError
from lakehouse_mlops.pipelines.monitoring import slices
from lakehouse_mlops.pipelines.monitoring.config import parse_monitoring
from lakehouse_mlops.pipelines.monitoring.estimated import estimated_rows, expected_bins
from lakehouse_mlops.pipelines.monitoring.estimation import fit_calibrator
from lakehouse_mlops.pipelines.monitoring.performance import performance_by_version

SPEC = parse_monitoring({"slices": {"max_values": 3, "min_rows": 300}})
SLICES = {"region": "region", "far": "distance > 1000"}


def scored_rows(rows: int = 6000, seed: int = 3) -> pd.DataFrame:
    """Scores whose quality differs by region (d: few rows, nearly random), labels drawn from them."""
    rng = np.random.default_rng(seed)
    region = rng.choice(["a", "b", "c", "d", None], size=rows, p=[0.4, 0.3, 0.15, 0.05, 0.1])
    distance = rng.uniform(100, 2500, rows)
    signal = rng.normal(0, 1, rows)
    noise = np.where(region == "d", 3.0, np.where(region == "b", 1.0, 0.3))
    probability = 1 / (1 + np.exp(-(signal + rng.normal(0, noise))))
    label = (rng.uniform(size=rows) < 1 / (1 + np.exp(-2 * signal))).astype(int)
    return pd.DataFrame(
        {
            "key": np.arange(rows),
            "batch_id": "2013-06",
            "model_version": "1",
            "region": region,
            "distance": distance,
            "probability": probability,
            "predicted": (probability >= 0.5).astype(int),
            "is_late": label,
        }
    )


@pytest.fixture(scope="module")
def window(spark):
    frame = scored_rows()
    return frame, spark.createDataFrame(frame.astype({"region": object}))


def by_feature(rows: list[dict], kind: str) -> dict[str, dict[str, float]]:
    found: dict[str, dict[str, float]] = {}
    for r in rows:
        if r["kind"] == kind:
            found.setdefault(r["feature"], {})[r["metric"]] = r["value"]
    return found


def test_realised_slices_are_the_window_metrics_of_their_rows_and_other_holds_the_rest(window):
    from sklearn.metrics import roc_auc_score

    frame, spark_frame = window
    rows = slices.realised_slice_rows(
        spark_frame, SLICES, "is_late", "predicted", SPEC.performance, SPEC.slices, "batch_id"
    )
    measured = by_feature(rows, slices.SLICE_PERFORMANCE)
    # region has a, b, c, d and nulls: max_values 3 keeps the two largest, the rest is "(other)"
    assert set(measured) == {"region=a", "region=b", "region=(other)", "far=true", "far=false"}
    for name, sql in {
        "region=a": "region = 'a'",
        "region=b": "region = 'b'",
        "far=true": "distance > 1000",
    }.items():
        expected = performance_by_version(spark_frame.filter(sql), "is_late", SPEC.performance, "predicted")[
            "1"
        ]
        for metric in ("roc_auc", "pr_auc", "precision", "recall", "brier", "positive_rate", "rows"):
            assert measured[name][metric] == pytest.approx(expected[metric]), (name, metric)
    rest = frame[~frame["region"].isin(["a", "b"])]
    assert measured["region=(other)"]["rows"] == len(rest)  # c, d and the nulls: no row left out
    assert measured["region=(other)"]["roc_auc"] == pytest.approx(
        roc_auc_score(rest["is_late"], rest["probability"]), abs=2e-4
    )
    assert sum(measured[f"region={v}"]["rows"] for v in ("a", "b", "(other)")) == len(frame)
    # region b is the noisier one: the slice shows what the whole window hides
    assert measured["region=b"]["roc_auc"] < measured["region=a"]["roc_auc"] - 0.05
    statuses = {r["feature"]: r["status"] for r in rows}
    assert statuses["region=a"] == "ok"


def test_small_slices_are_insufficient_and_nulls_are_a_slice(window):
    _, spark_frame = window
    wide = parse_monitoring({"slices": {"max_values": 10, "min_rows": 400}})
    rows = slices.realised_slice_rows(
        spark_frame, {"region": "region"}, "is_late", "predicted", wide.performance, wide.slices, "batch_id"
    )
    statuses = {r["feature"]: (r["status"], r["current_rows"]) for r in rows}
    assert statuses["region=d"][0] == "insufficient" and statuses["region=d"][1] < 400
    assert statuses["region=(null)"][1] > 400 and statuses["region=(null)"][0] == "ok"


def test_estimated_slices_are_the_window_estimate_of_their_rows(window):
    frame, spark_frame = window
    calibrator = fit_calibrator(frame["probability"].to_numpy(), frame["is_late"].to_numpy())
    assert not calibrator.identity
    rows = slices.estimated_slice_rows(
        spark_frame, SLICES, "predicted", calibrator, SPEC.performance, SPEC.slices
    )
    estimated = by_feature(rows, slices.SLICE_ESTIMATED)
    per_slice = SPEC.performance.model_copy(update={"min_labelled_rows": SPEC.slices.min_rows})
    for name, sql in {"region=a": "region = 'a'", "far=false": "NOT distance > 1000"}.items():
        bins, confusion = expected_bins(
            spark_frame.filter(sql), "predicted", calibrator, SPEC.performance.score_bins
        )
        expected = {r["metric"]: r["value"] for r in estimated_rows(bins, confusion, per_slice)}
        assert estimated[name] == pytest.approx(expected), name


def test_a_slice_estimate_is_compared_with_its_realised_value_when_labels_land(window):
    _, spark_frame = window
    realised = slices.realised_slice_rows(
        spark_frame, SLICES, "is_late", "predicted", SPEC.performance, SPEC.slices, "batch_id"
    )
    stored = [
        {"kind": slices.SLICE_ESTIMATED, "batch_id": "2013-06", "model_version": "1", "feature": "far=true",
         "metric": "roc_auc", "value": 0.70},
        {"kind": slices.SLICE_ESTIMATED, "batch_id": "2013-06", "model_version": "1", "feature": "region=a",
         "metric": "recall", "value": 0.5},
    ]  # fmt: skip
    errors = {
        (r["feature"], r["metric"]): r["value"] for r in slices.slice_estimation_errors(realised, stored)
    }
    auc = by_feature(realised, slices.SLICE_PERFORMANCE)
    assert errors == pytest.approx(
        {
            ("far=true", "estimation_error.roc_auc"): auc["far=true"]["roc_auc"] - 0.70,
            ("region=a", "estimation_error.recall"): auc["region=a"]["recall"] - 0.5,
        }
    )


@pytest.mark.parametrize(
    ("sql", "says"),
    [
        ("regoin", "regoin"),  # a misspelt column: Spark's reason and the columns there
        ("avg(distance)", "row-level"),
        ("array(region)", "one plain value per row"),
        ("distance >", "row-level"),
    ],
)
def test_a_wrong_expression_is_named_by_its_config_key(window, sql, says):
    _, spark_frame = window
    with pytest.raises(ConfigError, match=r"monitoring\.slices\.bad") as error:
        slices.check_expressions(spark_frame, {"ok": "region", "bad": sql})
    assert says in str(error.value)
