"""Project pipelines, imported explicitly (``kedro run --pipelines X`` loads only that folder)."""

from __future__ import annotations

from kedro.pipeline import Pipeline


def register_pipelines() -> dict[str, Pipeline]:
    from lakehouse_mlops.pipelines.ingestion import create_pipeline as ingestion

    pipelines = {"ingestion": ingestion()}
    pipelines["__default__"] = pipelines["ingestion"]
    return pipelines
