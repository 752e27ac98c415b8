"""The car-loans use case (NannyML's synthetic car-loan data, 2018-01..2019-08): will a loan be repaid?

- ``create_pipeline``: silver loans and repayments → the canonical ``gold_features`` and
  ``gold_labels``, point-in-time correct (the trailing repayment rate uses only labels known when
  the loan's batch landed).
- ``land``: the source simulator (loans with their month, repayments two batches later).

Conf: ``conf/base/usecases/car_loans/``.
"""

from lakehouse_mlops.usecases.car_loans.pipeline import create_pipeline
from lakehouse_mlops.usecases.car_loans.source import land

__all__ = ["create_pipeline", "land"]
