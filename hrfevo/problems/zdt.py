"""ZDT1 (Zitzler, Deb & Thiele 2000), the standard check that the NSGA-II loop converges.

Variation is simulated binary crossover and polynomial mutation (Deb & Agrawal 1995), bounded
to [0, 1], as in DEAP's `cxSimulatedBinaryBounded` and `mutPolynomialBounded`, but drawing from
the explicit RNG instead of the global `random`.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import numpy as np

from hrfevo.problem import Candidate, Objectives, Problem


def zdt1(x: np.ndarray) -> tuple[float, float]:
    g = 1.0 + 9.0 * float(np.mean(x[1:]))
    return float(x[0]), g * (1.0 - np.sqrt(x[0] / g))


def _spread(beta: float, eta: float, u: float) -> float:
    alpha = 2.0 - beta ** -(eta + 1)
    return (
        (u * alpha) ** (1 / (eta + 1))
        if u <= 1 / alpha
        else (1 / (2 - u * alpha)) ** (1 / (eta + 1))
    )


def sbx(a: np.ndarray, b: np.ndarray, eta: float, rng: np.random.Generator) -> np.ndarray:
    """One child of bounded simulated binary crossover on [0, 1], each gene with probability 1/2."""
    child = a.copy()
    for i in np.flatnonzero(rng.random(len(a)) <= 0.5):
        lo, hi = sorted((a[i], b[i]))
        if hi - lo <= 1e-14:
            continue
        u = rng.random()
        below = 0.5 * (lo + hi - _spread(1 + 2 * lo / (hi - lo), eta, u) * (hi - lo))
        above = 0.5 * (lo + hi + _spread(1 + 2 * (1 - hi) / (hi - lo), eta, u) * (hi - lo))
        child[i] = below if rng.random() <= 0.5 else above
    return np.clip(child, 0.0, 1.0)


def polynomial_mutation(
    x: np.ndarray, eta: float, rate: float, rng: np.random.Generator
) -> np.ndarray:
    """Bounded polynomial mutation on [0, 1], each gene with probability `rate`."""
    y = x.copy()
    for i in np.flatnonzero(rng.random(len(x)) < rate):
        u, power = rng.random(), 1.0 / (eta + 1)
        if u < 0.5:
            delta = (2 * u + (1 - 2 * u) * (1 - y[i]) ** (eta + 1)) ** power - 1
        else:
            delta = 1 - (2 * (1 - u) + 2 * (u - 0.5) * y[i] ** (eta + 1)) ** power
        y[i] += delta
    return np.clip(y, 0.0, 1.0)


class ZDT1(Problem):
    """ZDT1 on [0, 1]^n_dim. Its true front is f2 = 1 - √f1 (hypervolume 120.777 at (11, 11))."""

    objective_names = ("f1", "f2")
    hv_reference = (11.0, 11.0)

    def __init__(self, n_dim: int = 30, eta: float = 20.0) -> None:
        self.n_dim, self.eta = n_dim, eta

    def sample(self, rng: np.random.Generator) -> Candidate:
        return {"x": rng.random(self.n_dim).round(12).tolist()}

    def vary(self, a: Candidate, b: Candidate, rng: np.random.Generator) -> Candidate:
        child = sbx(np.array(a["x"]), np.array(b["x"]), self.eta, rng)
        child = polynomial_mutation(child, self.eta, 1.0 / self.n_dim, rng)
        return {"x": child.round(12).tolist()}

    def key(self, x: Candidate) -> str:
        return hashlib.sha256(json.dumps(x["x"]).encode()).hexdigest()[:16]

    def evaluate(self, x: Candidate, rung: int = 0, start: bytes | None = None) -> dict[str, Any]:
        f1, f2 = zdt1(np.array(x["x"]))
        return {"status": "ok", "metrics": {"f1": f1, "f2": f2}, "timings": {}}

    def objectives(self, record: dict[str, Any]) -> Objectives:
        return record["metrics"]["f1"], record["metrics"]["f2"]
