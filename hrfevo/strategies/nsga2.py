"""NSGA-II (Deb et al. 2002) with DEAP's non-dominated sorting and crowding distance.

Each generation: binary tournaments on (front rank, crowding distance) pick μ/2 pairs of
parents, the problem's variation makes two children of each pair, and DEAP's `selNSGA2` keeps
the best μ of parents and children. The tournaments are drawn from two permutations of the
population, as DEAP's `selTournamentDCD` and pymoo's `TournamentSelection` draw them: every
member enters exactly two, and a pair's two tournaments have four different entrants, so no
member mates with itself (entrants drawn with replacement let one do so, and propose clones).
reports/nsga2.md measures these choices against the old ones and pymoo's on ZDT1-3 and DTLZ2.
The tournaments draw from the strategy's own RNG (DEAP's would use the global `random`).

Dominance is `hrfevo.fidelity.dominates` under the ladder's `compare` rule: with a fidelity
ladder, by default a member that reached a higher rung ranks first (hurdles), and members of
one rung are compared there (plain Pareto dominance without a ladder); the crowding distance
is measured on each member's highest-rung objectives.
"""

from __future__ import annotations

import math
from functools import cache

import numpy as np
from deap import base, tools

from hrfevo.fidelity import Fidelity, Score, dominates
from hrfevo.problem import Candidate
from hrfevo.strategy import Member, Strategy


class _RungFitness(base.Fitness):
    """A DEAP fitness over a member's score: `values` are its highest-rung objectives (what
    crowding measures), and dominance (under the `compare` rule) and equality look at every
    rung."""

    score: Score
    compare: str

    def dominates(self, other: base.Fitness, obj: slice = slice(None)) -> bool:
        return dominates(self.score, other.score, self.compare)

    def __hash__(self) -> int:
        return hash(self.score)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _RungFitness) and self.score == other.score


@cache
def _fitness_class(n_objectives: int) -> type[_RungFitness]:
    """A fitness that minimises n objectives (built here, not with DEAP's creator at import)."""
    return type(f"Minimise{n_objectives}", (_RungFitness,), {"weights": (-1.0,) * n_objectives})


class _Individual:
    """What DEAP's selection functions need: a `fitness`, plus the member it stands for."""

    def __init__(self, member: Member, compare: str) -> None:
        self.member = member
        self.fitness = _fitness_class(len(member.objectives))(member.objectives)
        self.fitness.score, self.fitness.compare = member.score, compare


def select(members: list[Member], k: int, compare: str = Fidelity.compare) -> list[Member]:
    """DEAP's NSGA-II environmental selection: the best k by front, then crowding distance."""
    inds = [_Individual(m, compare) for m in members]
    return [ind.member for ind in tools.selNSGA2(inds, k)]


def rank_and_crowding(
    members: list[Member], compare: str = Fidelity.compare
) -> list[tuple[int, float]]:
    """(front index, crowding distance) of each member."""
    inds = [_Individual(m, compare) for m in members]
    scores: dict[int, tuple[int, float]] = {}
    for rank, front in enumerate(tools.sortNondominated(inds, len(inds))):
        tools.emo.assignCrowdingDist(front)
        scores |= {id(ind): (rank, ind.fitness.crowding_dist) for ind in front}
    return [scores[id(ind)] for ind in inds]


def unique(members: list[Member]) -> list[Member]:
    """First occurrence of each key: a duplicate would only crowd the population."""
    first: dict[str, Member] = {}
    for m in members:
        first.setdefault(m.key, m)
    return list(first.values())


class NSGA2(Strategy):
    def ask(self) -> list[Candidate]:
        if not self.population:
            return self.initial()
        pairs = self._parents(math.ceil(self.size / 2))
        children = [
            c for a, b in pairs for c in self.problem.vary(a.candidate, b.candidate, self.rng)
        ]
        return children[: self.size]

    def _parents(self, n_pairs: int) -> list[tuple[Member, Member]]:
        """n_pairs pairs of binary-tournament winners (lower rank wins, then larger crowding;
        a tie goes to the first entrant, who is random).

        The entrants are consecutive permutations of the population, four to a pair: with μ
        a multiple of 4 and 2·n_pairs = μ, every member enters two tournaments and no pair
        shares an entrant (otherwise a pair that straddles two permutations may).
        """
        scores = rank_and_crowding(self.population, self.compare)
        n, entrants = len(self.population), 4 * n_pairs
        order = np.concatenate([self.rng.permutation(n) for _ in range(math.ceil(entrants / n))])

        def winner(i: int, j: int) -> Member:
            (ri, ci), (rj, cj) = scores[i], scores[j]
            return self.population[i if (ri, -ci) <= (rj, -cj) else j]

        quads = order[:entrants].reshape(n_pairs, 4).tolist()
        return [(winner(i, j), winner(k, m)) for i, j, k, m in quads]

    def tell(self, candidates: list[Candidate], scores: list[Score]) -> None:
        new = [Member(c, self.problem.key(c), s) for c, s in zip(candidates, scores, strict=True)]
        pool = unique(self.population + new)
        self.population = select(pool, min(self.size, len(pool)), self.compare)
