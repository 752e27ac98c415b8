"""Inference nodes: pick the scoring model and score one batch of gold features on Spark."""

from __future__ import annotations

import logging

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from lakehouse_mlops.framework.errors import LakehouseError
from lakehouse_mlops.pipelines.inference.scoring import model_reference, with_probability
from lakehouse_mlops.pipelines.training.config import parse_training

logger = logging.getLogger(__name__)


def scoring_model(training: dict, inference: dict) -> dict:
    """``inference.model_version`` if set, else the champion (resolved once, then pinned by version)."""
    name = parse_training(training).registered_model_name
    return model_reference(name, inference.get("model_version"))


def batch_to_score(features: DataFrame, inference: dict) -> str:
    """``inference.batch_id`` if set, else the latest batch in the gold features."""
    if features is None:
        raise LakehouseError("gold flight_features does not exist yet: run the features pipeline first")
    batch = inference.get("batch_id") or features.agg(F.max("batch_id")).first()[0]
    if batch is None:
        raise LakehouseError("gold flight_features is empty: nothing to score")
    return str(batch)


def score_batch(features: DataFrame, batch_id: str, model: dict) -> DataFrame:
    """Every gold row of ``batch_id`` scored by ``model``: probability, label, model, time.

    The scores are computed by ``mlflow.pyfunc.spark_udf`` on the executors, in Arrow batches;
    nothing is collected to the driver.
    """
    rows = features.filter(F.col("batch_id") == batch_id)
    scored = with_probability(rows, model["uri"])
    logger.info("scoring batch %s with %s version %s", batch_id, model["name"], model["version"])
    return scored.select(
        "flight_key",
        "batch_id",
        "flight_date",
        F.lit(model["name"]).alias("model_name"),
        F.lit(model["version"]).alias("model_version"),
        F.lit(model["run_id"]).alias("model_run_id"),
        F.col("probability"),
        (F.col("probability") >= F.lit(model["threshold"])).alias("predicted_late"),
        F.lit(model["threshold"]).alias("decision_threshold"),
        "_feature_hash",
        F.current_timestamp().alias("scored_at"),
    )
