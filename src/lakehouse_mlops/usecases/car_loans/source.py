"""Source simulator: NannyML's car-loan data (Apache-2.0, in the nannyml wheel) as a lender sends it:
``loans`` (with the incumbent's score) in their month's batch, ``repayments`` when the label is known."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pandas as pd

from lakehouse_mlops.framework.landing import landing_path, write_landing_file
from lakehouse_mlops.framework.usecase import UseCase
from lakehouse_mlops.framework.wheel_data import WheelData, fetch_wheel_files

DATA = "nannyml/datasets/data/synthetic_car_loan_"
NANNYML = WheelData("nannyml", "0.13.1", {
    f"{DATA}reference.csv": "e6d2e70d8bac3e892764cb96570efb1adebf8f95497e07e96746eb1d94925995",
    f"{DATA}analysis.csv": "1ecfee47fbce587b423d1eb365cbb7b36265388596dca5b3e1fed0748159529b",
    f"{DATA}analysis_target.csv": "017d51c34548b57e663d216ad369588fa30d6a9523f94b81ef0a2af148009560",
})  # fmt: skip
RENAMED = {"id": "loan_id", "timestamp": "applied_at", "y_pred_proba": "incumbent_score"}
LOAN_COLUMNS = ["loan_id", "applied_at", "car_value", "salary_range", "debt_to_income_ratio",
                "loan_length", "repaid_loan_on_prev_car", "size_of_downpayment", "driver_tenure",
                "incumbent_score"]  # fmt: skip


@cache
def loans() -> pd.DataFrame:
    """All 100,000 loans with their outcome and batch (the month applied in)."""
    files = fetch_wheel_files(NANNYML)
    parts = ("reference", "analysis", "analysis_target")
    reference, analysis, target = (pd.read_csv(files[f"{DATA}{part}.csv"]) for part in parts)
    frame = pd.concat([reference, analysis.merge(target, on="id")], ignore_index=True).rename(columns=RENAMED)
    frame["repaid"] = frame["repaid"].astype(int)
    frame["batch"] = frame["applied_at"].str[:7]
    return frame


def feeds_for_batch(batch_id: str, label_delay: int) -> dict[str, pd.DataFrame]:
    """What the lender's systems send for batch ``batch_id`` (YYYY-MM)."""
    labelled = str(pd.Period(batch_id, freq="M") - label_delay)
    frame = loans()
    feeds = {"loans": frame.loc[frame["batch"] == batch_id, LOAN_COLUMNS]}
    if (frame["batch"] == labelled).any():
        feeds["repayments"] = frame.loc[frame["batch"] == labelled, ["loan_id", "repaid"]]
    return feeds


def land(batch_id: str, landing_root: Path, suffix: str, usecase: UseCase) -> list[Path]:
    return [
        write_landing_file(frame, landing_path(landing_root, feed, batch_id, suffix))
        for feed, frame in feeds_for_batch(batch_id, usecase.label.known_after_batches).items()
    ]
