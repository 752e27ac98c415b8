"""Point-in-time correctness of the car-loans features on real Spark, against a brute-force oracle:
a loan's salary-band repayment rate uses only the labels known when its batch landed (label_known_at
at or before the start of its month, and within the last ``trailing_batches`` months)."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
import pytest

from lakehouse_mlops.usecases.car_loans.nodes import build_labels, build_loan_features
from tests.usecases.car_loans.conf import conf

BANDS = ["0 - 20K €", "20K - 40K €", "40K - 60K €", "60K+ €"]
MONTHS = pd.period_range("2018-01", "2018-08", freq="M")


@pytest.fixture(scope="module")
def loans() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    rows = []
    for loan_id in range(1200):
        month = MONTHS[rng.integers(len(MONTHS))]
        applied = month.start_time + pd.Timedelta(minutes=int(rng.integers(0, 27 * 24 * 60)))
        rows.append(
            {
                "loan_id": loan_id,
                "applied_at": applied.to_pydatetime(),
                "car_value": float(rng.integers(5_000, 80_000)),
                "salary_range": BANDS[rng.integers(len(BANDS))],
                "debt_to_income_ratio": float(rng.uniform(0.1, 0.7)),
                "loan_length": float(rng.integers(6, 23)),
                "repaid_loan_on_prev_car": str(bool(rng.integers(2))),
                "size_of_downpayment": f"{10 * rng.integers(5)}%",
                "driver_tenure": float(rng.uniform(0, 7)),
                "incumbent_score": float(rng.uniform()),
                "_batch_id": str(month),
                "repaid": int(rng.integers(2)),
            }
        )
    return pd.DataFrame(rows)


def silver(spark, loans: pd.DataFrame, delay: int):
    """Silver loans, and repayments landed ``delay`` batches after their loans' month."""
    repayments = loans[["loan_id", "repaid", "_batch_id"]].copy()
    repayments["_batch_id"] = [str(pd.Period(b, freq="M") + delay) for b in repayments["_batch_id"]]
    return spark.createDataFrame(loans.drop(columns="repaid")), spark.createDataFrame(repayments)


def oracle(loans: pd.DataFrame, labels: pd.DataFrame, window: int, prior: float) -> dict[int, float | None]:
    """loan_id → the smoothed band rate, by brute force over every (loan, label) pair."""
    expected = {}
    for loan in loans.itertuples():
        cutoff = pd.Timestamp(loan.applied_at).to_period("M").start_time
        earliest = (cutoff.to_period("M") - window).start_time
        known = labels[(labels["label_known_at"] <= cutoff) & (labels["label_known_at"] > earliest)]
        if known.empty:
            expected[loan.loan_id] = None
            continue
        band = known[known["salary_range"] == loan.salary_range]
        overall = known["repaid"].mean()
        expected[loan.loan_id] = (band["repaid"].sum() + prior * overall) / (len(band) + prior)
    return expected


@pytest.mark.parametrize("delay", [2, 1])
def test_band_repayment_rate_uses_only_labels_known_when_the_batch_landed(spark, loans, delay):
    usecase = {**conf("usecase"), "label": {**conf("usecase")["label"], "known_after_batches": delay}}
    features = conf("features")
    silver_loans, silver_repayments = silver(spark, loans, delay)
    labels = build_labels(silver_repayments, silver_loans, features, usecase)
    gold = build_loan_features(silver_loans, labels, features).toPandas().set_index("loan_id")

    known = labels.toPandas()
    known["repaid"] = known["repaid"].astype(float)
    expected = oracle(loans, known, features["trailing_batches"], features["prior_strength"])
    assert len(gold) == len(loans)
    without = [k for k, v in expected.items() if v is None]
    assert without and gold.loc[without, "salary_band_repaid_rate"].isna().all()
    with_rate = [k for k, v in expected.items() if v is not None]
    assert len(with_rate) > len(loans) / 2
    np.testing.assert_allclose(
        gold.loc[with_rate, "salary_band_repaid_rate"].to_numpy(), [expected[k] for k in with_rate], rtol=1e-9
    )


def test_a_label_becomes_known_at_the_start_of_the_batch_it_lands_with(spark, loans):
    silver_loans, silver_repayments = silver(spark, loans, 2)
    labels = build_labels(silver_repayments, silver_loans, conf("features"), conf("usecase")).toPandas()
    row = labels.set_index("loan_id").loc[int(loans.loc[0, "loan_id"])]
    landed = pd.Period(loans.loc[0, "_batch_id"], freq="M") + 2
    assert row["label_known_at"] == datetime.fromisoformat(f"{landed}-01")
    assert row["label_batch_id"] == str(landed)
    assert bool(row["repaid"]) == bool(loans.loc[0, "repaid"])


def test_derived_amounts(spark, loans):
    silver_loans, silver_repayments = silver(spark, loans, 2)
    labels = build_labels(silver_repayments, silver_loans, conf("features"), conf("usecase"))
    gold = build_loan_features(silver_loans, labels, conf("features")).toPandas().set_index("loan_id")
    first = loans.set_index("loan_id").iloc[0]
    share = int(first["size_of_downpayment"].rstrip("%")) / 100
    amount = first["car_value"] * (1 - share)
    salary = conf("features")["salary_midpoints"][first["salary_range"]]
    row = gold.loc[loans.loc[0, "loan_id"]]
    assert row["downpayment_share"] == pytest.approx(share)
    assert row["loan_amount"] == pytest.approx(amount)
    assert row["payment_to_salary"] == pytest.approx(amount / first["loan_length"] * 12 / salary)
    assert row["repaid_loan_on_prev_car"] == int(first["repaid_loan_on_prev_car"] == "True")
    assert set(conf("usecase")["features"]["numeric"]) <= set(gold.columns)
