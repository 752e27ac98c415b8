"""`kedro usecase new NAME`: a new use case's skeleton, and `kedro usecase check NAME`: its conf and
pipeline checked against the framework's contracts without running anything.

The skeleton (templates in ``ops/usecase_template/``) is a valid use case from the start: its
contract parses with placeholder columns, its pipeline builds, and the functions to write raise
``NotImplementedError`` saying what to return. Its point-in-time test fails until it is written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from lakehouse_mlops.framework.errors import ConfigError

TEMPLATE = Path(__file__).parent / "usecase_template"
PLACEHOLDER = "__NAME__"
VALID_NAME = re.compile(r"^[a-z][a-z0-9_]{1,30}$")
#: template folder → where its files go in the project
DESTINATIONS = {
    "conf": "conf/base/usecases/{name}",
    "package": "src/lakehouse_mlops/usecases/{name}",
    "tests": "tests/usecases/{name}",
}
GOLD_TABLES = ("gold_features", "gold_labels")


def new_usecase(name: str, project_root: Path) -> list[Path]:
    """Write the skeleton of use case ``name`` into the project; refuses to overwrite anything."""
    if not VALID_NAME.match(name):
        raise ConfigError(
            f"use case name '{name}': use 2–31 lower-case letters, digits and underscores, starting "
            "with a letter (it becomes a folder, a Python package and a column prefix)"
        )
    folders = {kind: project_root / target.format(name=name) for kind, target in DESTINATIONS.items()}
    existing = [str(folder) for folder in folders.values() if folder.exists()]
    if existing:
        raise ConfigError(f"use case '{name}' already exists: {', '.join(existing)}; choose another name")
    written = []
    for kind, folder in folders.items():
        for template in sorted((TEMPLATE / kind).glob("*.tmpl")):
            target = folder / template.name.removesuffix(".tmpl")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(template.read_text().replace(PLACEHOLDER, name))
            written.append(target)
    return written


@dataclass(frozen=True)
class CheckResult:
    usecase: str
    problems: list[str]
    feeds: list[str]
    nodes: list[str]


def check_usecase(loader) -> CheckResult:
    """What the framework needs from the use case ``loader`` selects: a contract that parses, feed
    rules that parse, a silver table per feed, a pipeline that builds and whose every input and
    output is declared, writing both gold tables."""
    from lakehouse_mlops.framework.usecase import parse_usecase, usecase_module
    from lakehouse_mlops.pipelines.ingestion.rules import parse_rules

    contract = parse_usecase(loader.usecase_contract())
    rules = parse_rules(loader["parameters"].get("ingestion"))
    catalog = loader["catalog"]
    problems = [
        f"feed '{feed}' has no silver table: declare silver_{feed} in "
        f"conf/base/usecases/{contract.name}/catalog.yml"
        for feed in rules.feeds
        if f"silver_{feed}" not in catalog
    ]
    pipeline = usecase_module(contract).create_pipeline()
    datasets = {d for d in pipeline.datasets() if not d.startswith("params:") and d != "parameters"}
    declared = set(catalog)
    problems += [
        f"the features pipeline uses '{name}', which no catalog file declares"
        for name in sorted(datasets - declared)
    ]
    problems += [
        f"the features pipeline does not write {table}"
        for table in GOLD_TABLES
        if table not in pipeline.all_outputs()
    ]
    return CheckResult(contract.name, problems, list(rules.feeds), [n.name for n in pipeline.nodes])
