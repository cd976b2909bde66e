"""The loop is generic: NSGA-II on ZDT1 converges as DEAP's own convergence test requires."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hrfevo.executors import SerialExecutor
from hrfevo.pareto import front, hypervolume
from hrfevo.problems.zdt import ZDT1, polynomial_mutation, sbx
from hrfevo.search import Search
from hrfevo.strategies import STRATEGIES

# DEAP's tests/test_convergence.py: ZDT1 with 5 variables, μ = 16, 100 generations, reference
# point (11, 11), where the optimal front's hypervolume is 120.777.
OPTIMUM = 120.777


def run_zdt(tmp: Path, strategy: str, seed: int, generations: int = 100) -> tuple[float, list[str]]:
    problem = ZDT1(n_dim=5)
    rng = np.random.default_rng(seed)
    search = Search(tmp, problem, STRATEGIES[strategy](problem, 16, rng), SerialExecutor(problem))
    search.run(generations)
    members = front(search.records(), problem)
    return hypervolume(members, problem), [r["key"] for r in members]


def test_nsga2_reaches_deaps_hypervolume_on_zdt1(tmp_path: Path) -> None:
    hv, _ = run_zdt(tmp_path, "nsga2", seed=1)
    assert 116 <= hv <= OPTIMUM


def test_nsga2_beats_random_search_at_the_same_budget(tmp_path: Path) -> None:
    hv_nsga2, _ = run_zdt(tmp_path / "a", "nsga2", seed=2, generations=40)
    hv_random, _ = run_zdt(tmp_path / "b", "random", seed=2, generations=40)
    assert hv_nsga2 > hv_random


def test_same_seed_same_front(tmp_path: Path) -> None:
    assert run_zdt(tmp_path / "a", "nsga2", 3, 10) == run_zdt(tmp_path / "b", "nsga2", 3, 10)
    assert run_zdt(tmp_path / "c", "nsga2", 4, 10) != run_zdt(tmp_path / "d", "nsga2", 3, 10)


@pytest.mark.parametrize("seed", range(5))
def test_variation_stays_in_bounds_and_between_parents(seed: int) -> None:
    rng = np.random.default_rng(seed)
    a, b = rng.random(30), rng.random(30)
    child = sbx(a, b, 20.0, rng)
    assert ((child >= 0) & (child <= 1)).all()
    assert not np.array_equal(child, a) or not np.array_equal(a, b)
    mutant = polynomial_mutation(child, 20.0, 1.0, rng)
    assert ((mutant >= 0) & (mutant <= 1)).all() and not np.array_equal(mutant, child)
