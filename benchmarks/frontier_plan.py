"""The frontier study's plan: its settings, the models it trains at each context and the
jobs that train them, and the cache that keeps every result (see `benchmarks/frontier.py`)."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import fcntl
import functools
import hashlib
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hrfevo import run
from hrfevo.api import load_run
from hrfevo.errors import UsageError
from hrfevo.genome import Genome, describe, is_baseline, to_model_config, transformer_genome
from hrfevo.problem import Record
from hrfevo.reporting.markdown import plural
from hrfevo.storage import atomic_write_json
from model import Corpus, ModelConfig, SpectralLM, load_corpus

VOCAB = 256  # byte tokens
NANOGPT = (128, 4, 4, 1e-3)  # nanoGPT's CPU model (d_model, layers, heads) and learning rate
NANOGPT_BUDGET = " (at 64, nanoGPT's CPU budget of 2,000 steps of 12×64)"
# Each set of models: its name in the report, and its style in the figure.
ROLES: dict[str, tuple[str, dict[str, Any]]] = {
    "front": ("evolved front", {"color": "#d62728", "marker": "s"}),
    "ladder": ("transformer ladder", {"color": "#1f77b4", "marker": "o"}),
    "design": ("seeds' designs", {"color": "#2ca02c", "marker": "*", "s": 120}),
    "anchor": ("nanoGPT at lr 1e-3", {"color": "#7f7f7f", "marker": "X", "s": 70}),
}


@dataclass(frozen=True)
class Settings:
    """Everything the numbers depend on besides the corpus, the strategy and the seed."""

    contexts: tuple[int, ...]
    preset: str  # the search's preset: its space (widths `d_model`), budget and ladder
    d_model: tuple[int, ...] | None  # the search space's widths (None: the preset's)
    search: dict[str, Any]  # overrides of the preset's budget
    fidelity: dict[str, Any] | None  # None: the preset's ladder
    search_tokens: int  # tokens per search step at every context (the preset's at its own)
    population: int
    generations: int
    tokens: int  # the long budget, at every context
    step_tokens: int  # tokens per long-training step at least (whole sequences)
    val_tokens: int | None  # validation tokens scored (None: the whole split)
    test_tokens: int | None  # test tokens scored (None: the whole split)
    chain: tuple[tuple[int, int, int], ...]  # transformer sizes: (d_model, layers, heads)
    min_ladder: int  # transformers trained at least
    max_front: int  # front members trained at most, spread along it
    lr_grid: tuple[float, ...]  # a study's first trials; TPE proposes the rest
    # The study's log-uniform range, wide on purpose: a rate chosen at its edge is bracketed.
    lr_range: tuple[float, float]
    lr_trials: int
    lr_factor: float  # the chosen rate is bracketed by tried rates within this factor
    lr_extra: int  # trials at most, after `lr_trials`, to bracket the chosen rate
    pairs: int  # front members trained with more seeds, with the transformers either side
    seeds: int  # training seeds of those contests' models (seed 0 is the study's)
    design: tuple[int, int]  # (d_model, layers) of the seeds' designs
    anchor: bool  # nanoGPT's model at its own learning rate, at context 64
    probe: dict[str, Any]  # the recall probe's settings besides `model.recall.Probe`'s defaults
    recall_seq_len: int  # the probe's sequences: the model's context, up to this


FULL = Settings(
    contexts=(64, 512),
    preset="tiny",
    d_model=(32, 48, 64, 96),
    search={},
    fidelity=None,
    search_tokens=16 * 64,
    population=8,  # NSGA-II's best population on this space (reports/strategies.md)
    generations=24,
    tokens=2000 * 12 * 64,
    step_tokens=12 * 64,
    val_tokens=None,
    test_tokens=None,
    chain=(
        *((16, 1, 2), (24, 1, 2), (32, 1, 2), (32, 2, 2), (48, 2, 4)),
        *((64, 2, 4), (64, 3, 4), (96, 3, 4), (128, 3, 4), (128, 4, 4)),
    ),
    min_ladder=5,
    max_front=8,
    lr_grid=(3e-3, 1e-2, 1e-3),
    lr_range=(5e-4, 3e-2),
    lr_trials=4,
    lr_factor=1.5,  # issue 23: neighbours "within a factor of about 1.5 on both sides"
    lr_extra=4,
    pairs=4,
    seeds=3,
    design=(64, 3),
    anchor=True,
    probe={},
    recall_seq_len=128,
)
QUICK = dataclasses.replace(
    FULL,
    contexts=(64, 128),  # the seeds' db4 cascade of 3 levels needs 56 tokens
    preset="smoke",
    d_model=None,
    search={"steps": 3, "eval_tokens": 256, "schedule": "wsd", "warmup_steps": 1},
    fidelity={"rungs": [3, 6], "promote": 0.5},
    search_tokens=4 * 32,
    population=4,
    generations=2,
    tokens=16 * 64,
    step_tokens=2 * 64,
    val_tokens=512,
    test_tokens=512,
    chain=((8, 1, 2), (16, 1, 2), (16, 2, 2), (32, 2, 2)),
    min_ladder=2,
    max_front=3,
    lr_grid=(3e-3, 1e-2),
    lr_range=(1e-3, 3e-2),
    lr_trials=2,
    pairs=1,
    seeds=2,
    design=(16, 2),
    anchor=False,
    probe={"pairs": 2, "steps": 20, "batch_size": 8, "eval_examples": 32},
    recall_seq_len=64,  # the seeds' db4 cascade needs 56 tokens
)


@dataclass(frozen=True)
class Model:
    """One model of the study, as plain data."""

    role: str  # a ROLES key
    name: str  # its label in the tables and the figure
    config: dict[str, Any]  # ModelConfig.to_dict()
    genes: str  # what it is, in a few words
    genome: dict[str, Any] | None = None  # a front member's genome
    lr: float | None = None  # a fixed learning rate, no study (the anchor's)
    rung: int | None = None  # the highest rung a front member reached in its search

    def built(self) -> SpectralLM:
        return SpectralLM(ModelConfig.from_dict(self.config))


@dataclass(frozen=True)
class LrStudy:
    """A model's learning-rate study: `trials` trials (the grid, then TPE), then up to `extra`
    more until the chosen rate is bracketed (see `benchmarks.frontier_train`)."""

    grid: tuple[float, ...]
    span: tuple[float, float]  # the log-uniform range
    trials: int
    factor: float
    extra: int


@dataclass(frozen=True)
class Job:
    """The trainings of one model at one context: its learning-rate study, or one run."""

    model: Model
    context: int
    budget: dict[str, Any]  # TrainConfig fields, lr and seed aside
    data: str
    sha256: str  # the corpus the search ran on
    test_tokens: int
    cache: str  # the results file
    study: LrStudy
    lr: float | None = None  # one training at this learning rate and `seed` instead
    seed: int = 0
    # The scale stage's (width, tokens) factors (`frontier_scale.Point`); None: the study's own.
    point: tuple[int, int] | None = None

    def key(self, trial: int | None = None) -> str:
        """The cache key of study trial `trial`, or (None) of the one fixed training.

        The budget's device and threads are the ones first written here, whatever the trainings
        now run on (a result does not depend on where it ran), so that a study moved to another
        executor keeps its cache. A bracketing trial's rate depends on how many trials came
        before it and on the factor, so its key names both. A scaled training's key names its
        scale point, so that it never shares a key with the small study's trainings (a width
        factor at the study's tokens can rebuild one of the ladder's transformers), and the
        CPU-hours of each stage add up apart; the small study's keys name none, as before."""
        what: list[Any] = [self.model.config, self.budget, self.sha256, self.test_tokens]
        if self.point is not None:
            what.append({"scale": list(self.point)})
        if trial is None:
            what.append({"lr": self.lr, "seed": self.seed})
        else:
            st = self.study
            what.append({"grid": st.grid, "range": st.span, "trial": trial})
            if trial >= st.trials:
                what[-1] |= {"trials": st.trials, "factor": st.factor}
        blob = json.dumps(what, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:20]

    def cache_keys(self) -> list[str]:
        """Every key the job's trainings may have, in order (its study's extra trials too)."""
        if self.lr is not None:
            return [self.key()]
        return [self.key(i) for i in range(self.study.trials + self.study.extra)]

    @property
    def trials(self) -> int:
        return self.study.trials


