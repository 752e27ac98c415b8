"""Car loans (NannyML's synthetic car-loan data): will a loan be repaid? ``create_pipeline``: silver
loans and repayments → gold_features, gold_labels; ``land``: the source simulator. Conf:
``conf/base/usecases/car_loans/``."""

from lakehouse_mlops.usecases.car_loans.pipeline import create_pipeline
from lakehouse_mlops.usecases.car_loans.source import land

__all__ = ["create_pipeline", "land"]
