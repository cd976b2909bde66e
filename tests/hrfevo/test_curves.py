"""hrfevo.reporting.curves: the hypervolume after each evaluation, of the (top rung's) front."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from hrfevo.api import RunData
from hrfevo.pareto import front, hypervolume
from hrfevo.problem import Objectives, Problem
from hrfevo.reporting.curves import CURVE_COLUMNS, curve, hypervolume_curve


class Ladder(Problem):
    """Two objectives read from a record's metrics, on a ladder of three rungs."""

    objective_names = ("f1", "f2")
    hv_reference = (11.0, 11.0)
    rungs = 3

    # The search never runs: what a Problem must offer besides objectives is left out.
    def sample(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    def vary(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    def key(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    def evaluate(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    def objectives(self, record: dict[str, Any]) -> Objectives:
        if record["status"] != "ok":
            return (1e9, 1e9)
        return (record["metrics"]["f1"], record["metrics"]["f2"])


def ladder_journal(seed: int, genomes: int = 60) -> list[dict[str, Any]]:
    """A journal as a ladder writes one: each generation's new genomes at rung 0, then some of
    them promoted; coarse scores (ties), a few failures, at rung 0 and after a promotion."""
    rng = np.random.default_rng(seed)
    records: list[dict[str, Any]] = []
    at: dict[str, int] = {}  # each genome's highest rung so far
    for g in range(genomes // 10):
        for i in range(10):
            key = f"{g:02d}{i:02d}{rng.integers(1 << 16):04x}"
            at[key] = 0
            records.append(record(key, g, 0, rng))
        for key in [k for k in at if at[k] < 2 and rng.random() < 0.3]:
            at[key] += 1
            records.append(record(key, g, at[key], rng))
    return records


def record(key: str, generation: int, rung: int, rng: np.random.Generator) -> dict[str, Any]:
    ok = rng.random() > 0.08
    f1, f2 = (np.round(rng.uniform(0, 10, 2) / (1 + rung), 0)).tolist()
    return {
        "key": key,
        "generation": generation,
        "rung": rung,
        "status": "ok" if ok else "failed",
        "metrics": {"f1": f1, "f2": f2} if ok else {},
        "timings": {"seconds": 0.5 + rung},
    }


@pytest.mark.parametrize("seed", range(4))
def test_with_a_ladder_the_curve_measures_the_top_rungs_front(seed: int) -> None:
    problem, records = Ladder(), ladder_journal(seed)
    assert {r["rung"] for r in records} == {0, 1, 2}
    c = curve(records, problem)
    for i in range(len(records)):
        expected = front([r for r in records[: i + 1] if r["rung"] == 2], problem)
        assert c["hypervolume"][i] == pytest.approx(hypervolume(expected, problem), abs=1e-12)
        assert c["front_size"][i] == len(expected)
    assert (c["hypervolume"].diff().dropna() >= 0).all()  # one rung: it never falls
    lower = (c["rung"] < 2) & (c.index > 0)
    assert (c["hypervolume"].diff()[lower] == 0).all()  # a lower rung's result changes nothing


def test_the_curve_has_a_row_per_evaluation_with_its_cost() -> None:
    records = ladder_journal(0)
    c = curve(records, Ladder())
    assert list(c.columns) == list(CURVE_COLUMNS)
    assert c["evaluations"].tolist() == list(range(1, len(records) + 1))
    spent = np.cumsum([r["timings"]["seconds"] for r in records])
    assert np.allclose(c["cpu_seconds"], spent)
    assert c[["key", "rung", "status"]].to_dict("records") == [
        {k: r[k] for k in ("key", "rung", "status")} for r in records
    ]


def test_on_a_run_each_generation_ends_at_hypervolume_csv(run_dir: Path, run: RunData) -> None:
    c = hypervolume_curve(run_dir)
    assert len(c) == len(run.journal)
    at_end = c.groupby("generation")["hypervolume"].last().to_numpy()
    logged = pd.read_csv(run_dir / "hypervolume.csv")["hypervolume"].to_numpy()
    assert np.allclose(at_end, logged, rtol=0, atol=1e-12)
    assert np.allclose(at_end, run.hypervolume["hypervolume"], rtol=0, atol=1e-12)
    for i in range(len(run.journal)):
        members = front(run.journal[: i + 1], run.problem)
        assert c["hypervolume"][i] == pytest.approx(hypervolume(members, run.problem), abs=1e-12)


def test_the_curve_never_falls_without_a_ladder(run: RunData) -> None:
    assert (hypervolume_curve(run)["hypervolume"].diff().dropna() >= 0).all()
