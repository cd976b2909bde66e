"""NSGA-II's mating: permutation tournaments (each member enters two, none mates with itself),
μ children a generation, and a strategy restored from its state asks what the original would."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest

from hrfevo.problems import ZDT1
from hrfevo.strategies.nsga2 import NSGA2
from hrfevo.strategy import Member


def chain(problem: ZDT1, n: int, rng: np.random.Generator) -> list[Member]:
    """n members where each dominates the next: member i has front rank i."""
    candidates = [problem.sample(rng) for _ in range(n)]
    return [Member(c, problem.key(c), ((float(i), float(i)),)) for i, c in enumerate(candidates)]


@pytest.mark.parametrize("seed", range(20))
def test_each_member_enters_exactly_two_tournaments_and_never_mates_with_itself(seed: int) -> None:
    problem, rng = ZDT1(n_dim=3), np.random.default_rng(seed)
    strategy = NSGA2(problem, 16, rng)
    strategy.population = chain(problem, 16, rng)
    pairs = strategy._parents(8)
    assert len(pairs) == 8 and all(a.key != b.key for a, b in pairs)
    wins = Counter(m.key for pair in pairs for m in pair)  # 16 tournaments, one winner each
    assert sum(wins.values()) == 16 and max(wins.values()) == 2  # no one wins three
    assert wins[strategy.population[0].key] == 2  # the best wins both of its tournaments
    assert strategy.population[-1].key not in wins  # the worst wins neither


@pytest.mark.parametrize("size", [4, 5, 16])
def test_a_generation_proposes_mu_children(size: int) -> None:
    problem, rng = ZDT1(n_dim=5), np.random.default_rng(0)
    strategy = NSGA2(problem, size, rng)
    first = strategy.ask()
    strategy.tell(first, [(problem.objectives(problem.evaluate(c)),) for c in first])
    children = strategy.ask()
    assert len(children) == size
    assert len({problem.key(c) for c in children}) == size


def test_a_restored_strategy_asks_what_the_original_asks() -> None:
    problem = ZDT1(n_dim=5)
    strategy = NSGA2(problem, 8, np.random.default_rng(5))
    for _ in range(3):
        candidates = strategy.ask()
        strategy.tell(candidates, [(problem.objectives(problem.evaluate(c)),) for c in candidates])
    state = json.loads(json.dumps(strategy.state_dict()))  # as the checkpoint stores it
    restored = NSGA2(problem, 8, np.random.default_rng(0))
    restored.load_state_dict(state)
    assert restored.ask() == strategy.ask()
