"""The use-case contract: parsed once, errors name the key and say what to write."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from omegaconf import OmegaConf

from lakehouse_mlops.framework.batches import BatchIdError, batch_range, batch_start, shift_batch
from lakehouse_mlops.framework.errors import ConfigError
from lakehouse_mlops.framework.usecase import parse_usecase
from tests.conftest import PROJECT_ROOT, project_parameters

MINIMAL = {
    "name": "sensors",
    "package": "lakehouse_mlops.usecases.flights",
    "entity_key": "reading_id",
    "event_time": "observed_at",
    "batch": {"column": "batch_id", "cadence": "hour"},
    "label": {"column": "failed", "positive": "failure"},
    "features": {"numeric": ["temperature", "vibration"], "categorical": ["site"]},
    "model": {"registered_name": "sensor_failure"},
}


def test_the_shipped_flights_contract_parses():
    usecase = parse_usecase(project_parameters()["usecase"])
    assert (usecase.entity_key, usecase.label.column, usecase.batch.cadence) == (
        "flight_key",
        "is_late",
        "month",
    )
    assert "dep_month" not in usecase.monitored_numeric and "dep_hour" in usecase.monitored_numeric


def test_a_minimal_contract_takes_relative_gate_bars_by_default():
    usecase = parse_usecase(MINIMAL)
    assert usecase.gate.absolute == {} and usecase.gate.metrics == ["roc_auc"]
    assert usecase.features.all == ["site", "temperature", "vibration"]


def test_a_yaml_boolean_key_is_reported_with_a_hint_to_quote_it():
    # YAML 1.1 (OmegaConf, PyYAML) reads an unquoted `no` / `off` as a boolean
    raw = yaml.safe_load("positive: no\ncolumn: failed\n")
    assert raw["positive"] is False
    with pytest.raises(ConfigError, match=r"label.positive: .*boolean False.*quote it"):
        parse_usecase({**MINIMAL, "label": raw})
    absolute = OmegaConf.to_container(OmegaConf.create("roc_auc: 0.6\nOff: 0.2\n"))
    with pytest.raises(ConfigError, match=r"gate.absolute.*got the boolean False.*quote it"):
        parse_usecase({**MINIMAL, "gate": {"absolute": absolute}})


@pytest.mark.parametrize("column", ["sensor.temp", "sensor temp", "a,b"])
def test_column_names_spark_would_misread_are_refused_by_name(column):
    features = {"numeric": [column], "categorical": []}
    with pytest.raises(ConfigError, match=rf"features: column '{column}' has a dot, a space"):
        parse_usecase({**MINIMAL, "features": features})


def test_unknown_keys_and_inconsistent_columns_name_the_key():
    with pytest.raises(ConfigError, match="entity_keys: Extra inputs"):
        parse_usecase({**MINIMAL, "entity_keys": ["x"]})
    with pytest.raises(ConfigError, match=r"monitoring.exclude names \['humidity'\]"):
        parse_usecase({**MINIMAL, "monitoring": {"exclude": ["humidity"]}})
    with pytest.raises(ConfigError, match=r"features \['observed_at'\] are also the key"):
        parse_usecase({**MINIMAL, "features": {"numeric": ["observed_at"]}})


@pytest.mark.parametrize(
    ("cadence", "first", "last", "count"),
    [
        ("month", "2013-11", "2014-02", 4),
        ("day", "2024-02-28", "2024-03-01", 3),
        ("week", "2024-W52", "2025-W02", 3),
        ("hour", "2024-03-01T22", "2024-03-02T01", 4),
    ],
)
def test_batches_of_every_cadence(cadence, first, last, count):
    batches = batch_range(first, last, cadence)
    assert len(batches) == count and batches == sorted(batches)
    assert batch_start(batches[1], cadence) > batch_start(batches[0], cadence)


@pytest.mark.parametrize(
    ("text", "cadence"), [("2013-13", "month"), ("2013-5", "month"), ("2024-02-30", "day")]
)
def test_impossible_batch_ids_are_refused(text, cadence):
    with pytest.raises(BatchIdError, match=text):
        batch_start(text, cadence)


@pytest.mark.parametrize(
    ("cadence", "batch", "default_season", "seasonal"),
    [
        ("month", "2014-02", 12, "2013-02"),
        ("week", "2025-W02", 52, "2024-W02"),
        ("day", "2024-03-01", 7, "2024-02-23"),
        ("hour", "2024-03-01T01", 24, "2024-02-29T01"),
    ],
)
def test_the_previous_and_seasonal_batches_of_every_cadence(cadence, batch, default_season, seasonal):
    usecase = parse_usecase({**MINIMAL, "batch": {"cadence": cadence}})
    assert usecase.season_batches == default_season
    assert shift_batch(batch, cadence, -usecase.season_batches) == seasonal
    assert shift_batch(shift_batch(batch, cadence, -1), cadence, 1) == batch
    assert shift_batch("2014-01", "month", -1) == "2013-12"
    assert shift_batch("2013-12", "month", 1) == "2014-01"


def test_drift_references_name_monitored_features_once():
    references = {"previous": ["temperature"], "seasonal": ["site"], "season_batches": 168}
    usecase = parse_usecase({**MINIMAL, "monitoring": {"reference": references}})
    reference = usecase.monitoring.reference
    assert [reference.of(f) for f in ("temperature", "site", "vibration")] == [
        "previous",
        "seasonal",
        "training",
    ]
    assert usecase.season_batches == 168
    with pytest.raises(ConfigError, match=r"\['site'\] are under both previous and seasonal"):
        parse_usecase({**MINIMAL, "monitoring": {"reference": {"previous": ["site"], "seasonal": ["site"]}}})
    excluded = {"exclude": ["vibration"], "reference": {"previous": ["vibration"]}}
    with pytest.raises(ConfigError, match=r"reference.previous names \['vibration'\], which are not"):
        parse_usecase({**MINIMAL, "monitoring": excluded})
    with pytest.raises(ConfigError, match="season_batches"):
        parse_usecase({**MINIMAL, "monitoring": {"reference": {"season_batches": 1}}})


def test_custom_metrics_are_named_bounded_and_over_known_rows():
    metrics = {
        "expected_loss": {"sql": "sum(probability)", "max": 10},
        "realised": {"sql": "count(1)", "over": "labelled"},
    }
    parsed = parse_usecase({**MINIMAL, "monitoring": {"custom_metrics": metrics}}).monitoring.custom_metrics
    assert [(n, m.over, m.min, m.max) for n, m in parsed.items()] == [
        ("expected_loss", "scored", None, 10.0),
        ("realised", "labelled", None, None),
    ]
    for wrong, message in [
        (
            {"expected loss": {"sql": "sum(probability)"}},
            r"custom_metrics names \['expected loss'\]: use letters",
        ),
        ({"loss": {"sql": "sum(x)", "min": 2, "max": 1}}, r"custom_metrics.loss: .*min \(2.0\) is above max"),
        ({"loss": {"sql": "sum(x)", "over": "later"}}, r"custom_metrics.loss.over: Input should be 'scored'"),
        ({"loss": {"sql": ""}}, r"custom_metrics.loss.sql"),
        ({"loss": {"sq": "sum(x)"}}, r"custom_metrics.loss.sq: Extra inputs"),
    ]:
        with pytest.raises(ConfigError, match=message):
            parse_usecase({**MINIMAL, "monitoring": {"custom_metrics": wrong}})


def test_slices_are_named_sql_expressions():
    parsed = parse_usecase({**MINIMAL, "monitoring": {"slices": {"site": "site", "hot": "temp > 30"}}})
    assert parsed.monitoring.slices == {"site": "site", "hot": "temp > 30"}
    for wrong, message in [
        ({"long haul": "distance > 1000"}, r"slices names \['long haul'\]: use letters"),
        ({"hot": ""}, r"slices.hot: String should have at least 1 character"),
        ({"hot": {"sql": "temp > 30"}}, r"slices.hot: Input should be a valid string"),
    ]:
        with pytest.raises(ConfigError, match=message):
            parse_usecase({**MINIMAL, "monitoring": {"slices": wrong}})


def _loader(conf: Path):
    from lakehouse_mlops.framework.config_loader import UseCaseConfigLoader
    from lakehouse_mlops.settings import CONFIG_LOADER_ARGS

    return UseCaseConfigLoader(str(conf), **CONFIG_LOADER_ARGS)


def test_the_loader_reads_only_the_selected_use_case_and_gives_the_catalog_its_contract(
    tmp_path, monkeypatch
):
    conf = tmp_path / "conf"
    shutil.copytree(PROJECT_ROOT / "conf", conf, ignore=shutil.ignore_patterns("credentials*"))
    catalog = _loader(conf)["catalog"]
    assert catalog["ml_predictions"]["merge_keys"] == ["flight_key", "model_version"]
    assert catalog["ml_predictions"]["partition_by"] == ["batch_id"]
    other = conf / "base" / "usecases" / "sensors"
    other.mkdir()
    (other / "parameters_usecase.yml").write_text(yaml.safe_dump({"usecase": {**MINIMAL, "name": "sensors"}}))
    monkeypatch.setenv("LAKEHOUSE_USECASE", "sensors")
    loader = _loader(conf)
    assert loader["parameters"]["usecase"]["entity_key"] == "reading_id"
    assert "ingestion" not in loader["parameters"] and "silver_flights" not in loader["catalog"]
    assert loader["catalog"]["ml_predictions"]["merge_keys"] == ["reading_id", "model_version"]


def test_a_wrong_selection_is_named(tmp_path, monkeypatch):
    conf = tmp_path / "conf"
    shutil.copytree(PROJECT_ROOT / "conf", conf, ignore=shutil.ignore_patterns("credentials*"))
    other = conf / "base" / "usecases" / "sensors"
    other.mkdir()
    (other / "parameters_usecase.yml").write_text(yaml.safe_dump({"usecase": MINIMAL | {"name": "sensor"}}))
    monkeypatch.setenv("LAKEHOUSE_USECASE", "sensors")
    with pytest.raises(
        ConfigError, match="usecase.name is 'sensor', but the folder is selected as 'sensors'"
    ):
        _loader(conf)["catalog"]
    monkeypatch.setenv("LAKEHOUSE_USECASE", "nothing_here")
    with pytest.raises(
        ConfigError, match="use case 'nothing_here' has no contract: write its 'usecase:' block"
    ):
        _loader(conf).usecase_contract()


def test_a_loader_resolves_its_own_globals_after_another_loader_was_made(tmp_path):
    # OmegaConf's `globals` resolver is process-wide; Kedro binds it to the loader made last.
    confs = []
    for suffix in (".csv", ".txt"):
        conf = tmp_path / suffix.strip(".") / "conf"
        shutil.copytree(PROJECT_ROOT / "conf", conf, ignore=shutil.ignore_patterns("credentials*"))
        globals_file = conf / "base" / "globals.yml"
        globals_file.write_text(
            globals_file.read_text().replace("landing_file_suffix: .csv", f"landing_file_suffix: {suffix}")
        )
        confs.append(conf)
    first, second = _loader(confs[0]), _loader(confs[1])
    assert first["parameters"]["landing_file_suffix"] == ".csv"
    assert second["parameters"]["landing_file_suffix"] == ".txt"
    assert first["catalog"]["landing_{feed}"]["filename_suffix"] == ".csv"


def test_the_pipelines_are_built_from_the_last_session_config_even_once_its_folder_is_gone(tmp_path):
    from lakehouse_mlops import pipeline_registry

    conf = tmp_path / "conf"
    shutil.copytree(PROJECT_ROOT / "conf", conf, ignore=shutil.ignore_patterns("credentials*"))
    pipeline_registry.use_session_config(_loader(conf))
    shutil.rmtree(conf)
    _loader(PROJECT_ROOT / "conf")  # another loader made since: a command, another session
    assert "validate_flights_into_silver" in {
        n.name for n in pipeline_registry.register_pipelines()["ingestion"].nodes
    }
