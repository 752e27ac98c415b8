"""Parsing of the validation rules: strict, with messages that name file and key."""

from __future__ import annotations

import pytest
import yaml

from lakehouse_mlops.framework.errors import ConfigError
from lakehouse_mlops.pipelines.ingestion.rules import parse_rules
from tests.conftest import PROJECT_ROOT


def shipped_rules() -> dict:
    text = (PROJECT_ROOT / "conf/base/usecases/flights/parameters_ingestion.yml").read_text()
    return yaml.safe_load(text)["ingestion"]


def test_shipped_rules_parse():
    rules = parse_rules(shipped_rules())
    assert rules.feed("flights").key == ["flight_key"]
    assert rules.feed("flights").referenced_feeds == {"airlines", "airports"}


def test_unknown_key_is_named_with_its_path():
    raw = shipped_rules()
    raw["feeds"]["flights"]["columns"]["distance"]["minimum"] = 0
    with pytest.raises(
        ConfigError, match=r"parameters_ingestion.yml.*feeds\.flights\.columns\.distance\.minimum"
    ):
        parse_rules(raw)


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("columns", "distance", "type"), "float", "distance.type"),
        (("columns", "carrier", "references"), "airlines", "must be '<feed>.<column>'"),
        (("key",), ["nope"], "key columns \\['nope'\\]"),
        (("derived", "flight_date"), {"make_date": ["year", "month"]}, "make_date needs"),
    ],
)
def test_bad_values_are_rejected(path, value, message):
    raw = shipped_rules()
    target = raw["feeds"]["flights"]
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(ConfigError, match=message):
        parse_rules(raw)


def test_unknown_feed_is_a_clear_error():
    with pytest.raises(ConfigError, match="no rules for feed 'cargo'"):
        parse_rules(shipped_rules()).feed("cargo")


def test_the_feed_graph_comes_from_the_rules_references():
    from lakehouse_mlops.pipelines.ingestion.pipeline import create_pipeline, feed_graph

    graph = feed_graph(parse_rules(shipped_rules()))
    order = list(graph)
    assert graph["flights"] == ("airlines", "airports") and graph["weather"] == ("airports",)
    assert order.index("airports") < order.index("flights") and order.index("airlines") < order.index(
        "flights"
    )
    validate = {n.name: n for n in create_pipeline(parse_rules(shipped_rules())).nodes}
    assert {"silver_airlines", "silver_airports"} <= set(validate["validate_flights_into_silver"].inputs)


def test_a_reference_to_an_unknown_feed_or_a_cycle_is_a_config_error():
    from lakehouse_mlops.pipelines.ingestion.pipeline import feed_graph

    raw = shipped_rules()
    raw["feeds"]["flights"]["columns"]["carrier"]["references"] = "carriers.carrier"
    with pytest.raises(ConfigError, match=r"feeds.flights references \['carriers'\], which are not feeds"):
        feed_graph(parse_rules(raw))
    raw = shipped_rules()
    raw["feeds"]["airports"]["columns"]["faa"]["references"] = "flights.dest"
    with pytest.raises(ConfigError, match="cycle"):
        feed_graph(parse_rules(raw))
