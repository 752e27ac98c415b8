"""Distributed scoring with a registered model: ``mlflow.pyfunc.spark_udf`` on the executors."""

from __future__ import annotations

import mlflow
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from lakehouse_mlops.framework import registry
from lakehouse_mlops.framework.errors import LakehouseError


def model_reference(name: str, version: str | None) -> dict:
    """Name, version, run id, URI and decision threshold of ``version`` (default: the champion)."""
    version = version or registry.alias_version(name, registry.CHAMPION)
    if version is None:
        raise LakehouseError(
            f"model '{name}' has no champion: run training and promotion first (or pass a model version)"
        )
    tags = registry.version_tags(name, str(version))
    return {
        "name": name,
        "version": str(version),
        "run_id": tags.get("run_id", ""),
        "uri": f"models:/{name}/{version}",
        "threshold": float(tags.get("decision_threshold", 0.5)),
    }


def probability_of_late(model_uri: str) -> tuple[list[str], callable]:
    """The model's input columns and a function turning a DataFrame's columns into P(late)."""
    inputs = mlflow.models.get_model_info(model_uri).signature.inputs.input_names()
    spark = SparkSession.getActiveSession() or SparkSession.builder.getOrCreate()
    predict = mlflow.pyfunc.spark_udf(spark, model_uri, env_manager="local", result_type="array<double>")

    def probability(frame: DataFrame) -> Column:
        return predict(F.struct(*[frame[c] for c in inputs]))[1]

    return inputs, probability


def with_probability(frame: DataFrame, model_uri: str) -> DataFrame:
    _, probability = probability_of_late(model_uri)
    return frame.withColumn("probability", probability(frame))
