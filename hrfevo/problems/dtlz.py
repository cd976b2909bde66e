"""DTLZ2 (Deb, Thiele, Laumanns & Zitzler 2002): m objectives over [0, 1]^n.

The first m-1 variables place a point on the unit sphere's positive orthant, the other k =
n - m + 1 its distance from it: g = Σ (x_i - 0.5)² over those k, and

    f_1 = (1+g) cos(x_0 π/2) … cos(x_{m-2} π/2)
    f_j = (1+g) cos(x_0 π/2) … cos(x_{m-j-1} π/2) sin(x_{m-j} π/2)     (j = 2..m)

so the true front is the sphere itself (g = 0: x_i = 0.5 for the last k), whatever the angles.
With m = 2 and k = 10 (11 variables, as in the paper) it is the quarter circle f1² + f2² = 1.

The hypervolume reference is (11, …, 11), as for ZDT: every point of [0, 1]^n (at most 1 + k/4
from the origin) dominates it. The true front's hypervolume there is 11^m minus the orthant
of the unit ball, π^(m/2) / Γ(m/2 + 1) / 2^m: 121 - π/4 = 120.21460 for m = 2.
"""

from __future__ import annotations

import math

import numpy as np

from hrfevo.problem import Objectives
from hrfevo.problems.unit_cube import CROSSOVER_PROB, ETA_C, ETA_M, UnitCubeProblem

REFERENCE = 11.0  # per objective


def dtlz2(x: np.ndarray, m: int) -> tuple[float, ...]:
    g = float(np.sum((x[m - 1 :] - 0.5) ** 2))
    angles = x[: m - 1] * math.pi / 2
    cos = np.concatenate(([1.0], np.cumprod(np.cos(angles))))  # cos[i] = Π_{l<i} cos(angle_l)
    return tuple(
        (1 + g) * float(cos[m - j]) * (math.sin(angles[m - j]) if j > 1 else 1.0)
        for j in range(1, m + 1)
    )


class DTLZ2(UnitCubeProblem):
    """DTLZ2 with m objectives on [0, 1]^n_dim; the front is the unit sphere's orthant."""

    def __init__(
        self,
        n_dim: int = 11,
        m: int = 2,
        crossover_prob: float = CROSSOVER_PROB,
        eta_c: float = ETA_C,
        eta_m: float = ETA_M,
    ) -> None:
        if not 2 <= m <= n_dim:
            raise ValueError(f"DTLZ2 needs 2 <= m <= n_dim, got m={m}, n_dim={n_dim}")
        super().__init__(n_dim, crossover_prob, eta_c, eta_m)
        self.m = m
        self.objective_names = tuple(f"f{j}" for j in range(1, m + 1))
        self.hv_reference = (REFERENCE,) * m
        orthant = math.pi ** (m / 2) / math.gamma(m / 2 + 1) / 2**m
        self.hv_optimum = REFERENCE**m - orthant

    def f(self, x: np.ndarray) -> Objectives:
        return dtlz2(x, self.m)
