"""Random search: the baseline NSGA-II must beat at the same evaluation budget.

Each generation proposes μ fresh random candidates; the population keeps the best μ seen so
far by NSGA-II's ranking, so its front is the front of everything evaluated.
"""

from __future__ import annotations

from hrfevo.problem import Candidate
from hrfevo.strategies.nsga2 import NSGA2


class RandomSearch(NSGA2):
    def ask(self) -> list[Candidate]:
        if not self.population:
            return self.initial()
        return [self.problem.sample(self.rng) for _ in range(self.size)]
