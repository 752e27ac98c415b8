"""Project pipelines, imported explicitly (``kedro run --pipelines X`` loads only that folder).

Two of them depend on the selected use case: ``features`` is its package's pipeline, and
``ingestion`` has one branch per feed of its rules. They are built from the running session's
configuration (``use_session_config``, called by a hook), or from the project's conf in the working
directory when no session runs (``kedro registry list``, ``kedro viz``).
"""

from __future__ import annotations

from pathlib import Path

from kedro.framework.project import pipelines as project_pipelines
from kedro.pipeline import Pipeline

_session_parameters: dict | None = None


def use_session_config(loader) -> None:
    """Build the pipelines from ``loader``'s use case and feeds from now on (again if they differ)."""
    global _session_parameters
    parameters = _pipeline_parameters(loader)
    if parameters != _session_parameters:
        _session_parameters = parameters
        project_pipelines.configure(project_pipelines._pipelines_module)


def _pipeline_parameters(loader) -> dict:
    """What the pipelines are built from: the use case's contract and its feeds."""
    return {"usecase": loader.usecase_contract(), "ingestion": loader["parameters"].get("ingestion")}


def _parameters() -> dict:
    if _session_parameters is not None:
        return _session_parameters
    from lakehouse_mlops.platform.kedro_project import config_loader

    return _pipeline_parameters(config_loader(Path.cwd()))


def register_pipelines() -> dict[str, Pipeline]:
    from lakehouse_mlops.framework.usecase import parse_usecase, usecase_module
    from lakehouse_mlops.pipelines.inference import create_pipeline as inference
    from lakehouse_mlops.pipelines.ingestion import create_pipeline as ingestion
    from lakehouse_mlops.pipelines.ingestion.rules import parse_rules
    from lakehouse_mlops.pipelines.monitoring import create_pipeline as monitoring
    from lakehouse_mlops.pipelines.promotion import create_pipeline as promotion
    from lakehouse_mlops.pipelines.training import create_pipeline as training

    parameters = _parameters()
    usecase = parse_usecase(parameters["usecase"])
    pipelines = {
        "ingestion": ingestion(rules=parse_rules(parameters["ingestion"])),
        "features": usecase_module(usecase).create_pipeline(),
        "training": training(),
        "promotion": promotion(),
        "inference": inference(),
        "monitoring": monitoring(),
    }
    # The default run builds the first champion: its gate judges the model trained in the same run
    # (through `challenger_model`, so Kedro orders it after training). Inference and monitoring read
    # the champion from the registry, a dependency the graph cannot see: the `cycle` command runs
    # the whole loop stage by stage, in order.
    pipelines["__default__"] = sum(
        (pipelines[name] for name in ("ingestion", "features", "training")), promotion(judge_trained=True)
    )
    return pipelines
