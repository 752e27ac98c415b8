"""Training: time windows from gold, hyperopt TPE (SparkTrials), refit, test evaluation, plots,
SHAP summary, data profile, and registration of the model as the ``challenger`` in MLflow.

Settings: ``conf/base/parameters_training.yml``; artifacts: ``conf/base/catalog_training.yml``.
"""

from lakehouse_mlops.pipelines.training.nodes import run_params, version_for_batch
from lakehouse_mlops.pipelines.training.pipeline import create_pipeline

__all__ = ["create_pipeline", "run_params", "version_for_batch"]
