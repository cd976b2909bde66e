"""ZDT1, ZDT2 and ZDT3 (Zitzler, Deb & Thiele 2000): two objectives over [0, 1]^n.

f1 = x0, and f2 = g·h(f1, g) with g = 1 + 9·mean(x1..xn-1), so the true front is g = 1
(x1..xn-1 = 0) and f2 = h(f1, 1). The three test what NSGA-II must do besides converge:
- ZDT1: a convex front, f2 = 1 - √f1;
- ZDT2: a concave one, f2 = 1 - f1², where a population easily collapses to its f1 = 0 end;
- ZDT3: five disconnected pieces of f2 = 1 - √f1 - f1·sin(10π f1), f1 in [0, 0.8518].

The hypervolume reference is (11, 11), DEAP's for ZDT1: every point of [0, 1]^n dominates it,
so a run's hypervolume counts from its first generation. The true fronts' hypervolumes there
are 121 - ∫ h: 120 + 2/3 (ZDT1), 120 + 1/3 (ZDT2), and 128.77812 for ZDT3 (121 minus the
integral of the running minimum of h over [0, 1], minus 10 times its minimum -0.77337).
"""

from __future__ import annotations

import math

import numpy as np

from hrfevo.problem import Objectives
from hrfevo.problems.unit_cube import CROSSOVER_PROB, ETA_C, ETA_M, UnitCubeProblem


def _g(x: np.ndarray) -> float:
    return 1.0 + 9.0 * float(np.mean(x[1:]))


def zdt1(x: np.ndarray) -> tuple[float, float]:
    g = _g(x)
    return float(x[0]), g * (1.0 - math.sqrt(x[0] / g))


def zdt2(x: np.ndarray) -> tuple[float, float]:
    g = _g(x)
    return float(x[0]), g * (1.0 - (x[0] / g) ** 2)


def zdt3(x: np.ndarray) -> tuple[float, float]:
    g = _g(x)
    return float(x[0]), g * (1.0 - math.sqrt(x[0] / g) - x[0] / g * math.sin(10 * math.pi * x[0]))


class ZDT(UnitCubeProblem):
    """A ZDT problem on [0, 1]^n_dim (30 variables in the original)."""

    objective_names = ("f1", "f2")
    hv_reference = (11.0, 11.0)

    def __init__(
        self,
        n_dim: int = 30,
        crossover_prob: float = CROSSOVER_PROB,
        eta_c: float = ETA_C,
        eta_m: float = ETA_M,
    ) -> None:
        super().__init__(n_dim, crossover_prob, eta_c, eta_m)


class ZDT1(ZDT):
    """Convex front f2 = 1 - √f1 (hypervolume 120.66667 at (11, 11))."""

    hv_optimum = 120.0 + 2.0 / 3.0

    def f(self, x: np.ndarray) -> Objectives:
        return zdt1(x)


class ZDT2(ZDT):
    """Concave front f2 = 1 - f1² (hypervolume 120.33333 at (11, 11))."""

    hv_optimum = 120.0 + 1.0 / 3.0

    def f(self, x: np.ndarray) -> Objectives:
        return zdt2(x)


class ZDT3(ZDT):
    """Five disconnected pieces of f2 = 1 - √f1 - f1·sin(10π f1) (hypervolume 128.77812)."""

    hv_optimum = 128.77812

    def f(self, x: np.ndarray) -> Objectives:
        return zdt3(x)
