"""The frontier study's scale stage (issue 23): do the study's verdicts survive wider models and
longer training? (`benchmarks/frontier.py` runs it and states its cost.)

**What it takes.** At each context, the contests the study judged over its seeds
(`frontier_measure.judged`): every front member beyond seed noise, on either side; the front
member within noise with the lowest mean gap (the front's best chance); and the seeds' two
designs. The study must be complete there, as its verdicts choose them.

**What it trains**, at each scale point (`Point`: a width factor and a token factor):
- each of those models widened (`widened`): d_model and the attention heads × the width
  factor, so that a head keeps its width (and RoPE its even split). Depth, the mixers, the
  FFN's multiple, the spectral genes (α, wavelet, levels, band mixing, embedding) and the
  basis functions are kept; a basis frequency counts cycles across the embedding axis
  (`model/basis.py`), so a wider axis samples the same functions more finely;
- the chain of transformers that the study's ladder is cut from, widened the same way, of
  which the two either side of each widened model in FLOPs. Widening multiplies the FLOPs of
  the d² terms by the factor squared and the rest (embedding, attention's scores, the FFT
  mixers) by less, so a widened model may fall between other transformers than at small
  scale: its ladder is the widened pair that brackets it, interpolated linearly in log FLOPs
  as at small scale (a model outside the widened chain has no contest);
- on the study's budget with its tokens × the token factor: the same batches, more steps,
  the same schedule.

**How.** Every model's learning rate is tuned on validation again, by the study's rule
(`frontier_train`): until it is bracketed by rates tried within ×`lr_factor` on each side, or
the range's edge. The study starts (`centred`) from the rate the model chose at small scale
(for a widened transformer, the chain's transformer it was widened from; the study's own grid
and TPE where that was never trained) between its two neighbours ÷ and × the factor: a rate
that did not move is bracketed by that first round of three trials, and one that moved walks
a factor a round towards its bracket, for up to `lr_extra` trials more. Then every model
trains `Scale.seeds` seeds at the rate it chose, and each contest is judged as at small scale:
the gap seed by seed, its mean, the seed spread, beyond noise or within.

**The two axes.** The default points are ×2 width at ×2 tokens, and the study's widths at ×2
and ×4 tokens. At ×2 tokens, the gap at ×2 width minus the gap at the study's widths is what
width did; the gaps at the study's widths against the study's own are what training did.
"""

from __future__ import annotations

import dataclasses
import itertools
import statistics
from dataclasses import dataclass
from typing import cast

from benchmarks.frontier_measure import Contest, Judgement, contests, judged
from benchmarks.frontier_plan import Job, LrStudy, Model, Plan, Record, Settings, transformer
from benchmarks.frontier_train import next_round, tuned
from hrfevo.errors import UsageError
from model import ModelConfig

Judged = tuple[Contest, Judgement]  # a contest of the study, judged over its seeds
EXPECTED_EXTRA = 1  # bracketing trials a centred study adds, on average (for the estimate)


@dataclass(frozen=True)
class Point:
    """A scale point: the study's widths × `width`, its tokens × `tokens`."""

    width: int
    tokens: int

    def __str__(self) -> str:
        return f"×{self.width} width, ×{self.tokens} tokens"


@dataclass(frozen=True)
class Scale:
    """The scale stage's settings; the command line's defaults are these."""

    width: int = 2  # d_model and heads × this at the scale point (--scale-width)
    tokens: int = 2  # the study's tokens × this there (--scale-tokens)
    # The token axis alone: the study's widths at these × its tokens (--token-factors).
    token_factors: tuple[int, ...] = (2, 4)
    seeds: int = 2  # training seeds of every scaled model, seed 0 its study's (--scale-seeds)

    def __post_init__(self) -> None:
        least = (("--scale-width", self.width, 1), ("--scale-tokens", self.tokens, 1))
        for flag, value, low in (*least, ("--scale-seeds", self.seeds, 2)):
            if value < low:
                raise UsageError(f"{flag} {value}: must be at least {low}")
        if (self.width, self.tokens) == (1, 1):
            raise UsageError("--scale-width 1 --scale-tokens 1: that is the study itself")
        if any(f < 2 for f in self.token_factors):
            factors = " ".join(map(str, self.token_factors))
            raise UsageError(f"--token-factors {factors}: each at least 2 (1 is the study)")

    @property
    def point(self) -> Point:
        return Point(self.width, self.tokens)

    @property
    def points(self) -> tuple[Point, ...]:
        """The scale point first, then the token axis at the study's widths, each once."""
        return tuple(dict.fromkeys([self.point, *(Point(1, f) for f in self.token_factors)]))


def selection(p: Plan, cache: dict[str, Record], s: Settings) -> list[Judged]:
    """The contests the stage scales at `p`'s context (module doc), in the study's order; a
    UsageError until the study is complete there."""
    done = [(c, judged(c, cache, s.seeds)) for c in contests(p, cache, s)]
    if any(next_round(j, cache) for j in p.jobs) or any(j.mean is None for _, j in done):
        raise UsageError(f"context {p.context}: the study is still training: run --stage train")
    front = [(c, j) for c, j in done if c.member.job.model.role == "front"]
    within = sorted((x for x in front if not x[1].beyond), key=lambda x: cast(float, x[1].mean))
    names = {c.member.job.model.name for c, j in front if j.beyond}
    names |= {c.member.job.model.name for c, _ in within[:1]}
    return [
        (c, j)
        for c, j in done
        if c.member.job.model.role == "design" or c.member.job.model.name in names
    ]


