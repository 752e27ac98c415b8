"""Loop commands without batch arguments run the use case's `usecase.demo` batches; their ``--params``
are read as `kedro run` reads its own."""

from __future__ import annotations

import click
import pytest
import yaml
from click.testing import CliRunner

from lakehouse_mlops.ops import cli
from tests.conftest import PROJECT_ROOT


@pytest.fixture
def sandbox(tmp_path, monkeypatch):
    from lakehouse_mlops.ops.sandbox import make_sandbox

    monkeypatch.setattr(cli, "_loop", lambda *args, **kwargs: "loop")
    monkeypatch.setattr(cli, "_project_path", lambda: PROJECT_ROOT)
    return make_sandbox(PROJECT_ROOT, tmp_path, usecase="car_loans")


def options(project) -> dict:
    conf = str(project / "conf")
    return {"env": None, "conf_source": conf, "params": (), "verbose": False, "no_land": False}


def test_the_demo_batches_of_the_selected_use_case(sandbox):
    assert cli._loop_over(None, None, options(sandbox), "first_cycle") == (["2018-07"], "loop")
    batches, _ = cli._loop_over(None, None, options(sandbox), "history")
    assert batches == ["2018-01", "2018-02", "2018-03", "2018-04", "2018-05", "2018-06"]
    batches, _ = cli._loop_over(None, None, options(sandbox), "replay")
    assert (batches[0], batches[-1], len(batches)) == ("2018-07", "2019-08", 14)
    assert cli._loop_over("2018-09", None, options(sandbox), "first_cycle")[0] == ["2018-09"]


def test_a_use_case_without_demo_batches_must_be_given_them(sandbox):
    path = sandbox / "conf/base/usecases/car_loans/parameters_usecase.yml"
    contract = yaml.safe_load(path.read_text())
    del contract["usecase"]["demo"]
    path.write_text(yaml.safe_dump(contract, allow_unicode=True))
    with pytest.raises(click.UsageError, match="use case 'car_loans' declares no usecase.demo"):
        cli._loop_over(None, None, options(sandbox), "history")


@pytest.mark.parametrize(
    "given",
    [
        ["--params", "monitoring.policy.cooldown_windows=3,training.search.max_evals=4"],
        ["--params", "monitoring.policy.cooldown_windows=3", "--params", "training.search.max_evals=4"],
    ],
    ids=["comma-separated, as kedro run", "repeated"],
)
def test_loop_commands_read_params_as_kedro_run_does(sandbox, monkeypatch, given):
    seen = {}

    def loop_over(first, last, options, demo):
        seen.update(options)
        raise SystemExit(0)  # the options are what this test is about, not the cycle

    monkeypatch.setattr(cli, "_loop_over", loop_over)
    result = CliRunner().invoke(cli.cli, ["cycle", "2018-07", *given])
    assert result.exit_code == 0, result.output
    assert seen["params"] == ("monitoring.policy.cooldown_windows=3", "training.search.max_evals=4")


def test_a_params_item_without_a_value_is_refused_by_name(sandbox):
    result = CliRunner().invoke(cli.cli, ["cycle", "2018-07", "--params", "training.search.max_evals=4,oops"])
    assert result.exit_code == 2
    assert "item 'oops' is not key=value" in result.output
