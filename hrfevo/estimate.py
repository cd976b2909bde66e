"""What a run will cost, before it starts: its evaluations, and their time measured here.

Evaluations: `population × generations` genomes at rung 0 (an upper bound: a genome proposed
twice is evaluated once), and with a fidelity ladder ⌊n·F⌋ of the n at each rung go on to the
next (`hrfevo.fidelity`'s quota).

Time: a few genomes drawn from the space are trained here, through the same `train()` harness
a search uses, for a few steps at the budget's batch size and context, on random bytes (a
step's cost does not depend on the data), then scored on the budget's `eval_tokens`. That
gives seconds per optimiser step and per validation pass for each; an evaluation at rung r
costs its steps (the steps above rung r-1 when it continues from there) times the mean
seconds per step, plus one validation pass. A recall probe (`RunConfig.recall`) is priced by
its tokens: its steps × batch × length, over the budget's tokens per step, at the same seconds
per step. The total, over the workers that run at once, is the estimate.
`benchmarks/presets.py` estimates `small` the same way (reports/presets.md).
"""

from __future__ import annotations

import dataclasses
import os
import statistics
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from hrfevo.config import RunConfig
from hrfevo.fidelity import Fidelity
from hrfevo.objectives import PROBED
from hrfevo.units import duration
from model import TrainConfig, decay_start

if TYPE_CHECKING:
    from model import Corpus

SAMPLE = 3  # genomes timed
STEPS = 5  # optimiser steps timed per genome


@dataclass(frozen=True)
class Measured:
    """One sampled genome, timed here."""

    describe: str  # the genome's one-line notation
    flops_per_token: float  # forward, analytic
    step_seconds: float  # one optimiser step of the budget's batch
    eval_seconds: float  # one validation pass over the budget's eval_tokens


@dataclass(frozen=True)
class Estimate:
    rungs: tuple[int, ...]  # steps at each rung (one rung without a ladder)
    evaluations: tuple[int, ...]  # at most this many evaluations at each rung
    continues: bool  # whether a promotion continues from the rung below
    measured: tuple[Measured, ...]
    device: str  # where the sample was timed
    threads: int  # torch threads per evaluation
    workers: int  # evaluations that run at once
    early: int = 0  # steps rung 0's first read adds (`Fidelity.forecast_from`): its own decay
    probe: float = 0.0  # a recall probe's cost in the budget's steps (by tokens trained)
    probed: tuple[int, ...] = ()  # the rungs whose evaluations probe

    @property
    def step_seconds(self) -> float:
        return statistics.mean(m.step_seconds for m in self.measured)

    @property
    def eval_seconds(self) -> float:
        return statistics.mean(m.eval_seconds for m in self.measured)

    def rung_seconds(self, rung: int) -> float:
        """Seconds of one evaluation at `rung`."""
        below = self.rungs[rung - 1] if rung and self.continues else 0
        seconds = (self.rungs[rung] - below) * self.step_seconds + self.eval_seconds
        if rung == 0 and self.early:  # the first read's decay, and its validation
            seconds += self.early * self.step_seconds + self.eval_seconds
        if rung in self.probed:
            seconds += self.probe * self.step_seconds
        return seconds

    @property
    def compute_seconds(self) -> float:
        """Seconds of work, summed over every evaluation."""
        return sum(n * self.rung_seconds(r) for r, n in enumerate(self.evaluations))

    @property
    def wall_seconds(self) -> float:
        return self.compute_seconds / self.workers


def evaluations(cfg: RunConfig) -> tuple[int, ...]:
    """At most this many evaluations at each rung of the run's ladder."""
    counts = [cfg.population * cfg.generations]
    ladder = cfg.fidelity
    if ladder is not None:
        for _ in ladder.rungs[1:]:
            counts.append(ladder.quota(counts[-1]))
    return tuple(counts)


def per_generation(cfg: RunConfig) -> float:
    """Evaluations one generation makes, its promotions included (the progress's ETA)."""
    return sum(evaluations(cfg)) / cfg.generations if cfg.generations else float(cfg.population)


def workers(cfg: RunConfig) -> int:
    """Evaluations that run at once: one for serial, else as many as this machine's cores (and
    GPUs) hold. A cluster at `ray_address` is not asked; `describe` says so."""
    if cfg.executor == "serial":
        return 1
    slots = (os.cpu_count() or 1) // cfg.cpus_per_eval
    if cfg.gpus_per_eval > 0:
        import torch

        slots = min(slots, int(torch.cuda.device_count() / cfg.gpus_per_eval + 1e-9))
    return max(1, slots)


def device(cfg: RunConfig) -> str:
    """Where an evaluation trains: the budget's device, else a GPU only when it asks for one
    (as `Executor` pins it)."""
    named = cfg.train_config().device
    return named if named != "auto" else ("auto" if cfg.gpus_per_eval > 0 else "cpu")


def measure(cfg: RunConfig, sample: int = SAMPLE, steps: int = STEPS) -> tuple[Measured, ...]:
    """Train `sample` genomes drawn from the space (seeded by the run's seed) for `steps`
    steps each, on random bytes, as a worker would, and time them."""
    from hrfevo.genome import describe, to_model_config
    from hrfevo.operators import random_genome
    from model import train

    rng = np.random.default_rng(cfg.seed)
    space = cfg.space
    timed = dataclasses.replace(
        cfg.train_config(),
        steps=steps,
        tokens=None,
        schedule="cosine",  # the schedule changes the learning rate, not a step's cost
        warmup_steps=None,
        device=device(cfg),
    )
    corpus = _random_bytes(space.seq_len, timed.eval_tokens, rng)
    out = []
    for _ in range(sample):
        genome = random_genome(space, rng)
        model_cfg = to_model_config(genome, space.vocab_size, space.seq_len)
        _, result = train(model_cfg, timed, corpus, progress=False)
        t = result.timings
        step = (t["train"] + t["data"]) / steps
        out.append(Measured(describe(genome), result.flops_per_token, step, t["eval"]))
    return tuple(out)