class Cache:
    """Results by key in one JSON file. `put` re-reads and rewrites it atomically under an
    exclusive lock, so trainings that end in parallel processes all land."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self) -> dict[str, Record]:
        return json.loads(self.path.read_text()) if self.path.exists() else {}

    def put(self, key: str, value: Record) -> None:
        with self._locked():
            atomic_write_json(self.path, self.read() | {key: value})

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_name(f".{self.path.name}.lock"), "a") as f:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX)  # released on close, or when we die
            yield


def run_dir(s: Settings, context: int, args: argparse.Namespace) -> Path:
    name = f"{s.preset}-ctx{context}-{args.strategy}-p{s.population}-s{args.seed}"
    return Path(args.work) / name


def searched(s: Settings, context: int, args: argparse.Namespace) -> Path | None:
    """The context's run directory once its search has all its generations, else None."""
    out = run_dir(s, context, args)
    done = (out / run.RUN_FILE).exists() and run.RunView(out).generation >= s.generations
    return out if done else None


# ---- the models of one context -------------------------------------------------------------


def front_models(out: Path, s: Settings, context: int) -> list[Model]:
    """The final front, or `max_front` of its members spread evenly along it in log FLOPs."""
    records = sorted(load_run(out).front_records, key=lambda r: r["metrics"]["flops_per_token"])
    if not records:
        raise UsageError(f"the search in {out} has no front: every evaluation failed")
    logs = [math.log10(r["metrics"]["flops_per_token"]) for r in records]
    picked: list[int] = []
    for want in np.linspace(logs[0], logs[-1], min(s.max_front, len(records))):
        free = [i for i in range(len(records)) if i not in picked]
        picked.append(min(free, key=lambda i: abs(logs[i] - want)))  # nearest not yet picked
    models = []
    for n, i in enumerate(sorted(picked), 1):
        genome = Genome.from_dict(records[i]["candidate"])
        genes = describe(genome) + (" (a plain transformer)" if is_baseline(genome) else "")
        rung = records[i].get("rung", 0)
        cfg = to_model_config(genome, VOCAB, context).to_dict()
        models.append(
            Model("front", f"F{n}", cfg, f"{genes}; rung {rung}", genome.to_dict(), rung=rung)
        )
    return models


