"""Inference nodes: pick the scoring model and score one batch of gold features on Spark."""

from __future__ import annotations

import logging

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from lakehouse_mlops.framework.errors import LakehouseError
from lakehouse_mlops.framework.model_ref import ModelRef
from lakehouse_mlops.framework.predictions import first_scorer, scores_of
from lakehouse_mlops.framework.usecase import parse_usecase
from lakehouse_mlops.pipelines.inference.scoring import with_probability

logger = logging.getLogger(__name__)


def scoring_model(usecase: dict, inference: dict) -> ModelRef:
    """``inference.model_version`` if set, else the champion (resolved once, then pinned by version)."""
    return ModelRef.resolve(parse_usecase(usecase).model.registered_name, inference.get("model_version"))


def batch_to_score(features: DataFrame, usecase: dict, inference: dict) -> str:
    """``inference.batch_id`` if set, else the latest batch in the gold features."""
    if features is None:
        raise LakehouseError("the gold_features table does not exist yet: run the features pipeline first")
    column = parse_usecase(usecase).batch.column
    batch = inference.get("batch_id") or features.agg(F.max(column)).first()[0]
    if batch is None:
        raise LakehouseError("the gold_features table is empty: nothing to score")
    return str(batch)


def score_batch(features: DataFrame, batch_id: str, model: ModelRef, usecase: dict) -> DataFrame:
    """Every gold row of ``batch_id`` scored by ``model``: probability, label, model, time.

    The scores are computed by ``mlflow.pyfunc.spark_udf`` on the executors, in Arrow batches;
    nothing is collected to the driver.
    """
    contract = parse_usecase(usecase)
    key, batch, event_time = contract.entity_key, contract.batch.column, contract.event_time
    rows = features.filter(F.col(batch) == batch_id)
    scored = with_probability(rows, model.uri)
    logger.info("scoring batch %s with %s version %s", batch_id, model.name, model.version)
    positive = contract.label.positive
    return scored.select(
        F.col(f"`{key}`").alias(
            key, metadata={"comment": f"Entity key of the scored row ({contract.name})."}
        ),
        F.col(batch).alias(batch, metadata={"comment": "Batch whose rows were scored."}),
        F.col(f"`{event_time}`"),
        F.lit(model.name).alias("model_name"),
        F.lit(model.version).alias("model_version"),
        F.lit(model.run_id).alias("model_run_id"),
        F.col("probability"),
        (F.col("probability") >= F.lit(model.threshold)).alias(
            contract.model.predicted_label,
            metadata={"comment": f"'{positive}' predicted: probability >= the version's decision threshold."},
        ),
        F.lit(model.threshold).alias("decision_threshold"),
        "_feature_hash",
        F.current_timestamp().alias("scored_at"),
    )


def scored_batch(predictions: DataFrame | None, usecase: dict, batch_id: str) -> tuple[str | None, int]:
    """The loop's outcome of this stage: the version deployed on ``batch_id`` (the first that scored
    it) and how many rows it scored."""
    batch = parse_usecase(usecase).batch.column
    version = first_scorer(predictions, batch, batch_id)
    if version is None:
        return None, 0
    return version, scores_of(predictions, batch, batch_id, version).count()


def run_params(batch_id: str, model_version: str | None) -> dict:
    """The runtime parameters that make this pipeline score ``batch_id`` with ``model_version``."""
    return {"inference": {"batch_id": batch_id, "model_version": model_version}}
