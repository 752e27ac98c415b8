"""Project pipelines, imported explicitly (``kedro run --pipelines X`` loads only that folder)."""

from __future__ import annotations

from kedro.pipeline import Pipeline


def register_pipelines() -> dict[str, Pipeline]:
    from lakehouse_mlops.pipelines.features import create_pipeline as features
    from lakehouse_mlops.pipelines.ingestion import create_pipeline as ingestion
    from lakehouse_mlops.pipelines.promotion import create_pipeline as promotion
    from lakehouse_mlops.pipelines.training import create_pipeline as training

    pipelines = {
        "ingestion": ingestion(),
        "features": features(),
        "training": training(),
        "promotion": promotion(),
    }
    pipelines["__default__"] = sum(pipelines.values(), Pipeline([]))
    return pipelines