def transformer(d_model: int, layers: int, heads: int, context: int) -> Model:
    cfg = to_model_config(transformer_genome(d_model, layers, heads), VOCAB, context)
    genes = f"d{d_model}, {plural(layers, 'layer')}"
    return Model("ladder", f"T{d_model}×{layers}", cfg.to_dict(), genes)


def ladder_models(s: Settings, context: int, spanned: list[Model]) -> list[Model]:
    """The chain's transformers from the last at or below the cheapest of `spanned` (the front
    and the seeds' designs) to the first at or above the costliest, widened (upwards first)
    to `min_ladder` sizes."""
    chain = [transformer(d, n, h, context) for d, n, h in s.chain]
    cost = [m.built().flops_per_token() for m in chain]
    flops = [m.built().flops_per_token() for m in spanned]
    lo = max((i for i, c in enumerate(cost) if c <= min(flops)), default=0)
    hi = min((i for i, c in enumerate(cost) if c >= max(flops)), default=len(chain) - 1)
    while hi - lo + 1 < min(s.min_ladder, len(chain)):
        if hi < len(chain) - 1:
            hi += 1
        else:
            lo -= 1
    return chain[lo : hi + 1]


def design_models(s: Settings, context: int) -> list[Model]:
    """The seeds' designs, made causal (every mixer here is), at one size in the front's range.

    SpectralLLM (seed 000): the hybrid embedding (harmonic synthesis beside a table) with 16
    harmonic bases; "wavelet attention", db4 with 3 levels and its own processing per band,
    which is the causal wavelet mixer, in every layer; the hybrid FFN at α = 0.5.
    SignalLLM (seed 002): the spectral embedding alone, with its demo's 64 bases for 768
    dimensions; frequency-domain attention (the causal Fourier mixer) alternating with wavelet
    multi-resolution analysis (db4, 3 levels); its document gives the FFN no spectral path.
    """
    d, n = s.design
    spectral = ModelConfig(
        vocab_size=VOCAB, seq_len=context, d_model=d, n_layers=n, mixer="wavelet",
        wavelet="db4", wavelet_levels=3, band_mixing="sum", embedding="hybrid",
        harmonic_bases=min(16, d), ffn_mult=4.0, spectral_share=0.5,
    )  # fmt: skip
    signal = ModelConfig(
        vocab_size=VOCAB, seq_len=context, d_model=d, n_layers=n,
        mixer=[("fourier", "wavelet")[i % 2] for i in range(n)], wavelet="db4",
        wavelet_levels=3, embedding="spectral", harmonic_bases=max(1, round(d * 64 / 768)),
        ffn_mult=4.0, spectral_share=0.0,
    )  # fmt: skip
    return [
        Model("design", "SpectralLLM", spectral.to_dict(), "seed 000: hybrid, wavelet, α 0.5"),
        Model("design", "SignalLLM", signal.to_dict(), "seed 002: spectral, Fourier + wavelet"),
    ]


