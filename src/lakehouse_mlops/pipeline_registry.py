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

_session_config = None


def use_session_config(loader) -> None:
    """Build the pipelines from ``loader`` from now on (again if its use case or feeds differ)."""
    global _session_config
    previous = _fingerprint(_session_config) if _session_config is not None else None
    _session_config = loader
    if previous != _fingerprint(loader):
        project_pipelines.configure(project_pipelines._pipelines_module)


def _config():
    if _session_config is not None:
        return _session_config
    from lakehouse_mlops.ops.kedro_project import config_loader

    return config_loader(Path.cwd())


def _fingerprint(loader) -> tuple:
    parameters = loader["parameters"]
    return (str(parameters.get("usecase")), str(parameters.get("ingestion", {}).get("feeds")))


def register_pipelines() -> dict[str, Pipeline]:
    from lakehouse_mlops.framework.usecase import parse_usecase, usecase_module
    from lakehouse_mlops.pipelines.inference import create_pipeline as inference
    from lakehouse_mlops.pipelines.ingestion import create_pipeline as ingestion
    from lakehouse_mlops.pipelines.ingestion.rules import parse_rules
    from lakehouse_mlops.pipelines.monitoring import create_pipeline as monitoring
    from lakehouse_mlops.pipelines.promotion import create_pipeline as promotion
    from lakehouse_mlops.pipelines.training import create_pipeline as training

    config = _config()
    parameters, usecase = config["parameters"], parse_usecase(config.usecase_contract())
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
