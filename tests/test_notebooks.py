"""The notebooks run top to bottom (real kernel, real Spark) on the small replayed lakehouse, so they
cannot rot. Executed copies are saved under ``test-artifacts/``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT

pytestmark = pytest.mark.integration
NOTEBOOKS = sorted((PROJECT_ROOT / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[n.stem for n in NOTEBOOKS])
def test_notebook_runs(notebook: Path, replayed_lakehouse, monkeypatch):
    import nbformat
    from nbclient import NotebookClient

    lakehouse = replayed_lakehouse[0]
    monkeypatch.setenv("LAKEHOUSE_PROJECT_PATH", str(PROJECT_ROOT))
    monkeypatch.setenv("LAKEHOUSE_CONF_SOURCE", str(lakehouse / "conf"))
    executed = nbformat.read(notebook, as_version=4)
    client = NotebookClient(
        executed, kernel_name="python3", timeout=600, resources={"metadata": {"path": str(notebook.parent)}}
    )
    client.execute()
    out = PROJECT_ROOT / "test-artifacts" / notebook.name
    out.parent.mkdir(exist_ok=True)
    nbformat.write(executed, out)
    errors = [o for c in executed.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors, json.dumps(errors)[:2000]


def test_both_notebooks_are_there():
    assert [n.name for n in NOTEBOOKS] == ["01_explore_lakehouse.ipynb", "02_model_and_monitoring.ipynb"]