def widened(model: Model, factor: int) -> Model:
    """`model` with d_model and its heads × `factor` (module doc: what is kept)."""
    if factor == 1:
        return model
    cfg = model.config | {k: model.config[k] * factor for k in ("d_model", "n_heads")}
    try:
        ModelConfig.from_dict(cfg)
    except ValueError as e:
        raise UsageError(f"--scale-width {factor}: {model.name} cannot be widened ({e})") from None
    genes = f"{model.genes}; ×{factor} wide, d {cfg['d_model']}"
    return dataclasses.replace(model, name=f"{model.name} ×{factor} wide", config=cfg, genes=genes)


def centred(study: LrStudy, lr: float) -> LrStudy:
    """`study` started from `lr` between its neighbours ÷ and × the factor (clipped to the
    range, each once), with no TPE trials: the bracketing rounds do the rest."""
    low, high = study.span
    near = (lr, lr / study.factor, lr * study.factor)
    grid = tuple(dict.fromkeys(min(max(x, low), high) for x in near))
    return dataclasses.replace(study, grid=grid, trials=len(grid))


@dataclass(frozen=True)
class Scaled:
    """A model at a scale point: its study's job, and the job of the model it was widened from
    in the study (whose rate its study starts from and whose speed estimates its cost)."""

    job: Job
    origin: Job
    flops: float  # forward FLOPs per token, as built
    origin_flops: float


@dataclass
class ScalePlan:
    """One context at one scale point: each contest of the selection with its model and the
    widened transformers either side of it (None: outside the widened chain), and every model
    to train."""

    context: int
    point: Point
    contests: list[tuple[Judged, tuple[Scaled, Scaled, Scaled] | None]]
    models: list[Scaled]

    @property
    def jobs(self) -> list[Job]:
        return [m.job for m in self.models]


def scale_plan(
    p: Plan, chosen: list[Judged], point: Point, cache: dict[str, Record], s: Settings
) -> ScalePlan:
    """The trainings of `chosen` (`selection`) and of their ladder at `point`."""
    template = next(j for j in p.jobs if j.lr is None)
    budget = template.budget | {"tokens": template.budget["tokens"] * point.tokens}
    models: dict[str, Scaled] = {}

    def scaled(model: Model, origin: Model) -> Scaled:
        if model.name not in models:
            small = dataclasses.replace(template, model=origin)
            done = tuned(cache, small)
            study = template.study if done is None else centred(template.study, done["lr"])
            at = (point.width, point.tokens)
            job = dataclasses.replace(template, model=model, budget=budget, study=study, point=at)
            flops = (m.built().flops_per_token() for m in (model, origin))
            models[model.name] = Scaled(job, small, *flops)
        return models[model.name]

    k = point.width
    narrow = [transformer(d, n, h, p.context) for d, n, h in s.chain]
    chain = sorted((scaled(widened(t, k), t) for t in narrow), key=lambda m: m.flops)
    plans: list[tuple[Judged, tuple[Scaled, Scaled, Scaled] | None]] = []
    for c, j in chosen:
        member = scaled(widened(c.member.job.model, k), c.member.job.model)
        pair = next(
            ((a, b) for a, b in itertools.pairwise(chain) if a.flops <= member.flops <= b.flops),
            None,
        )
        plans.append(((c, j), None if pair is None else (member, *pair)))
    needed = {m.job.model.name for _, ms in plans if ms for m in ms}
    return ScalePlan(
        p.context, point, plans, [m for m in models.values() if m.job.model.name in needed]
    )


def estimate(sp: ScalePlan, cache: dict[str, Record], seeds: int) -> float:
    """CPU-seconds the plan's trainings take from scratch: each study's grid, `EXPECTED_EXTRA`
    bracketing trials and `seeds` - 1 other seeds, each at the CPU-seconds per FLOP and token
    that the model it was widened from took in the study (where that was not trained, the
    median of those that were). Wider matrices run faster per FLOP on a CPU, so this leans
    high."""
    rate = {m.job.model.name: speed(m, cache) for m in sp.models}
    known = [r for r in rate.values() if r is not None]
    fallback = statistics.median(known) if known else 0.0
    return sum(
        (m.job.study.trials + EXPECTED_EXTRA + seeds - 1)
        * m.job.budget["tokens"]
        * m.flops
        * (rate[m.job.model.name] or fallback)
        for m in sp.models
    )


def speed(m: Scaled, cache: dict[str, Record]) -> float | None:
    """The median CPU-seconds per FLOP and token of `m`'s origin's trainings in the study."""
    done = [cache[k] for k in m.origin.cache_keys() if k in cache]
    per = [r["seconds"] / (m.origin.budget["tokens"] * m.origin_flops) for r in done]
    return statistics.median(per) if per else None
