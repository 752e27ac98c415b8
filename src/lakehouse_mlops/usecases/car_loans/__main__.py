"""``python -m lakehouse_mlops.usecases.car_loans``: fetch and check the data set (``make setup`` does)."""
from lakehouse_mlops.usecases.car_loans.source import NANNYML, fetch_wheel_files

print(f"car_loans data: {len(fetch_wheel_files(NANNYML))} files checked (SHA-256) in {NANNYML.folder()}")