@dataclass
class Plan:
    """One context: its search and a job for each model."""

    context: int
    run_dir: Path
    jobs: list[Job]

    def of(self, role: str) -> list[Job]:
        return [j for j in self.jobs if j.model.role == role]


def plan(s: Settings, context: int, args: argparse.Namespace, out: Path) -> Plan:
    view = run.RunView(out)
    data, sha = view.config.data, view.info["data"]["sha256"]
    corpus = corpus_of(data, sha, context + 1)
    front = front_models(out, s, context)
    designs = design_models(s, context)
    models = [*front, *ladder_models(s, context, [*front, *designs]), *designs]
    if s.anchor and context == 64:
        d, n, h, lr = NANOGPT
        genes = f"nanoGPT's CPU model: d{d}, {n} layers, its lr {lr:g}"
        anchor = dataclasses.replace(transformer(d, n, h, context), name="nanoGPT", genes=genes)
        models.append(dataclasses.replace(anchor, role="anchor", lr=lr))
    budget = {  # nanoGPT's optimiser settings (benchmarks/baseline.py), in tokens
        "tokens": s.tokens,
        "batch_size": -(-s.step_tokens // context),  # whole sequences
        "warmup": 0.05,
        "schedule": "cosine",
        "min_lr_ratio": 0.1,
        "weight_decay": 0.1,
        "grad_clip": 1.0,
        "eval_tokens": s.val_tokens or len(corpus.val),
        "threads": 1,
        "device": "cpu",
    }
    test = s.test_tokens or len(corpus.test)
    study = LrStudy(s.lr_grid, s.lr_range, s.lr_trials, s.lr_factor, s.lr_extra)
    cache = str(args.out.with_suffix(".json"))
    jobs = [Job(m, context, budget, data, sha, test, cache, study, lr=m.lr) for m in models]
    return Plan(context, out, jobs)


@functools.lru_cache(maxsize=2)
def corpus_of(data: str, sha256: str, min_tokens: int) -> Corpus:
    corpus = load_corpus(data, min_tokens=min_tokens)
    if corpus.sha256 != sha256:
        raise UsageError(f"corpus {data} changed since its search ran (sha256 {sha256[:12]})")
    return corpus
