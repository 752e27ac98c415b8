"""lakehouse-mlops: the ML life cycle on a lakehouse of Delta tables (Kedro + PySpark + Delta + MLflow)."""

__version__ = "0.1.0"
