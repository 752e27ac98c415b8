"""The car-loans source: batches of the real data set (fetched at set-up), repayments landing
``usecase.label.known_after_batches`` batches after their loans."""

from __future__ import annotations

import pandas as pd

from lakehouse_mlops.framework.usecase import parse_usecase
from lakehouse_mlops.usecases.car_loans import source
from tests.usecases.car_loans.conf import conf


def test_the_data_set_is_the_published_one():
    loans = source.loans()
    assert len(loans) == 100_000 and loans["loan_id"].is_unique
    assert (loans["batch"].min(), loans["batch"].max()) == ("2018-01", "2019-08")
    assert set(loans["repaid"]) == {0, 1}


def test_repayments_land_with_the_batch_the_contract_says(tmp_path):
    usecase = parse_usecase(conf("usecase"))
    assert usecase.label.known_after_batches == 2
    assert [p.name for p in source.land("2018-01", tmp_path, ".csv", usecase)] == ["loans_2018-01.csv"]
    loans_file, repayments_file = source.land("2018-03", tmp_path, ".csv", usecase)
    assert repayments_file == tmp_path / "repayments/2018-03/repayments_2018-03.csv"
    repaid = pd.read_csv(repayments_file)
    january = pd.read_csv(tmp_path / "loans/2018-01/loans_2018-01.csv")
    assert list(repaid.columns) == ["loan_id", "repaid"]
    assert set(repaid["loan_id"]) == set(january["loan_id"])
    landed = pd.read_csv(loans_file).columns
    assert "repaid" not in landed and "y_pred" not in landed  # NannyML's decisions never land

    contract = conf("usecase")
    later = parse_usecase({**contract, "label": {**contract["label"], "known_after_batches": 3}})
    _, repayments_file = source.land("2018-04", tmp_path / "later", ".csv", later)
    assert set(pd.read_csv(repayments_file)["loan_id"]) == set(january["loan_id"])


def test_landing_is_deterministic(tmp_path):
    usecase = parse_usecase(conf("usecase"))
    first = source.land("2019-02", tmp_path / "a", ".csv", usecase)
    second = source.land("2019-02", tmp_path / "b", ".csv", usecase)
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in second]
