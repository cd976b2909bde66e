"""Rung 0's forecast: two reads of one run, extrapolated to the top rung, rank rung 0."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import pytest

from hrfevo.calibrate import _loss
from hrfevo.config import resolve
from hrfevo.errors import UsageError
from hrfevo.fidelity import Fidelity, forecast
from hrfevo.genome import transformer_genome
from hrfevo.problems.spectral import ranked
from hrfevo.run import make_problem, start
from model import ConfigError

LADDER = {"rungs": [6, 12], "promote": 0.5}
BUDGET = {"schedule": "wsd", "warmup_steps": 1}


def test_the_forecast_follows_a_plus_b_over_t_through_both_reads() -> None:
    def curve(t: float) -> float:
        return 1.5 + 120 / t

    assert forecast((120, curve(120)), (180, curve(180)), 960) == pytest.approx(curve(960))
    assert forecast((100, 3.0), (200, 1.0), 10_000) == 0.0  # no loss below zero


@pytest.mark.parametrize(
    ("fidelity", "message"),
    [
        ({"rungs": [6, 12], "forecast_from": 6}, "below the first rung's 6"),
        ({"rungs": [6, 12], "forecast_from": 0}, "below the first rung's 6"),
        ({"rungs": [6, 12], "forecast_from": True}, "below the first rung's 6"),
        ({"rungs": [6], "forecast_from": 3}, "needs two rungs"),
    ],
)
def test_a_bad_first_read_is_refused_naming_it(fidelity: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Fidelity.from_dict(fidelity)


def test_a_first_read_needs_a_schedule_that_can_pause(text_file: Path) -> None:
    flags = {"data": str(text_file), "fidelity": LADDER | {"forecast_from": 3}}
    with pytest.raises((ConfigError, UsageError), match="forecast_from"):
        resolve("smoke", None, flags | {"budget": {"schedule": "cosine"}})


def problems(text_file: Path, forecast_from: int) -> tuple:
    base = {"data": str(text_file), "budget": BUDGET, "executor": "serial"}
    plain = resolve("smoke", None, base | {"fidelity": LADDER})
    early = dataclasses.replace(plain, fidelity=LADDER | {"forecast_from": forecast_from})
    return make_problem(plain), make_problem(early)


def test_rung_zero_keeps_its_own_result_and_adds_the_forecast(text_file: Path) -> None:
    plain, early = problems(text_file, 4)
    x = transformer_genome(16, 1, 2).to_dict()
    without, with_read = plain.evaluate(x, 0), early.evaluate(x, 0)
    assert with_read["metrics"]["val_loss"] == without["metrics"]["val_loss"]  # bit for bit
    single = resolve("smoke", None, {"data": str(text_file), "budget": BUDGET | {"steps": 4}})
    read = make_problem(single).evaluate(x, 0)  # 4 steps from scratch, one fidelity
    metrics = with_read["metrics"]
    assert metrics["early_loss"] == read["metrics"]["val_loss"]  # as 4 steps from scratch
    expected = forecast((4, metrics["early_loss"]), (6, metrics["val_loss"]), 12)
    assert metrics["forecast_loss"] == pytest.approx(expected)
    assert "state" in with_read and "forecast_loss" not in without["metrics"]
    # Rung 0 ranks, and calibrates, by the forecast; rung 1 by what it measured.
    record = {"status": "ok", "rung": 0, "metrics": metrics}
    assert early.objectives(record)[0] == pytest.approx(math.exp(expected))
    assert _loss(record) == pytest.approx(expected)
    promoted = early.evaluate(x, 1, with_read["state"])
    assert "forecast_loss" not in promoted["metrics"]
    assert ranked(promoted["metrics"]) == promoted["metrics"]


def test_a_ladder_run_with_a_forecast_reports_its_confirmed_front(
    text_file: Path, tmp_path: Path
) -> None:
    fidelity = LADDER | {"forecast_from": 4}
    overrides = {"data": str(text_file), "fidelity": fidelity, "budget": BUDGET}
    out = start(resolve("smoke", None, overrides | {"executor": "serial"}), tmp_path / "run")
    from hrfevo.api import load_run

    run = load_run(out)
    assert all("forecast_loss" in r["metrics"] for r in run.journal if r["rung"] == 0)
    assert run.front_records and {r["rung"] for r in run.front_records} == {1}
