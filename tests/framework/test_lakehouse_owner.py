"""One lakehouse, one use case: the first session claims the root, another use case is stopped."""

from __future__ import annotations

import pytest

from lakehouse_mlops.framework.errors import ConfigError
from lakehouse_mlops.framework.lakehouse_owner import MARKER, claim_lakehouse


def test_the_first_use_case_claims_the_root_and_may_come_back(tmp_path):
    claim_lakehouse("data", "flights", tmp_path)
    assert (tmp_path / "data" / MARKER).read_text().strip() == "flights"
    claim_lakehouse("data", "flights", tmp_path)
    claim_lakehouse(str(tmp_path / "data"), "flights", tmp_path / "elsewhere")  # absolute roots too


def test_another_use_case_is_stopped_with_the_root_to_use(tmp_path):
    claim_lakehouse("data", "flights", tmp_path)
    with pytest.raises(ConfigError) as error:
        claim_lakehouse("data", "car_loans", tmp_path)
    message = str(error.value)
    assert f"{tmp_path / 'data'} holds the lakehouse of use case 'flights'" in message
    assert "LAKEHOUSE_ROOT=data/car_loans" in message
    assert (tmp_path / "data" / MARKER).read_text().strip() == "flights"


def test_object_store_roots_are_not_checked(tmp_path):
    claim_lakehouse("s3a://bucket/lakehouse", "flights", tmp_path)
    assert not any(tmp_path.iterdir())
