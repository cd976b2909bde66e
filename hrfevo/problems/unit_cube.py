"""Benchmark problems on the unit cube [0, 1]^n, with the real-coded NSGA-II's variation.

Variation is simulated binary crossover (SBX) and polynomial mutation (Deb & Agrawal 1995),
bounded to [0, 1], as in DEAP's `cxSimulatedBinaryBounded` and `mutPolynomialBounded` and
pymoo's `SBX` and `PM`, but vectorised and drawing from the explicit RNG instead of a global.
A pair of parents makes two children, whose crossed genes lie on either side of the parents'
mean; each child is then mutated. The defaults were chosen by `benchmarks/nsga2.py` (see
reports/nsga2.md).
"""

from __future__ import annotations

import hashlib
import json
from abc import abstractmethod
from typing import Any

import numpy as np

from hrfevo.problem import Candidate, Encoding, Objectives, Param, Params, Problem

# Chosen on ZDT1-3 and DTLZ2 by benchmarks/nsga2.py (reports/nsga2.md): crossing every pair
# proposes no clones (at 0.9, 3.6% of children were unmutated copies of a parent) and ranked
# better, and ηc = 15 lost the ends of ZDT2's front half as often as ηc = 20.
CROSSOVER_PROB = 1.0  # chance that a pair is crossed (else both children copy a parent)
ETA_C = 15.0  # SBX distribution index: larger keeps children nearer their parents
ETA_M = 20.0  # polynomial mutation's distribution index (Deb's and pymoo's)
SAME = 1e-14  # genes closer than this are not crossed: SBX's spread is undefined at zero gap


def _spread(beta: np.ndarray, eta: float, u: np.ndarray) -> np.ndarray:
    """SBX's spread factor βq for uniform draws u, bounded so that a child stays in range."""
    alpha = 2.0 - beta ** -(eta + 1)
    inside = (u * alpha) ** (1 / (eta + 1))
    outside = (1 / (2 - u * alpha)) ** (1 / (eta + 1))
    return np.where(u <= 1 / alpha, inside, outside)


def sbx(
    a: np.ndarray, b: np.ndarray, eta: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Two children of bounded SBX on [0, 1], each gene crossed with probability 1/2."""
    n = len(a)
    cross = (rng.random(n) <= 0.5) & (np.abs(a - b) > SAME)
    u, swap = rng.random(n), rng.random(n) <= 0.5
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    gap = np.where(cross, hi - lo, 1.0)  # any positive gap where a gene is not crossed
    below = 0.5 * (lo + hi - _spread(1 + 2 * lo / gap, eta, u) * gap)
    above = 0.5 * (lo + hi + _spread(1 + 2 * (1 - hi) / gap, eta, u) * gap)
    x = np.where(cross, np.where(swap, above, below), a)
    y = np.where(cross, np.where(swap, below, above), b)
    return np.clip(x, 0.0, 1.0), np.clip(y, 0.0, 1.0)


def polynomial_mutation(
    x: np.ndarray, eta: float, rate: float, rng: np.random.Generator
) -> np.ndarray:
    """Bounded polynomial mutation on [0, 1], each gene with probability `rate`."""
    hit, u = rng.random(len(x)) < rate, rng.random(len(x))
    power = 1.0 / (eta + 1)
    down = (2 * u + (1 - 2 * u) * (1 - x) ** (eta + 1)) ** power - 1  # u < 1/2: towards 0
    up = 1 - (2 * (1 - u) + 2 * (u - 0.5) * x ** (eta + 1)) ** power  # else towards 1
    return np.clip(np.where(hit, x + np.where(u < 0.5, down, up), x), 0.0, 1.0)


class UnitCubeProblem(Problem):
    """Minimise `f(x)` over x in [0, 1]^n_dim. Candidates are {"x": [x0, ..., xn-1]}.

    `hv_optimum` is the hypervolume of the true Pareto front at `hv_reference`, so a run's
    shortfall from it measures how far its front is from the truth.
    """

    hv_optimum: float

    def __init__(
        self,
        n_dim: int,
        crossover_prob: float = CROSSOVER_PROB,
        eta_c: float = ETA_C,
        eta_m: float = ETA_M,
    ) -> None:
        self.n_dim, self.crossover_prob, self.eta_c, self.eta_m = (
            n_dim,
            crossover_prob,
            eta_c,
            eta_m,
        )

    @abstractmethod
    def f(self, x: np.ndarray) -> Objectives:
        """The objectives of the point x."""

    def sample(self, rng: np.random.Generator) -> Candidate:
        return self._candidate(rng.random(self.n_dim))

    def vary(
        self, a: Candidate, b: Candidate, rng: np.random.Generator
    ) -> tuple[Candidate, Candidate]:
        x, y = np.array(a["x"]), np.array(b["x"])
        if rng.random() < self.crossover_prob:
            x, y = sbx(x, y, self.eta_c, rng)
        rate = 1.0 / self.n_dim  # one gene per child on average, as Deb et al. recommend
        x, y = (polynomial_mutation(c, self.eta_m, rate, rng) for c in (x, y))
        return self._candidate(x), self._candidate(y)

    def _candidate(self, x: np.ndarray) -> Candidate:
        return {"x": x.round(12).tolist()}  # rounded: the key is the JSON text

    def key(self, x: Candidate) -> str:
        return hashlib.sha256(json.dumps(x["x"]).encode()).hexdigest()[:16]

    def evaluate(self, x: Candidate, rung: int = 0, start: bytes | None = None) -> dict[str, Any]:
        values = self.f(np.array(x["x"]))
        metrics = {name: float(v) for name, v in zip(self.objective_names, values, strict=True)}
        return {"status": "ok", "metrics": metrics, "timings": {}}

    def objectives(self, record: dict[str, Any]) -> Objectives:
        return tuple(float(record["metrics"][name]) for name in self.objective_names)

    def encoding(self) -> UnitCubeEncoding:
        return UnitCubeEncoding(self.n_dim)


class UnitCubeEncoding(Encoding):
    """Candidates {"x": [x0, ..., xn-1]} on [0, 1]^n, one float parameter per coordinate."""

    def __init__(self, n_dim: int) -> None:
        self.params = [Param(f"x{i}") for i in range(n_dim)]

    def decode(self, params: Params) -> Candidate:
        return {"x": [round(float(params[p.name]), 12) for p in self.params]}

    def encode(self, x: Candidate) -> Params:
        return {p.name: float(v) for p, v in zip(self.params, x["x"], strict=True)}
