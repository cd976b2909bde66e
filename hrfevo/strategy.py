"""The search-strategy interface: ask for candidates, tell their objectives (as in pymoo)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from hrfevo.fidelity import Fidelity, Score
from hrfevo.problem import Candidate, Objectives, Problem


@dataclass(frozen=True)
class Member:
    """A population member: the candidate, its key and its score (its objectives at every rung
    of the fidelity ladder it reached, see `hrfevo.fidelity`; one rung without a ladder)."""

    candidate: Candidate
    key: str
    score: Score

    @property
    def objectives(self) -> Objectives:
        """The objectives at the highest rung reached."""
        return self.score[-1]

    def to_dict(self) -> dict[str, Any]:
        return {
            "candidate": self.candidate,
            "key": self.key,
            "score": [list(objectives) for objectives in self.score],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Member:
        return cls(d["candidate"], d["key"], tuple(tuple(o) for o in d["score"]))


class Strategy(ABC):
    """Keeps a population; `ask` proposes one generation, `tell` takes its objectives back.

    The RNG is passed in, and its state is part of `state_dict`, so a checkpointed strategy
    proposes exactly what an uninterrupted one would.
    """

    def __init__(
        self,
        problem: Problem,
        population_size: int,
        rng: np.random.Generator,
        seeds: list[Candidate] | None = None,
        compare: str = Fidelity.compare,
    ) -> None:
        """`compare`: how scores of different rungs compare (`hrfevo.fidelity.COMPARE`), for
        strategies that rank members."""
        self.problem, self.size, self.rng = problem, population_size, rng
        self.compare = compare
        self.seeds = list(seeds or [])[:population_size]
        self.population: list[Member] = []

    def initial(self) -> list[Candidate]:
        """Generation 0: the seed candidates, then random ones up to the population size."""
        return self.seeds + [
            self.problem.sample(self.rng) for _ in range(self.size - len(self.seeds))
        ]

    @abstractmethod
    def ask(self) -> list[Candidate]: ...

    @abstractmethod
    def tell(self, candidates: list[Candidate], scores: list[Score]) -> None: ...

    def rescore(self, score: Callable[[str], Score]) -> None:
        """Take the current score of every member: a promotion adds a rung to a member's."""
        self.population = [replace(m, score=score(m.key)) for m in self.population]

    def state_dict(self) -> dict[str, Any]:
        return {
            "population": [m.to_dict() for m in self.population],
            "rng": self.rng.bit_generator.state,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.population = [Member.from_dict(m) for m in state["population"]]
        self.rng.bit_generator.state = state["rng"]
