"""Distributed scoring with a registered model: ``mlflow.pyfunc.spark_udf`` on the executors."""

from __future__ import annotations

from collections.abc import Callable

import mlflow
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F


def positive_probability(model_uri: str) -> tuple[list[str], Callable[[DataFrame], Column]]:
    """The model's input columns and a function turning a DataFrame's columns into P(positive)."""
    inputs = mlflow.models.get_model_info(model_uri).signature.inputs.input_names()
    spark = SparkSession.getActiveSession() or SparkSession.builder.getOrCreate()
    predict = mlflow.pyfunc.spark_udf(spark, model_uri, env_manager="local", result_type="array<double>")

    def probability(frame: DataFrame) -> Column:
        return predict(F.struct(*[frame[f"`{c}`"] for c in inputs]))[1]

    return inputs, probability


def with_probability(frame: DataFrame, model_uri: str) -> DataFrame:
    _, probability = positive_probability(model_uri)
    return frame.withColumn("probability", probability(frame))
