"""The fidelity ladder: successive halving on Pareto rank, decided the same way on every run.

A ladder is a list of training budgets, its rungs (S0 < S1 < ...), and a share F to promote.
Every new genome is evaluated at rung 0. At each rung, genomes enter in a fixed order (rung 0:
the order they were first proposed; rung r+1: the order they were promoted in). Walking that
order, once k genomes have their rung-r result, ⌊k·F⌋ of them have been promoted to rung r+1:
each time that quota grows, the best of the k not yet promoted (non-dominated rank, then
crowding distance, then key) goes up. This is asynchronous successive halving (ASHA, Li et al.
2020) with Pareto ranking in place of a loss, as in Syne Tune's MOASHA, with two changes:
- the order of arrival is replaced by the order of proposal, so the promotions do not depend on
  which evaluation happened to finish first, and a run resumed after a kill promotes exactly
  what the uninterrupted run promoted;
- promotions follow a quota, so a rung costs exactly its share: ASHA's rule (promote whatever
  is in the current top F) promotes more than F of a rung whenever early leaders are overtaken.

A genome's *score* is its objectives at every rung it reached, from rung 0 up. Two genomes are
compared on the highest rung both reached (`dominates`): a result from a short budget is only
ever weighed against results from the same budget, so no genome gains from being trained less.
"""

from __future__ import annotations

import itertools
import math
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import moocore
import numpy as np

from hrfevo.problem import Objectives

Score = tuple[Objectives, ...]  # objectives at rungs 0..top


@dataclass(frozen=True)
class Fidelity:
    rungs: tuple[int, ...]  # training steps at each rung, increasing
    promote: float = 1 / 3  # the share of each rung promoted to the next

    def __post_init__(self) -> None:
        rungs = self.rungs
        if (
            not isinstance(rungs, list | tuple)
            or not rungs
            or any(not isinstance(s, int) or isinstance(s, bool) or s < 1 for s in rungs)
            or any(a >= b for a, b in itertools.pairwise(rungs))
        ):
            raise ValueError(f"fidelity.rungs={rungs!r}: must be increasing positive step counts")
        object.__setattr__(self, "rungs", tuple(rungs))
        if not isinstance(self.promote, int | float) or not 0 < self.promote < 1:
            raise ValueError(f"fidelity.promote={self.promote!r}: must lie in (0, 1)")

    @property
    def top(self) -> int:
        return len(self.rungs) - 1

    def to_dict(self) -> dict[str, Any]:
        return {"rungs": list(self.rungs), "promote": self.promote}

    @classmethod
    def from_dict(cls, d: Any) -> Fidelity:
        if not isinstance(d, dict) or not set(d) <= {"rungs", "promote"} or "rungs" not in d:
            raise ValueError(f"fidelity={d!r}: expected {{rungs: [S0, S1, ...], promote: F}}")
        rungs = tuple(d["rungs"]) if isinstance(d["rungs"], list) else d["rungs"]
        return cls(rungs, d.get("promote", 1 / 3))


def dominates(a: Score, b: Score) -> bool:
    """Whether `a` dominates `b` on the highest rung both reached (then, at equal objectives,
    the one that went further wins). With one rung each, plain Pareto dominance."""
    rung = min(len(a), len(b)) - 1
    x, y = a[rung], b[rung]
    # None worse, and one better or a rung more. (NSGA-II calls this O(μ²) times a generation:
    # map is 4x faster than generators.)
    return all(map(operator.le, x, y)) and (x != y or len(a) > len(b))


def nondominated(scores: Sequence[Score]) -> list[bool]:
    """Which scores no other score dominates."""
    if all(len(s) == 1 for s in scores):  # one rung: moocore's fast path
        if not scores:
            return []
        points = np.array([s[0] for s in scores])
        return [bool(x) for x in moocore.is_nondominated(points, keep_weakly=True)]
    others = list(enumerate(scores))
    return [not any(dominates(o, s) for j, o in others if j != i) for i, s in others]


def ranking(points: np.ndarray, keys: Sequence[str]) -> list[int]:
    """Indices of `points` (objectives to minimise, one row each) from best to worst:
    non-dominated rank, then crowding distance within the rank (larger first), then key."""
    ranks = moocore.pareto_rank(points)
    crowding = np.zeros(len(points))
    for r in np.unique(ranks):
        crowding[ranks == r] = _crowding(points[ranks == r])
    return sorted(range(len(points)), key=lambda i: (ranks[i], -crowding[i], keys[i]))


