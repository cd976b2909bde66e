"""How selection compares genomes that reached different rungs (`hrfevo.fidelity.COMPARE`).

The rule before run format 5 (compare on the highest rung both reached, `highest_shared`
below) had two weaknesses, pinned here: it cycles, and an unconfirmed genome can evict a
confirmed one. The rules that replace it do neither.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from hrfevo.fidelity import COMPARE, Score, dominates
from hrfevo.strategies.nsga2 import select
from hrfevo.strategy import Member


def highest_shared(a: Score, b: Score) -> bool:
    """The old rule: Pareto dominance on the highest rung both reached; at equal objectives
    there, the one that went further wins."""
    rung = min(len(a), len(b)) - 1
    x, y = a[rung], b[rung]
    return all(p <= q for p, q in zip(x, y, strict=True)) and (x != y or len(a) > len(b))


# A and C were trained to rung 2; B only at rung 0 (one objective that matters, one equal).
A: Score = ((1.0, 1.0), (2.0, 1.0), (3.0, 1.0))
B: Score = ((2.0, 1.0),)
C: Score = ((3.0, 1.0), (2.0, 1.0), (2.5, 1.0))


def test_the_old_rule_cycles() -> None:
    """A beats B and B beats C at rung 0, yet C beats A at rung 2."""
    assert highest_shared(A, B) and highest_shared(B, C) and highest_shared(C, A)
    # Every one is dominated, so non-dominated sorting has no first front (DEAP's sort then
    # never returns).
    scores = (A, B, C)
    assert all(any(highest_shared(o, s) for o in scores if o is not s) for s in scores)


def test_under_the_old_rule_an_unconfirmed_genome_evicts_a_confirmed_one() -> None:
    confirmed = Member({}, "confirmed", ((2.0, 1.0), (1.5, 1.0), (1.2, 1.0)))
    unconfirmed = Member({}, "unconfirmed", ((1.9, 1.0),))  # a lucky 120-step result
    assert highest_shared(unconfirmed.score, confirmed.score)  # it would take its place
    for rule in COMPARE:
        assert not dominates(unconfirmed.score, confirmed.score, rule), rule
        assert [m.key for m in select([confirmed, unconfirmed], 1, rule)] == ["confirmed"], rule


@pytest.mark.parametrize("rule", sorted(COMPARE))
def test_the_rules_have_no_cycle_on_the_example(rule: str) -> None:
    scores = (A, B, C)
    assert not any(
        dominates(x, y, rule) and dominates(y, z, rule) and dominates(z, x, rule)
        for x, y, z in itertools.permutations(scores)
    )
    assert dominates(C, A, rule)  # at the rung both were trained to, C is better


def random_scores(rng: np.random.Generator, n: int) -> list[Score]:
    """Scores of 1-3 rungs, two objectives, on a coarse grid (so ties happen)."""
    out = []
    for _ in range(n):
        rungs = int(rng.integers(1, 4))
        out.append(tuple(tuple(float(v) for v in rng.integers(0, 4, 2)) for _ in range(rungs)))
    return out


def test_hurdles_is_a_strict_partial_order() -> None:
    rng = np.random.default_rng(0)
    scores = random_scores(rng, 40)
    for a in scores:
        assert not dominates(a, a, "hurdles")
    for a, b, c in itertools.product(scores[:25], repeat=3):
        if dominates(a, b, "hurdles") and dominates(b, c, "hurdles"):
            assert dominates(a, c, "hurdles")


def test_no_eviction_is_acyclic_and_never_lets_fewer_rungs_win() -> None:
    rng = np.random.default_rng(1)
    scores = random_scores(rng, 30)
    for a, b in itertools.product(scores, repeat=2):
        if len(a) < len(b):
            assert not dominates(a, b, "no-eviction")
    for a, b, c in itertools.product(scores[:20], repeat=3):
        cycle = [dominates(a, b, "no-eviction"), dominates(b, c, "no-eviction")]
        assert not (all(cycle) and dominates(c, a, "no-eviction"))


@pytest.mark.parametrize("rule", sorted(COMPARE))
def test_every_rule_is_pareto_dominance_on_one_rung(rule: str) -> None:
    rng = np.random.default_rng(2)
    one_rung = [s[:1] for s in random_scores(rng, 20)]
    for a, b in itertools.product(one_rung, repeat=2):
        pareto = all(x <= y for x, y in zip(a[0], b[0], strict=True)) and a[0] != b[0]
        assert dominates(a, b, rule) == pareto