def _random_bytes(seq_len: int, eval_tokens: int, rng: np.random.Generator) -> Corpus:
    """Uniform random bytes, with a validation split that holds every window scored."""
    from model import Corpus

    val = max(eval_tokens, seq_len) + seq_len + 1
    tokens = rng.integers(0, 256, size=4 * val, dtype=np.uint8)
    train, held_out = tokens[: 2 * val], tokens[2 * val :]
    return Corpus("random bytes", train, held_out[:val], held_out[val:], "", 0.25, 0.25)


def estimate(cfg: RunConfig, sample: int = SAMPLE) -> Estimate:
    """Count the run's evaluations and time `sample` of its genomes here."""
    from hrfevo.run import make_problem
    from model import resolve_device

    problem = make_problem(cfg)
    rungs = tuple(problem.rung_config(r).num_steps(cfg.space.seq_len) for r in range(problem.rungs))
    return Estimate(
        rungs=rungs,
        evaluations=evaluations(cfg),
        continues=problem.continues,
        measured=measure(cfg, sample),
        device=str(resolve_device(device(cfg))),
        threads=cfg.cpus_per_eval,
        workers=workers(cfg),
        early=early_steps(problem.fidelity, problem.train_cfg),
        probe=probe_steps(cfg),
        probed=probed_rungs(cfg, len(rungs)),
    )


def probed_rungs(cfg: RunConfig, rungs: int) -> tuple[int, ...]:
    """The rungs whose evaluations run the recall probe: every one where recall_error is an
    objective, else the top rung where the run sets a probe (`SpectralProblem`)."""
    if cfg.recall is None:
        return ()
    return tuple(range(rungs)) if set(cfg.objectives) & set(PROBED) else (rungs - 1,)


def probe_steps(cfg: RunConfig) -> float:
    """A recall probe's training in the budget's steps, by tokens (0 without a probe)."""
    if cfg.recall is None:
        return 0.0
    probe, budget = cfg.recall, cfg.train_config()
    tokens = probe.steps * probe.batch_size * probe.length(cfg.space.seq_len)
    return tokens / (budget.batch_size * cfg.space.seq_len)


def early_steps(ladder: Fidelity | None, budget: TrainConfig) -> int:
    """The steps rung 0's first read adds to it: its own decay (0 without a first read)."""
    if ladder is None or ladder.forecast_from is None:
        return 0
    return ladder.forecast_from - decay_start(ladder.forecast_from, budget)


def describe(e: Estimate, cfg: RunConfig) -> list[str]:
    """The estimate, and what it assumes, as lines of text."""
    tokens = cfg.train_config().batch_size * cfg.space.seq_len
    # Training costs about 3× the forward FLOPs (forward, and a backward of twice its cost:
    # Kaplan et al. 2020, C ≈ 6N per token against 2N forward).
    flops = statistics.mean(3 * m.flops_per_token * tokens / m.step_seconds for m in e.measured)
    at = [f"{n} at rung {r} ({e.rungs[r]} steps)" for r, n in enumerate(e.evaluations)]
    threads = f"{e.threads} thread{'s' if e.threads != 1 else ''}"
    lines = [
        f"evaluations: at most {sum(e.evaluations)}: " + ", ".join(at)
        if len(e.rungs) > 1
        else f"evaluations: at most {e.evaluations[0]} ({e.rungs[0]} steps each)",
        f"timed here: {len(e.measured)} genomes drawn from the space, {STEPS} steps each on "
        f"{e.device} with {threads}, on random bytes:",
        *(
            f"  {m.describe:<48} {m.flops_per_token / 1e6:6.2f} MFLOPs/token  "
            f"{m.step_seconds:.4f} s/step  {m.eval_seconds:.3f} s/validation"
            for m in e.measured
        ),
        f"  mean {e.step_seconds:.4f} s per step of {cfg.train_config().batch_size} × "
        f"{cfg.space.seq_len} tokens ({flops / 1e9:.2f} GFLOP/s at 3× the forward FLOPs), "
        f"{e.eval_seconds:.3f} s per validation of {cfg.train_config().eval_tokens} tokens",
        "per evaluation: "
        + ", ".join(f"{duration(e.rung_seconds(r))} at rung {r}" for r in range(len(e.rungs)))
        + (" (a promotion continues from the rung below)" if e.continues else "")
        + (
            f", a recall probe included ({e.probe:,.0f} steps' worth of tokens)" if e.probed else ""
        ),
        f"time: {duration(e.compute_seconds)} of evaluations / {e.workers} at once "
        f"({_parallel(cfg, e.workers)}) ≈ {duration(e.wall_seconds)}",
        "assumes: every genome proposed is new (a repeat is cached: less), workers never "
        "idle (a generation's last evaluations leave some: more), a step costs what it cost "
        "alone here (evaluations side by side share the memory bus: more), and no start-up "
        "(Ray and each worker's corpus: seconds).",
    ]
    return lines


def _parallel(cfg: RunConfig, n: int) -> str:
    if cfg.executor == "serial":
        return "the serial executor"
    where = f"this machine's {os.cpu_count()} cores / {cfg.cpus_per_eval} per evaluation"
    if cfg.gpus_per_eval > 0:
        where += f", its GPUs / {cfg.gpus_per_eval:g} per evaluation"
    if cfg.ray_address is not None:
        where += f"; the cluster at {cfg.ray_address} was not asked"
    return where
