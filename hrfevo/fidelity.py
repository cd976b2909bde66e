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

A genome's *score* is its objectives at every rung it reached, from rung 0 up. How a strategy
compares two scores that reached different rungs is the ladder's `compare` rule (`COMPARE`):

- "hurdles" (the default): the genome that reached the higher rung wins; at the same rung,
  Pareto dominance there. This is the progressive dynamic hurdles of the Evolved Transformer
  (So et al. 2019) applied to selection: clearing a hurdle ranks above any result that did
  not. It is a strict partial order (lexicographic in (rung, objectives)), so non-dominated
  sorting is well defined, and a confirmed genome is never removed by an unconfirmed one.
- "no-eviction": compare on the highest rung both reached, but a genome never dominates one
  that reached a higher rung, so an unconfirmed challenger never evicts a confirmed genome. It
  is acyclic (along a chain of dominance the rungs reached never rise, and at one rung it is
  Pareto dominance), so non-dominated sorting peels the same fronts as its transitive closure.

Runs written before format 5 compared on the highest rung both reached, whoever went further.
That rule is not transitive and can cycle (B beats C at rung 0, C beats A at rung 2, A beats B
at rung 0), which leaves non-dominated sorting without a first front (DEAP's sort then never
returns), and a rung-0 result could evict a genome confirmed at the top rung.
tests/hrfevo/test_rung_rules.py keeps both examples.

Rung 0 ranks badly when it is short (`reports/fidelity.md`: 120 of 960 steps order genomes as
8x training does with Kendall τ 0.03 on Tiny Shakespeare). With `forecast_from`, rung 0 reads
the validation loss twice, at `forecast_from` steps (a decay branched off the run) and at its
own end, and ranks genomes by the loss `forecast` extrapolates from the two to the top rung:
the learning curve's shape, not only its height, for a tenth more steps.

Why "hurdles" is the default: `reports/multifidelity.md` ran both rules through the `tiny`
ladder on Tiny Shakespeare, 3 seeds of 720 CPU-seconds each, judged by the top-rung hypervolume,
and they tie (3.099 ± 0.050 against 3.097 ± 0.070). With no measured difference, the default is
the rule with the stronger guarantee: hurdles is transitive, no-eviction only acyclic.
Whatever the rule, what a run *reports* is its confirmed front (`hrfevo.pareto.front`): top-rung
results only.
"""

from __future__ import annotations

import itertools
import math
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from types import SimpleNamespace
from typing import Any

import moocore
import numpy as np
from deap import tools

from hrfevo.problem import Objectives

Score = tuple[Objectives, ...]  # objectives at rungs 0..top


@dataclass(frozen=True)
class Fidelity:
    rungs: tuple[int, ...]  # training steps at each rung, increasing
    promote: float = 1 / 3  # the share of each rung promoted to the next
    compare: str = "hurdles"  # how selection compares scores of different rungs: COMPARE
    # Steps of a first read inside rung 0, which then ranks by the top rung's forecast loss
    # (`forecast`); None: rung 0 ranks by its own loss.
    forecast_from: int | None = None

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
        if self.compare not in COMPARE:
            raise ValueError(f"fidelity.compare={self.compare!r}: choose {', '.join(COMPARE)}")
        early = self.forecast_from
        if early is not None and not (
            isinstance(early, int) and not isinstance(early, bool) and 0 < early < rungs[0]
        ):
            why = f"must be a step count below the first rung's {rungs[0]}, or null"
            raise ValueError(f"fidelity.forecast_from={early!r}: {why}")
        if early is not None and len(rungs) == 1:
            raise ValueError("fidelity.forecast_from: forecasts the top rung, so needs two rungs")

    @property
    def top(self) -> int:
        return len(self.rungs) - 1

    def quota(self, k: int) -> int:
        """How many of a rung's first k results are promoted to the next: ⌊k·F⌋."""
        return math.floor(k * self.promote + 1e-9)

    def to_dict(self) -> dict[str, Any]:
        return {
            "rungs": list(self.rungs),
            "promote": self.promote,
            "compare": self.compare,
            "forecast_from": self.forecast_from,
        }

    @classmethod
    def from_dict(cls, d: Any) -> Fidelity:
        known = {f.name for f in fields(cls)}
        if not isinstance(d, dict) or not set(d) <= known or "rungs" not in d:
            raise ValueError(
                f"fidelity={d!r}: expected {{rungs: [S0, S1, ...], promote: F, compare: RULE, "
                "forecast_from: STEPS}"
            )
        rungs = tuple(d["rungs"]) if isinstance(d["rungs"], list) else d["rungs"]
        return cls(**(d | {"rungs": rungs}))


def _pareto(x: Objectives, y: Objectives) -> bool | None:
    """Whether x Pareto-dominates y (minimising); None when they are equal."""
    # NSGA-II calls the rules O(μ²) times a generation: map is 4x faster than generators.
    if x == y:
        return None
    return all(map(operator.le, x, y))


def _hurdles(a: Score, b: Score) -> bool:
    if len(a) != len(b):
        return len(a) > len(b)
    return bool(_pareto(a[-1], b[-1]))


def _no_eviction(a: Score, b: Score) -> bool:
    if len(a) < len(b):
        return False
    better = _pareto(a[len(b) - 1], b[len(b) - 1])
    return len(a) > len(b) if better is None else better


COMPARE: dict[str, Callable[[Score, Score], bool]] = {
    "hurdles": _hurdles,
    "no-eviction": _no_eviction,
}


def dominates(a: Score, b: Score, compare: str = Fidelity.compare) -> bool:
    """Whether score `a` dominates `b` under the `compare` rule (module docstring). With one
    rung each, every rule is plain Pareto dominance."""
    return COMPARE[compare](a, b)


def forecast(early: tuple[int, float], late: tuple[int, float], steps: int) -> float:
    """The loss at `steps` on the learning curve L(t) = a + b/t through two (steps, loss) reads,
    floored at 0 (a loss cannot be negative).

    A power law in the steps is the usual form of a learning curve (Domhan et al. 2015 fit a
    family of them); with two points its exponent cannot be fitted as well, and -1 ranked best
    among -0.5, -1 and -2 on the calibration genomes (`reports/fidelity.md`).
    """
    (t1, loss1), (t2, loss2) = early, late
    b = (loss1 - loss2) / (1 / t1 - 1 / t2)
    return max(0.0, loss2 + b * (1 / steps - 1 / t2))


def ranking(points: np.ndarray, keys: Sequence[str]) -> list[int]:
    """Indices of `points` (objectives to minimise, one row each) from best to worst:
    non-dominated rank, then crowding distance within the rank (larger first), then key."""
    ranks = moocore.pareto_rank(points)
    crowding = np.zeros(len(points))
    for r in np.unique(ranks):
        crowding[ranks == r] = _crowding(points[ranks == r])
    return sorted(range(len(points)), key=lambda i: (ranks[i], -crowding[i], keys[i]))


def _crowding(points: np.ndarray) -> np.ndarray:
    """NSGA-II's crowding distance, DEAP's (as `strategies.nsga2` uses it): the extremes of
    each objective are infinitely far."""
    inds = [SimpleNamespace(fitness=SimpleNamespace(values=tuple(p))) for p in points.tolist()]
    tools.emo.assignCrowdingDist(inds)
    return np.array([ind.fitness.crowding_dist for ind in inds], dtype=float)


class Promotions:
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
                quota = self.fidelity.quota(k)
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
