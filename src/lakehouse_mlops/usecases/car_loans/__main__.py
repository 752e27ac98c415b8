"""``python -m lakehouse_mlops.usecases.car_loans``: fetch and check the data set (``make setup`` does)."""
from lakehouse_mlops.usecases.car_loans.source import NANNYML, loans

print(f"car_loans data: {len(loans())} loans in {NANNYML.folder()}")
