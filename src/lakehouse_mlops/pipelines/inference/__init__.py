"""``inference``: load the champion (``models:/<name>@champion``, pinned to its version) and score every
gold row of one batch on Spark executors with ``mlflow.pyfunc.spark_udf``; the predictions table gets
the entity key, batch, probability, predicted label, model name/version/run id and scoring time.

Re-scoring a batch with the same model changes nothing (MERGE on entity key and model version, rows
updated only when the score or the features changed); a new champion adds its own rows.
"""

from lakehouse_mlops.pipelines.inference.nodes import run_params, scored_batch
from lakehouse_mlops.pipelines.inference.pipeline import create_pipeline

__all__ = ["create_pipeline", "run_params", "scored_batch"]
