"""What people look at, in a real browser (headless Chromium from the system's packages): the
kedro-viz graph with a plot preview, the monitoring report, and the MLflow UI with its API.

Screenshots are saved under ``test-artifacts/`` (git-ignored) for a human to look at.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import yaml

from lakehouse_mlops.ops.sandbox import make_sandbox
from tests.conftest import PROJECT_ROOT
from tests.servers import free_port, serving

pytestmark = [pytest.mark.integration, pytest.mark.browser]
ARTIFACTS = PROJECT_ROOT / "test-artifacts"
BIN = Path(sys.executable).parent
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def browser():
    executable = chromium_path()
    if executable is None:
        message = "Chromium is missing: `make test` installs it (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:  # each launch gets a fresh, temporary profile
        browser = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture(scope="module")
def lakehouse(replayed_lakehouse) -> Path:
    return replayed_lakehouse[0]


def catalog_entries() -> set[str]:
    names = set()
    for path in (PROJECT_ROOT / "conf/base").glob("catalog*.yml"):
        names |= {k for k in yaml.safe_load(path.read_text()) if not k.startswith("_")}
    return names


def viz_project(lakehouse: Path, target: Path) -> Path:
    """A project folder kedro-viz can open: the installed package's code, the lakehouse's data."""
    shutil.copy(PROJECT_ROOT / "pyproject.toml", target / "pyproject.toml")
    # Kedro insists that the source folder is inside the project: a copy of the code, not a link
    shutil.copytree(PROJECT_ROOT / "src", target / "src", ignore=shutil.ignore_patterns("__pycache__"))
    (target / "data").symlink_to(lakehouse / "data")
    return make_sandbox(PROJECT_ROOT, target)


def test_kedro_viz_draws_the_pipeline_and_previews_a_plot(lakehouse, page, tmp_path):
    project, port = viz_project(lakehouse, tmp_path), free_port()
    command = [str(BIN / "kedro"), "viz", "run", "--host", "127.0.0.1", "--port", str(port), "--no-browser"]
    with serving(command, f"http://127.0.0.1:{port}/api/main", project, tmp_path / "viz.log") as url:
        graph = json.load(urllib.request.urlopen(f"{url}/api/main"))
        # the layers read left to right / top to bottom, without a cycle (viz drops cyclic layers)
        assert graph["layers"] == ["landing", "bronze", "silver", "gold", "ml", "reporting"]
        layers = {n["name"]: n.get("layer") for n in graph["nodes"] if n["type"] == "data"}
        assert layers["silver_flights"] == "silver" and layers["gold_features"] == "gold"
        assert layers["feature_importance_plot"] == "reporting"
        unlayered = sorted(
            name for name, layer in layers.items() if layer is None and name in catalog_entries()
        )
        assert not unlayered, f"catalog datasets without a kedro-viz layer: {unlayered}"
        page.goto(url)
        page.wait_for_selector(".pipeline-node", timeout=60_000)
        assert page.locator(".pipeline-node").count() > 30
        page.screenshot(path=str(ARTIFACTS / "kedro_viz_graph.png"))
        # node labels are the dataset names, prettified or not depending on the viz settings
        label = re.compile(r"feature[ _]importance[ _]plot", re.IGNORECASE)
        page.locator(".pipeline-node", has_text=label).first.click()
        image = page.locator(".pipeline-metadata__plot-image").first
        image.wait_for(timeout=30_000)
        assert page.evaluate("img => img.naturalWidth", image.element_handle()) > 100
        page.screenshot(path=str(ARTIFACTS / "kedro_viz.png"), full_page=True)


def test_monitoring_report_renders(lakehouse, page):
    report = lakehouse / "data/08_reporting/monitoring/latest_report.html"
    page.goto(report.as_uri())
    assert re.fullmatch(r"Monitoring — batch \d{4}-\d{2}", page.locator("h1").inner_text())
    # summary first: the decision, its figures, estimated vs realised, the most drifted features, scores
    assert page.locator("h2").all_inner_texts() == ["Summary", "Details"]
    assert page.locator("#summary .decision").inner_text().startswith("decision:")
    assert page.locator("#summary table").first.is_visible()
    summary_images = page.locator("#summary img")
    assert 2 <= summary_images.count() <= 5  # estimates, up to three drifted features, scores
    for i in range(summary_images.count()):
        image = summary_images.nth(i)
        assert image.is_visible()
        assert page.evaluate("img => img.complete && img.naturalWidth > 200", image.element_handle())
    # every metric table is folded below, and opens on a click
    folds = page.locator("#details details")
    assert folds.count() == 8 and not page.locator("#details details[open]").count()
    drift_table = folds.first.locator("table")
    assert not drift_table.is_visible()
    folds.first.locator("summary").click()
    assert drift_table.is_visible() and "effect threshold" in drift_table.inner_text()
    assert "compared with" in drift_table.inner_text()
    # the use case's custom metrics (flights ships the expected missed-delay rate), folded too
    custom = page.locator("#details details", has_text="Custom metrics")
    custom.locator("summary").click()
    assert "expected_missed_delay_rate" in custom.locator("table").inner_text()
    page.screenshot(path=str(ARTIFACTS / "monitoring_report.png"), full_page=True)


def test_replay_timeline_renders(lakehouse, page):
    page.goto((lakehouse / "data/08_reporting/replay/timeline.html").as_uri())
    assert page.locator("h1").inner_text() == "Replay timeline"
    assert page.evaluate("img => img.naturalWidth > 200", page.locator("img").first.element_handle())
    page.screenshot(path=str(ARTIFACTS / "replay_timeline.png"), full_page=True)


def api(url: str, path: str, **query) -> dict:
    with urllib.request.urlopen(f"{url}/api/2.0/mlflow/{path}?{urllib.parse.urlencode(query)}") as response:
        return json.load(response)


def test_mlflow_ui_serves_runs_and_the_registered_model(lakehouse, page, tmp_path):
    port = free_port()
    store = f"sqlite:///{lakehouse / 'mlflow.db'}"
    command = [
        str(BIN / "mlflow"),
        "ui",
        "--backend-store-uri",
        store,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    with serving(command, f"http://127.0.0.1:{port}/health", lakehouse, tmp_path / "mlflow.log") as url:
        experiment = api(url, "experiments/get-by-name", experiment_name="lakehouse_mlops")["experiment"]
        request = urllib.request.Request(
            f"{url}/api/2.0/mlflow/runs/search",
            data=json.dumps({"experiment_ids": [experiment["experiment_id"]], "max_results": 100}).encode(),
            headers={"Content-Type": "application/json"},
        )
        runs = json.load(urllib.request.urlopen(request))["runs"]
        training = [
            r for r in runs if any(m["key"] == "test_metrics.roc_auc" for m in r["data"].get("metrics", []))
        ]
        assert training, "no training run with test metrics"
        tags = {t["key"]: t["value"] for t in training[0]["data"]["tags"]}
        assert "lineage.gold_features.version" in tags
        assert training[0]["inputs"]["dataset_inputs"], "lineage inputs missing"
        model = api(url, "registered-models/get", name="flight_delay")["registered_model"]
        assert {a["alias"] for a in model["aliases"]} >= {"champion", "challenger"}
        page.goto(f"{url}/#/models/flight_delay")
        page.wait_for_selector("text=champion", timeout=60_000)
        page.screenshot(path=str(ARTIFACTS / "mlflow_model.png"), full_page=True)
