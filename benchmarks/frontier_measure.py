"""The frontier study's measures: each model's row (its result, FLOPs and parameters), the
gap to the transformer ladder at matched FLOPs, each set's hypervolume, and the contests judged
against seed noise (see `benchmarks/frontier.py`). The report and the scale stage share them."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import cast

import moocore
import numpy as np

from benchmarks.frontier_plan import VOCAB, Job, Plan, Record, Settings
from benchmarks.frontier_train import tuned
from hrfevo.objectives import OBJECTIVES
from model import ModelConfig


@dataclass
class Row:
    """A model with its result (None until trained), and its FLOPs and parameters as built."""

    job: Job
    result: Record | None
    flops: float
    params: int

    @property
    def config(self) -> ModelConfig:
        return ModelConfig.from_dict(self.job.model.config)

    @property
    def loss(self) -> float | None:
        return None if self.result is None else self.result["test_loss"]

    def seeded(self, cache: dict[str, Record], seed: int) -> float | None:
        """The test loss with training seed `seed`, at the learning rate its study chose."""
        if self.result is None or seed == 0:
            return self.loss
        again = dataclasses.replace(self.job, seed=seed, lr=self.result["lr"])
        return cache.get(again.key(), {}).get("test_loss")


def measured(job: Job, cache: dict[str, Record]) -> Row:
    """`job`'s model as built, with its result."""
    model = job.model.built()
    return Row(job, tuned(cache, job), model.flops_per_token(), model.num_parameters())


def rows(p: Plan, cache: dict[str, Record], role: str | None = None) -> list[Row]:
    return [measured(j, cache) for j in (p.jobs if role is None else p.of(role))]


def interpolated(points: list[tuple[float, float | None]], flops: float) -> float | None:
    """The loss at `flops` of (FLOPs, loss) points, linear in log FLOPs between those with a
    loss; None outside them (no extrapolation)."""
    done = sorted((math.log10(f), loss) for f, loss in points if loss is not None)
    x = math.log10(flops)
    if len(done) < 2 or not done[0][0] <= x <= done[-1][0]:
        return None
    return float(np.interp(x, [a for a, _ in done], [b for _, b in done]))


def ladder_at(ladder: list[Row], flops: float) -> float | None:
    """The ladder's test loss at `flops`, between its trained sizes."""
    return interpolated([(r.flops, r.loss) for r in ladder], flops)


def gap(row: Row, ladder: list[Row]) -> float | None:
    """Test loss minus the ladder's at equal FLOPs (negative: the model beats the ladder)."""
    at = ladder_at(ladder, row.flops)
    return None if at is None or row.loss is None else row.loss - at


def hypervolume(members: list[Row]) -> float:
    """On the run's axes (hrfevo.objectives): test loss / ln V and log10 FLOPs, to (1, 9)."""
    loss, cost = OBJECTIVES["perplexity"], OBJECTIVES["flops_per_token"]
    points = [
        (loss.hv_value(math.exp(r.loss), VOCAB), cost.hv_value(r.flops, VOCAB))
        for r in members
        if r.loss is not None
    ]
    if not points:
        return 0.0
    ref = np.array([loss.hv_reference, cost.hv_reference])
    return float(moocore.hypervolume(np.array(points), ref=ref))


@dataclass(frozen=True)
class Contest:
    """A model (a front member or a seeds' design) against the ladder at its FLOPs: the
    trained transformers either side."""

    member: Row
    below: Row
    above: Row

    def losses(self, cache: dict[str, Record], seed: int) -> tuple[float | None, float | None]:
        """With training seed `seed`: the member's test loss and the ladder's at its FLOPs."""
        ladder = [(t.flops, t.seeded(cache, seed)) for t in (self.below, self.above)]
        return self.member.seeded(cache, seed), interpolated(ladder, self.member.flops)


def contests(p: Plan, cache: dict[str, Record], s: Settings) -> list[Contest]:
    """The `pairs` front members with the lowest gaps (where the front is likeliest to beat
    the ladder), then the seeds' designs, each with the two trained transformers either side
    of it in FLOPs."""
    ladder = sorted(
        (r for r in rows(p, cache, "ladder") if r.loss is not None), key=lambda r: r.flops
    )
    scored = sorted(
        ((g, r) for r in rows(p, cache, "front") if (g := gap(r, ladder)) is not None),
        key=lambda x: x[0],
    )
    designs = [r for r in rows(p, cache, "design") if gap(r, ladder) is not None]
    out = []
    for r in [r for _, r in scored[: s.pairs]] + designs:  # inside the ladder's FLOPs
        i = next(
            i for i in range(len(ladder) - 1) if ladder[i].flops <= r.flops <= ladder[i + 1].flops
        )
        out.append(Contest(r, ladder[i], ladder[i + 1]))
    return out


@dataclass(frozen=True)
class Judgement:
    """A contest over the training seeds: the gap per seed, their mean, the seed spread."""

    gaps: list[float | None]
    mean: float | None  # None until every seed is trained
    spread: float | None
    beyond: bool = False  # beyond seed noise

    @property
    def won(self) -> bool:
        """The model ahead of the ladder, beyond seed noise."""
        return self.beyond and self.mean is not None and self.mean < 0

    @property
    def words(self) -> str:
        if self.mean is None:
            return "other seeds not trained yet"
        side = "the model" if self.mean < 0 else "the ladder"
        return f"{side} ahead, {'beyond' if self.beyond else 'within'} seed noise"


def judged(c: Contest, cache: dict[str, Record], seeds: int) -> Judgement:
    """Beyond seed noise when every seed's gap has the same sign and the mean gap exceeds the
    larger of the member's and the ladder's ranges over the seeds. (Seed 0 chose the
    contests, so its gaps lean towards the front: the other seeds are the check.)"""
    pairs = [c.losses(cache, seed) for seed in range(seeds)]
    gaps = [m - t if m is not None and t is not None else None for m, t in pairs]
    if not all(g is not None for g in gaps):
        return Judgement(gaps, None, None)
    ms, ts = ([cast(float, x[i]) for x in pairs] for i in (0, 1))
    gs = cast(list[float], gaps)
    spread = max(max(ms) - min(ms), max(ts) - min(ts))
    mean = sum(gs) / seeds
    beyond = (all(g < 0 for g in gs) or all(g > 0 for g in gs)) and abs(mean) > spread
    return Judgement(gaps, mean, spread, beyond)


# ---- how the report writes them ------------------------------------------------------------


def num(x: float | None, fmt: str = ".4f") -> str:
    return "—" if x is None else format(x, fmt)


def kflops(x: float) -> str:
    return f"{x / 1e3:,.0f}k" if x < 1e6 else f"{x / 1e6:.2f}M"
