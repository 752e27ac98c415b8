"""Generic stays generic: no module outside ``usecases/`` names a use case's column or table.

The names come from every shipped use case's conf (its contract, its feeds and their columns), so a
new use case is covered as soon as its conf exists. Matching is on whole words of the source text,
comments and docstrings included: a docstring that speaks of flights misleads as much as code does.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tests.conftest import PROJECT_ROOT

PACKAGE = PROJECT_ROOT / "src" / "lakehouse_mlops"
GENERIC = sorted(p for p in PACKAGE.rglob("*.py") if "usecases" not in p.relative_to(PACKAGE).parts)
USECASES = sorted((PROJECT_ROOT / "conf" / "base" / "usecases").iterdir())
#: feed columns that are plain English words every program uses (a feed's own names are still checked)
COMMON_WORDS = {
    "name",
    "type",
    "model",
    "year",
    "month",
    "day",
    "hour",
    "minute",
    "speed",
    "engine",
    "engines",
    "distance",  # the Wasserstein and Jensen–Shannon distances of monitoring
    "alt",  # an image's alt text
}


def usecase_names(folder: Path) -> set[str]:
    """Column and table names a use case declares: contract, feeds, their columns and silver tables."""
    loaded = {}
    for path in folder.glob("*.yml"):
        loaded.update(yaml.safe_load(path.read_text()) or {})
    contract = loaded["usecase"]
    names = {
        contract["name"],
        contract["entity_key"],
        contract["event_time"],
        contract["label"]["column"],
        contract["model"]["registered_name"],
        *contract["features"].get("numeric", []),
        *contract["features"].get("categorical", []),
    }
    names |= {contract["model"].get("predicted_label"), contract.get("gate", {}).get("baseline_score")}
    feeds = loaded.get("ingestion", {}).get("feeds", {})
    for feed, rules in feeds.items():
        names |= {feed, f"silver_{feed}", f"bronze_{feed}", f"landing_{feed}"}
        names |= set(rules.get("columns", {})) | set(rules.get("derived", {}))
    names |= {entry for entry in loaded if not entry.startswith("_") and entry.startswith("silver_")}
    return {n for n in names if n} - COMMON_WORDS


def _shown(path: Path) -> str:
    return str(path.relative_to(PACKAGE)) if path.is_relative_to(PACKAGE) else path.name


@pytest.mark.parametrize("folder", USECASES, ids=lambda p: p.name)
def test_no_generic_module_names_a_column_or_table_of_the_use_case(folder):
    names = usecase_names(folder)
    assert {"flight_key", "is_late", "carrier", "origin", "dest"} <= names or folder.name != "flights"
    pattern = re.compile(r"\b(" + "|".join(sorted(map(re.escape, names), key=len, reverse=True)) + r")\b")
    found = {
        f"{_shown(path)}:{number}: {match.group(0)}"
        for path in GENERIC
        for number, line in enumerate(path.read_text().splitlines(), 1)
        for match in pattern.finditer(line)
    }
    assert not found, f"generic modules name use case '{folder.name}':\n" + "\n".join(sorted(found))


def test_the_check_finds_a_use_case_name_in_a_generic_module(tmp_path, monkeypatch):
    planted = tmp_path / "planted.py"
    planted.write_text('KEY = "flight_key"\n')
    monkeypatch.setattr(f"{__name__}.GENERIC", [*GENERIC, planted])
    with pytest.raises(AssertionError, match="planted.py:1: flight_key"):
        test_no_generic_module_names_a_column_or_table_of_the_use_case(
            PROJECT_ROOT / "conf" / "base" / "usecases" / "flights"
        )
