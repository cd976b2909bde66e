"""NSGA-II (Deb et al. 2002) with DEAP's non-dominated sorting and crowding distance.

Each generation: binary tournaments on (front rank, crowding distance) pick parents, the
problem's variation makes μ children, and DEAP's `selNSGA2` keeps the best μ of parents and
children. Only the tournaments draw random numbers, from the strategy's own RNG (DEAP's
`selTournamentDCD` would use the global `random`).

Dominance is `hrfevo.fidelity.dominates`: with a fidelity ladder, members are compared on the
highest rung both reached (plain Pareto dominance without one); the crowding distance is
measured on each member's highest-rung objectives.
"""

from __future__ import annotations

from functools import cache

from deap import base, tools

from hrfevo.fidelity import Score, dominates
from hrfevo.problem import Candidate
from hrfevo.strategy import Member, Strategy


class _RungFitness(base.Fitness):
    """A DEAP fitness over a member's score: `values` are its highest-rung objectives (what
    crowding measures), and dominance and equality look at every rung."""

    score: Score

    def dominates(self, other: base.Fitness, obj: slice = slice(None)) -> bool:
        return dominates(self.score, other.score)

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

    def __init__(self, member: Member) -> None:
        self.member = member
        self.fitness = _fitness_class(len(member.objectives))(member.objectives)
        self.fitness.score = member.score


def select(members: list[Member], k: int) -> list[Member]:
    """DEAP's NSGA-II environmental selection: the best k by front, then crowding distance."""
    return [ind.member for ind in tools.selNSGA2([_Individual(m) for m in members], k)]


def rank_and_crowding(members: list[Member]) -> list[tuple[int, float]]:
    """(front index, crowding distance) of each member."""
    inds = [_Individual(m) for m in members]
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
        return [self.problem.vary(a.candidate, b.candidate, self.rng) for a, b in self._parents()]

    def _parents(self) -> list[tuple[Member, Member]]:
        """μ pairs of binary-tournament winners (lower rank wins, then larger crowding)."""
        scores = rank_and_crowding(self.population)
        n = len(self.population)

        def tournament() -> Member:
            i, j = (int(x) for x in self.rng.integers(n, size=2))
            (ri, ci), (rj, cj) = scores[i], scores[j]
            return self.population[i if (ri, -ci) <= (rj, -cj) else j]

        return [(tournament(), tournament()) for _ in range(self.size)]

    def tell(self, candidates: list[Candidate], scores: list[Score]) -> None:
        new = [Member(c, self.problem.key(c), s) for c, s in zip(candidates, scores, strict=True)]
        pool = unique(self.population + new)
        self.population = select(pool, min(self.size, len(pool)))