def _crowding(points: np.ndarray) -> np.ndarray:
    """NSGA-II's crowding distance: the extremes of each objective are infinitely far."""
    n, distance = len(points), np.zeros(len(points))
    if n <= 2:
        return np.full(n, math.inf)
    for j in range(points.shape[1]):
        order = np.argsort(points[:, j], kind="stable")
        span = points[order[-1], j] - points[order[0], j]
        distance[order[0]] = distance[order[-1]] = math.inf
        if span > 0:
            distance[order[1:-1]] += (points[order[2:], j] - points[order[:-2], j]) / span
    return distance


class Ladder:
    """Decides promotions from the results in, in the fixed order described above.

    `entries[r]` lists the genomes that entered rung r, in order; `update` extends them from
    `result(key, rung)` (the objectives of a finished evaluation, None while it is pending; a
    failed genome's result is None forever, and it is never promoted).
    """

    def __init__(self, fidelity: Fidelity) -> None:
        self.fidelity = fidelity
        self.entries: list[list[str]] = [[] for _ in fidelity.rungs]
        self._seen = [0] * len(fidelity.rungs)  # prefix length already decided, per rung

    def update(
        self,
        proposed: Sequence[str],
        result: Callable[[str, int], Objectives | None],
        done: Callable[[str, int], bool],
    ) -> list[tuple[str, int]]:
        """Promotions newly decided, as (key, rung) pairs in order. `proposed` is every key
        proposed so far, in order (rung 0's entries); `done(key, rung)` says whether that
        evaluation has finished (ok or not)."""
        self.entries[0] = list(proposed)
        new: list[tuple[str, int]] = []
        for rung in range(self.fidelity.top):
            order = self.entries[rung]
            ready = self._seen[rung]
            while ready < len(order) and done(order[ready], rung):
                ready += 1
            above = self.entries[rung + 1]
            for k in range(self._seen[rung] + 1, ready + 1):
                quota = math.floor(k * self.fidelity.promote + 1e-9)
                while len(above) < quota:
                    best = self._best(order[:k], set(above), rung, result)
                    if best is None:
                        break
                    above.append(best)
                    new.append((best, rung + 1))
            self._seen[rung] = ready
        return new

    def _best(
        self,
        keys: list[str],
        promoted: set[str],
        rung: int,
        result: Callable[[str, int], Objectives | None],
    ) -> str | None:
        """The best of `keys` at `rung` not yet promoted, among those with a result."""
        ok = [k for k in keys if k not in promoted and result(k, rung) is not None]
        if not ok:
            return None
        points = np.array([result(k, rung) for k in ok], dtype=float)
        return ok[ranking(points, ok)[0]]


def kendall_tau(x: Sequence[float], y: Sequence[float]) -> float:
    """Kendall's τ-b (ties counted as in scipy.stats.kendalltau); NaN below two points."""
    a, b = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if len(a) < 2:
        return math.nan
    i, j = np.triu_indices(len(a), k=1)
    da, db = np.sign(a[i] - a[j]), np.sign(b[i] - b[j])
    concordant = float(np.sum(da * db))
    ties_a, ties_b = float(np.sum(da == 0)), float(np.sum(db == 0))
    pairs = float(len(i))
    denominator = math.sqrt((pairs - ties_a) * (pairs - ties_b))
    return concordant / denominator if denominator > 0 else math.nan


def spearman(x: Sequence[float], y: Sequence[float]) -> float:
    """Spearman's ρ: the Pearson correlation of the ranks (ties get their mean rank)."""
    if len(x) < 2:
        return math.nan
    rx, ry = _ranks(np.asarray(x, dtype=float)), _ranks(np.asarray(y, dtype=float))
    if rx.std() == 0 or ry.std() == 0:
        return math.nan
    return float(np.corrcoef(rx, ry)[0, 1])


def _ranks(v: np.ndarray) -> np.ndarray:
    order = np.argsort(v, kind="stable")
    ranks = np.empty(len(v))
    ranks[order] = np.arange(len(v), dtype=float)
    for value in np.unique(v):  # ties: their mean rank
        ranks[v == value] = ranks[v == value].mean()
    return ranks
