"""The frontier study: at equal FLOPs, does an evolved spectral LM beat a transformer, at short
and long context? Writes reports/frontier.md and reports/frontier.png.

    python benchmarks/frontier.py                  # the study: hours on 2 cores, resumable
    python benchmarks/frontier.py --quick --out /tmp/f/frontier.md   # toy sizes, seconds

At each context (64, which anchors to nanoGPT's CPU run, and 512, where the FFT mixers' cost
advantage is real), in three stages that can be run apart with `--stage` (`all` runs them in
turn and rewrites the report as each context's trainings end):
1. search: the `tiny` preset (its fidelity ladder, WSD at its learning rate), widths up to 96
   so that its FLOPs cover the transformer ladder, steps of equal tokens at every context.
   A run directory that exists is continued (`hrfevo.run.resume`) where it stopped.
2. train: one long budget of equal tokens for every model (nanoGPT's CPU budget, 2,000 steps
   of 12×64 with warm-up and cosine decay; the same tokens at 512): the final front (all of it,
   or members spread along it), transformers scaled in width and depth spanning the front's
   FLOPs, the seeds' two designs made causal, and at 64 nanoGPT's own model at its own
   learning rate. Every model but that anchor gets the same care: a small Optuna study of the
   learning rate on the validation split; the test loss reported is the best trial's. The
   front members with the lowest gaps, and their nearest transformers, train with a second
   seed at the learning rate they chose.
3. report: test loss against FLOPs per token, parameters and tokens per second; each set's
   hypervolume on the run's axes; the gap at matched FLOPs (linear in log FLOPs along the
   ladder); where the front dominates; the genes of the winners; the seeds' claims beside what
   is measured here.

Every training's result is kept in reports/frontier.json, beside the report, keyed by the
model, its budget and the corpus: an interrupted study trains only what is missing.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import fcntl
import functools
import hashlib
import json
import math
import sys
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import moocore
import numpy as np
import pywt
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.machine import machine_lines  # noqa: E402
from hrfevo import run  # noqa: E402
from hrfevo.api import is_baseline, load_run  # noqa: E402
from hrfevo.config import RunConfig, resolve  # noqa: E402
from hrfevo.errors import UsageError  # noqa: E402
from hrfevo.genome import Genome, describe, to_model_config, transformer_genome  # noqa: E402
from hrfevo.markdown import plural, table  # noqa: E402
from hrfevo.objectives import OBJECTIVES  # noqa: E402
from hrfevo.storage import atomic_write_json  # noqa: E402
from hrfevo.strategies import STRATEGIES  # noqa: E402
from model import (  # noqa: E402
    MIXER_CHOICES,
    Corpus,
    DataError,
    ModelConfig,
    SpectralAnalyzer,
    SpectralLM,
    TrainConfig,
    evaluate,
    load_corpus,
    train,
    training_bytes,
)

SHAKESPEARE = REPO.parent / "shared" / "data" / "tinyshakespeare.txt"
VOCAB = 256  # byte tokens
NANOGPT = (128, 4, 4, 1e-3)  # nanoGPT's CPU model (d_model, layers, heads) and learning rate
NANOGPT_VAL_LOSS = 1.88  # nanoGPT's README: its CPU run's validation loss after 2,000 steps
NANOGPT_BUDGET = " (at 64, nanoGPT's CPU budget of 2,000 steps of 12×64)"
# Each set of models: its name in the report, and its style in the figure.
ROLES: dict[str, tuple[str, dict[str, Any]]] = {
    "front": ("evolved front", {"color": "#d62728", "marker": "s"}),
    "ladder": ("transformer ladder", {"color": "#1f77b4", "marker": "o"}),
    "design": ("seeds' designs", {"color": "#2ca02c", "marker": "*", "s": 120}),
    "anchor": ("nanoGPT at lr 1e-3", {"color": "#7f7f7f", "marker": "X", "s": 70}),
}
Record = dict[str, Any]


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
    lr_range: tuple[float, float]  # the study's log-uniform range
    lr_trials: int
    pairs: int  # front members trained with a second seed, with their nearest transformers
    design: tuple[int, int]  # (d_model, layers) of the seeds' designs
    anchor: bool  # nanoGPT's model at its own learning rate, at context 64


FULL = Settings(
    contexts=(64, 512),
    preset="tiny",
    d_model=(32, 48, 64, 96),
    search={},
    fidelity=None,
    search_tokens=16 * 64,
    population=16,
    generations=12,
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
    pairs=3,
    design=(64, 3),
    anchor=True,
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
    design=(16, 2),
    anchor=False,
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

    def built(self) -> SpectralLM:
        return SpectralLM(ModelConfig.from_dict(self.config))


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
    study: tuple[tuple[float, ...], tuple[float, float], int]  # grid, range, trials
    lr: float | None = None  # one training at this learning rate and `seed` instead
    seed: int = 0

    def key(self, trial: int | None = None) -> str:
        """The cache key of study trial `trial`, or (None) of the one fixed training."""
        what: list[Any] = [self.model.config, self.budget, self.sha256, self.test_tokens]
        if trial is None:
            what.append({"lr": self.lr, "seed": self.seed})
        else:
            grid, span, _ = self.study
            what.append({"grid": grid, "range": span, "trial": trial})
        blob = json.dumps(what, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:20]

    def cache_keys(self) -> list[str]:
        return [self.key()] if self.lr is not None else [self.key(i) for i in range(self.trials)]

    @property
    def trials(self) -> int:
        return self.study[2]


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


# ---- stage 1: the searches -----------------------------------------------------------------


def search_config(s: Settings, context: int, args: argparse.Namespace) -> RunConfig:
    """The preset's search at `context`, its batches cut to hold `search_tokens` a step."""
    space: dict[str, Any] = {"seq_len": context}
    if s.d_model is not None:
        space["d_model"] = list(s.d_model)
    flags = {
        "data": args.data,
        "seed": args.seed,
        "executor": "serial",
        "population": s.population,
        "strategy": args.strategy,
        "space": space,
        "budget": s.search | {"batch_size": max(1, s.search_tokens // context)},
        "fidelity": s.fidelity,
    }
    return resolve(s.preset, None, flags)


def run_dir(s: Settings, context: int, args: argparse.Namespace) -> Path:
    name = f"{s.preset}-ctx{context}-{args.strategy}-p{s.population}-s{args.seed}"
    return Path(args.work) / name


def search(job: tuple[RunConfig, Path, int]) -> None:
    """Start or continue one context's search, a generation at a time, to `generations`."""
    cfg, out, generations = job
    torch.set_num_threads(1)
    if not (out / run.RUN_FILE).exists():
        print(f"search {out.name}: generation 1 of {generations}", file=sys.stderr)
        run.start(dataclasses.replace(cfg, generations=1), out)
    while (done := run.RunView(out).generation) < generations:
        print(f"search {out.name}: generation {done + 1} of {generations}", file=sys.stderr)
        run.resume(out, generations=done + 1)


def searched(s: Settings, context: int, args: argparse.Namespace) -> Path | None:
    """The context's run directory once its search has all its generations, else None."""
    out = run_dir(s, context, args)
    done = (out / run.RUN_FILE).exists() and run.RunView(out).generation >= s.generations
    return out if done else None


def pool_map(fn: Any, jobs: list[Any], workers: int) -> None:
    """fn on every job, in this process with one worker, else on `workers` processes."""
    if workers == 1 or len(jobs) <= 1:
        for job in jobs:
            fn(job)
        return
    with ProcessPoolExecutor(min(workers, len(jobs))) as pool:
        list(pool.map(fn, jobs))


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
        cfg = to_model_config(genome, VOCAB, context).to_dict()
        models.append(Model("front", f"F{n}", cfg, genes, genome.to_dict()))
    return models


def transformer(d_model: int, layers: int, heads: int, context: int) -> Model:
    cfg = to_model_config(transformer_genome(d_model, layers, heads), VOCAB, context)
    genes = f"d{d_model}, {plural(layers, 'layer')}"
    return Model("ladder", f"T{d_model}×{layers}", cfg.to_dict(), genes)


def ladder_models(s: Settings, context: int, front: list[Model]) -> list[Model]:
    """The chain's transformers from the last at or below the front's cheapest member to the
    first at or above its costliest, widened (upwards first) to `min_ladder` sizes."""
    chain = [transformer(d, n, h, context) for d, n, h in s.chain]
    cost = [m.built().flops_per_token() for m in chain]
    flops = [m.built().flops_per_token() for m in front]
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
    models = [*front, *ladder_models(s, context, front), *design_models(s, context)]
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
    study = (s.lr_grid, s.lr_range, s.lr_trials)
    cache = str(args.out.with_suffix(".json"))
    jobs = [Job(m, context, budget, data, sha, test, cache, study, lr=m.lr) for m in models]
    return Plan(context, out, jobs)


# ---- stage 2: the long trainings -----------------------------------------------------------


@functools.lru_cache(maxsize=2)
def corpus_of(data: str, sha256: str, min_tokens: int) -> Corpus:
    corpus = load_corpus(data, min_tokens=min_tokens)
    if corpus.sha256 != sha256:
        raise UsageError(f"corpus {data} changed since its search ran (sha256 {sha256[:12]})")
    return corpus


def train_one(job: Job, lr: float, seed: int) -> Record:
    """One long training on one thread: validation and test loss, size and speed."""
    corpus = corpus_of(job.data, job.sha256, job.context + 1)
    cfg = ModelConfig.from_dict(job.model.config)
    tc = TrainConfig.from_dict(job.budget | {"lr": lr, "seed": seed})
    model, result = train(cfg, tc, corpus, progress=False)
    test = evaluate(model, corpus.test, job.test_tokens, 16) if result.status == "ok" else None
    out = {
        "name": job.model.name,
        "context": job.context,
        "lr": lr,
        "seed": seed,
        "status": result.status,
        "val_loss": result.val_loss if result.status == "ok" else None,
        "test_loss": test if test is not None and math.isfinite(test) else None,
        **{k: getattr(result, k) for k in ("tokens_per_second", "seconds", "steps_done")},
    }
    print(
        f"  {job.model.name} at {job.context}: lr {lr:.3g}, seed {seed}: val "
        f"{out['val_loss']}, test {out['test_loss']} ({result.seconds:.0f} s)",
        file=sys.stderr,
    )
    return out


def work(job: Job) -> None:
    """Train what `job` needs that the cache lacks, caching each training as it ends."""
    torch.set_num_threads(1)
    cache = Cache(Path(job.cache))
    if job.lr is None:
        study(job, cache)
    elif job.key() not in cache.read():
        cache.put(job.key(), train_one(job, job.lr, job.seed))


def study(job: Job, cache: Cache) -> None:
    """An Optuna study of the learning rate on the validation loss: the grid first, then TPE.
    Each trial's sampler is seeded by its index, so a study continued from the cache proposes
    what an uninterrupted one would have."""
    import optuna
    from optuna.distributions import BaseDistribution, FloatDistribution
    from optuna.trial import TrialState, create_trial

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    grid, (low, high), _ = job.study
    space: dict[str, BaseDistribution] = {"lr": FloatDistribution(low, high, log=True)}
    s = optuna.create_study(direction="minimize")
    for i in range(job.trials):
        done = cache.read().get(job.key(i))
        if done is not None:
            state = TrialState.COMPLETE if done["val_loss"] is not None else TrialState.FAIL
            params = {"lr": done["lr"]}
            s.add_trial(
                create_trial(
                    params=params, distributions=space, value=done["val_loss"], state=state
                )
            )
            continue
        s.sampler = optuna.samplers.TPESampler(seed=i, n_startup_trials=len(grid))
        if i < len(grid):
            s.enqueue_trial({"lr": grid[i]})
        trial = s.ask(space)
        done = train_one(job, float(trial.params["lr"]), job.seed)
        cache.put(job.key(i), done | {"trial": i})
        if done["val_loss"] is None:  # diverged
            s.tell(trial, state=TrialState.FAIL)
        else:
            s.tell(trial, done["val_loss"])


def tuned(cache: dict[str, Record], job: Job) -> Record | None:
    """The model's result: its study's trial best on validation (or its one training), with
    the trials done so far; None before a training has succeeded."""
    done = [cache[k] for k in job.cache_keys() if k in cache]
    ok = [r for r in done if r["test_loss"] is not None]
    return min(ok, key=lambda r: r["val_loss"]) | {"trials": len(done)} if ok else None


def train_stage(s: Settings, args: argparse.Namespace) -> None:
    """Each context in turn: every model's study, then the closest contests' second seeds."""
    cache = Cache(args.out.with_suffix(".json"))
    for T in s.contexts:
        out = searched(s, T, args)
        if out is None:
            raise UsageError(f"the search at context {T} has not finished: run --stage search")
        p = plan(s, T, args, out)
        for phase, jobs in (("studies", p.jobs), ("second seeds", None)):
            if jobs is None:  # the contests are known once the studies have ended
                jobs = second_seeds(p, cache.read(), s)
            done = cache.read()
            todo = [j for j in jobs if not all(k in done for k in j.cache_keys())]
            todo.sort(key=lambda j: -j.model.built().flops_per_token())  # longest first
            print(f"context {T}, {phase}: {plural(len(todo), 'model')} to train", file=sys.stderr)
            pool_map(work, todo, args.workers)
        write_report(s, args)


def second_seeds(p: Plan, cache: dict[str, Record], s: Settings) -> list[Job]:
    """The closest contests' models again, with seed 1, at the learning rate each chose."""
    again: dict[str, Job] = {}
    for pair in contests(p, cache, s):
        for r in pair:
            if r.result is not None and r.job.lr is None:
                again[r.job.model.name] = dataclasses.replace(r.job, seed=1, lr=r.result["lr"])
    return list(again.values())


# ---- measuring -----------------------------------------------------------------------------


@dataclass
class Row:
    """A model with its result (None until trained), and its FLOPs and parameters as built."""

    job: Job
    result: Record | None
    flops: float
    params: int

    @property
    def loss(self) -> float | None:
        return None if self.result is None else self.result["test_loss"]

    def seeded(self, cache: dict[str, Record], seed: int) -> float | None:
        """The test loss with training seed `seed`, at the learning rate its study chose."""
        if self.result is None or seed == 0:
            return self.loss
        again = dataclasses.replace(self.job, seed=seed, lr=self.result["lr"])
        return cache.get(again.key(), {}).get("test_loss")


def rows(p: Plan, cache: dict[str, Record], role: str | None = None) -> list[Row]:
    out = []
    for j in p.jobs if role is None else p.of(role):
        model = j.model.built()
        out.append(Row(j, tuned(cache, j), model.flops_per_token(), model.num_parameters()))
    return out


def ladder_at(ladder: list[Row], flops: float) -> float | None:
    """The ladder's test loss at `flops`, linear in log FLOPs between its trained sizes; None
    outside them (no extrapolation)."""
    done = sorted((math.log10(r.flops), r.loss) for r in ladder if r.loss is not None)
    x = math.log10(flops)
    if len(done) < 2 or not done[0][0] <= x <= done[-1][0]:
        return None
    return float(np.interp(x, [a for a, _ in done], [b for _, b in done]))


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


def contests(p: Plan, cache: dict[str, Record], s: Settings) -> list[tuple[Row, Row]]:
    """The `pairs` front members with the lowest gaps (where the front is likeliest to beat
    the ladder), each with the trained transformer nearest to it in FLOPs."""
    ladder = [r for r in rows(p, cache, "ladder") if r.loss is not None]
    scored = sorted(
        ((g, r) for r in rows(p, cache, "front") if (g := gap(r, ladder)) is not None),
        key=lambda x: x[0],
    )
    near = [min(ladder, key=lambda t: abs(math.log10(t.flops / r.flops))) for _, r in scored]
    return [(r, t) for (_, r), t in zip(scored, near, strict=True)][: s.pairs]


def judged(member: Row, partner: Row, cache: dict[str, Record]) -> tuple[list[str], str]:
    """A contest's table cells, and its verdict against the seeds' spread."""
    m = [member.seeded(cache, seed) for seed in (0, 1)]
    t = [partner.seeded(cache, seed) for seed in (0, 1)]
    gaps = [a - b if a is not None and b is not None else None for a, b in zip(m, t, strict=True)]
    spread, words = None, "second seed not trained yet"
    if gaps[0] is not None and gaps[1] is not None:
        spread = max(abs(m[0] - m[1]), abs(t[0] - t[1]))  # type: ignore[operator]
        mean = (gaps[0] + gaps[1]) / 2
        beyond = gaps[0] * gaps[1] > 0 and abs(mean) > spread
        side = "the front member" if mean < 0 else "the transformer"
        words = f"{side} ahead, {'beyond' if beyond else 'within'} seed noise"
    cells = [
        f"{member.job.model.name} ({kflops(member.flops)})",
        f"{partner.job.model.name} ({kflops(partner.flops)})",
        f"{member.flops / partner.flops:.2f}",
        *(num(g, "+.4f") for g in gaps),
        num(spread),
        words,
    ]
    return cells, words


def dominated(member: Row, ladder: list[Row]) -> list[Row]:
    """The transformers `member` Pareto-dominates: no more FLOPs and no higher test loss."""
    m = (member.flops, member.loss)
    return [
        t
        for t in ladder
        if m[1] is not None and t.loss is not None
        and m[0] <= t.flops and m[1] <= t.loss and m != (t.flops, t.loss)
    ]  # fmt: skip


def genes_of(genomes: list[Genome]) -> str:
    """What genomes hold: mixers by layer, embeddings, wavelet and basis families, α, sizes."""
    if not genomes:
        return "none"

    def counts(c: Counter[str]) -> str:
        return ", ".join(f"{k} {n}" for k, n in c.most_common()) or "none"

    mixers = Counter(m for g in genomes for m in g.arch.mixers)
    embeddings = Counter(g.arch.embedding for g in genomes)
    wavelets = Counter(
        pywt.Wavelet(g.wavelet.name).short_family_name
        for g in genomes
        if "wavelet" in g.arch.mixers
    )
    bases = Counter(b.family for g in genomes if g.arch.embedding != "table" for b in g.basis)
    alpha = [g.arch.spectral_share for g in genomes]
    widths = "/".join(str(d) for d in sorted({g.arch.d_model for g in genomes}))
    depths = "/".join(str(n) for n in sorted({g.arch.n_layers for g in genomes}))
    return (
        f"layers by mixer: {counts(mixers)}; embeddings: {counts(embeddings)}; wavelet "
        f"families (genomes): {counts(wavelets)}; basis families (functions): {counts(bases)}; "
        f"α {min(alpha):.2f}–{max(alpha):.2f} (mean {np.mean(alpha):.2f}); widths {widths}; "
        f"{depths} layers"
    )


# ---- stage 3: the report -------------------------------------------------------------------


def num(x: float | None, fmt: str = ".4f") -> str:
    return "—" if x is None else format(x, fmt)


def kflops(x: float) -> str:
    return f"{x / 1e3:,.0f}k" if x < 1e6 else f"{x / 1e6:.2f}M"


def verdict(p: Plan, cache: dict[str, Record], s: Settings) -> str:
    """One context's answer, in numbers."""
    ladder = rows(p, cache, "ladder")
    scored = sorted(
        ((g, r) for r in rows(p, cache, "front") if (g := gap(r, ladder)) is not None),
        key=lambda x: x[0],
    )
    if not scored:
        return f"**Context {p.context}:** not enough is trained yet to compare."
    best, top = scored[0]
    wins = sum(g < 0 for g, _ in scored)
    where = f"{top.job.model.name} (`{top.job.model.genes}`, {kflops(top.flops)} FLOPs/token)"
    head = (
        f"{wins} of {len(scored)} front members inside the ladder's FLOPs beat it at matched "
        f"FLOPs; the best, {where}, by {-best:.4f} nats"
        if wins
        else f"no front member inside the ladder's FLOPs beats it at matched FLOPs; the "
        f"closest, {where}, is {best:.4f} nats worse"
    )
    hv = {role: hypervolume(rows(p, cache, role)) for role in ("front", "ladder", "design")}
    seeds = "; ".join(
        f"{m.job.model.name}: {judged(m, t, cache)[1]}" for m, t in contests(p, cache, s)
    )
    return (
        f"**Context {p.context}:** {head}. Hypervolume: front {hv['front']:.4f}, ladder "
        f"{hv['ladder']:.4f}, seeds' designs {hv['design']:.4f}. With a second seed: "
        f"{seeds or 'none trained yet'}."
    )


def mixer_shares(p: Plan) -> str:
    """The retrained front's layers by mixer, as shares."""
    layers = Counter(
        m for j in p.of("front") for m in ModelConfig.from_dict(j.model.config).layer_mixers
    )
    total = sum(layers.values())
    return ", ".join(f"{m} {n / total:.0%}" for m, n in layers.most_common())


def context_section(p: Plan, cache: dict[str, Record], s: Settings) -> list[str]:
    run_data = load_run(p.run_dir)
    ladder, front = rows(p, cache, "ladder"), rows(p, cache, "front")
    cells = []
    for r in rows(p, cache):
        res, fixed = r.result or {}, r.job.model.role == "ladder"
        trials = f" ({res['trials']} of {r.job.trials} trials)" if res and r.job.lr is None else ""
        cells.append(
            [
                f"**{r.job.model.name}**", r.job.model.role, f"`{r.job.model.genes}`",
                f"{r.flops:,.0f}", f"{r.params:,}",
                f"{res['lr']:.3g}{trials}" if res else "—", num(res.get("val_loss")),
                f"**{num(r.loss)}**",
                "" if fixed else num(ladder_at(ladder, r.flops)),
                "" if fixed else num(gap(r, ladder), "+.4f"),
                f"{res['tokens_per_second']:,.0f}" if res else "—",
            ]
        )  # fmt: skip
    hv = [
        [
            name,
            sum(r.loss is not None for r in rows(p, cache, role)),
            f"{hypervolume(rows(p, cache, role)):.4f}",
        ]
        for role, (name, _) in ROLES.items()
        if role != "anchor"
    ]
    dominance = [
        f"- {m.job.model.name} dominates {', '.join(t.job.model.name for t in d)}"
        for m in front
        if (d := dominated(m, ladder))
    ]
    genomes = {
        r.job.model.name: Genome.from_dict(r.job.model.genome) for r in front if r.job.model.genome
    }
    won = [genomes[r.job.model.name] for r in front if (g := gap(r, ladder)) is not None and g < 0]
    spread = [r["metrics"]["flops_per_token"] for r in run_data.front_records]
    budget = p.jobs[0].budget
    anchor = [
        f"nanoGPT's own model at its own learning rate reaches a test loss of {num(r.loss)}"
        + (
            f" on the bytes nanoGPT validates on; nanoGPT reports {NANOGPT_VAL_LOSS} there, "
            "training on 90% of the corpus where every model here trains on 80%."
            if Path(r.job.data).name == SHAKESPEARE.name
            else "."
        )
        for r in rows(p, cache, "anchor")
    ]
    return [
        f"## Context {p.context}",
        "",
        f"Search `{p.run_dir.name}`: {len(run_data.records)} genomes over "
        f"{run_data.generations} generations; its final front holds {len(spread)} members from "
        f"{kflops(min(spread))} to {kflops(max(spread))} FLOPs per token, of which "
        f"{len(front)} are retrained. Long training: {budget['tokens']:,} tokens in batches of "
        f"{budget['batch_size']}×{p.context}; test loss on {p.jobs[0].test_tokens:,} tokens "
        "of the test split, in nats per byte." + "".join(f" {a}" for a in anchor),
        "",
        table(
            [
                "model",
                "role",
                "genes",
                "FLOPs/token",
                "params",
                "lr (chosen)",
                "val loss",
                "test loss",
                "ladder at its FLOPs",
                "gap",
                "tokens/s (training)",
            ],
            cells,
        ),
        "",
        table(["set", "trained", "hypervolume"], hv),
        "",
        "The closest contests: the front members with the lowest gaps, each against the "
        "transformer nearest in FLOPs, trained with seeds 0 and 1 at the learning rate each "
        "chose. The gap is the member's test loss minus the transformer's; the seed spread is "
        "the larger of the two models' differences between their seeds.",
        "",
        table(
            [
                "front member",
                "transformer",
                "FLOPs ratio",
                "gap, seed 0",
                "gap, seed 1",
                "seed spread",
                "verdict",
            ],
            [judged(m, t, cache)[0] for m, t in contests(p, cache, s)],
        ),
        "",
        "Pareto dominance over the ladder (no more FLOPs and no higher test loss):",
        "",
        *(dominance or ["- no front member dominates a transformer of the ladder"]),
        "",
        f"Genes of the winners (below the ladder at matched FLOPs): {genes_of(won)}.",
        "",
        f"Genes of the retrained front: {genes_of(list(genomes.values()))}.",
        "",
    ]


def mixer_flops(mixer: str, d_model: int, context: int) -> float:
    cfg = ModelConfig(vocab_size=VOCAB, seq_len=context, d_model=d_model, n_layers=1, mixer=mixer)
    return SpectralLM(cfg).flops_breakdown()[f"layer0.{mixer}"]


def claims(plans: dict[int, Plan], cache: dict[str, Record]) -> list[list[str]]:
    """Each quantitative claim of the seed documents beside what is measured here."""
    short, long = plans[min(plans)], plans[max(plans)]
    designs = {T: {r.job.model.name: r for r in rows(p, cache, "design")} for T, p in plans.items()}
    spectral, signal = designs[short.context]["SpectralLLM"], designs[short.context]["SignalLLM"]
    ladder = rows(short, cache, "ladder")
    a = SpectralAnalyzer(spectral.job.model.built()).analyze()

    def shares(*prefixes: str) -> str:
        """The spectral share of the parameters / FLOPs of the components named `prefixes`."""
        parts = [c for c in a["components"] if c["name"].startswith(prefixes)]
        out = []
        for measure in ("params", "flops"):
            total = sum(c[measure] for c in parts) or 1
            out.append(sum(c[measure] for c in parts if c["spectral"]) / total)
        return f"{out[0]:.1%} / {out[1]:.1%}"

    near = min(ladder, key=lambda t: abs(math.log10(t.flops / spectral.flops)))
    batch = short.jobs[0].budget["batch_size"]
    memory = memory_bytes(spectral, batch) / memory_bytes(near, batch)
    speed = "its tokens/s not measured yet"
    if spectral.result and near.result:
        ratio = spectral.result["tokens_per_second"] / near.result["tokens_per_second"]
        speed = f"{ratio:.2f}× the training tokens/s of {near.job.model.name}"
    ppl = "not trained yet" if spectral.loss is None else f"{math.exp(spectral.loss):.2f}"
    d, layers = spectral.job.model.config["d_model"], spectral.job.model.config["n_layers"]
    ffns = [f"layer{i}.ffn" for i in range(layers)]
    grow = {
        m: mixer_flops(m, d, long.context) / mixer_flops(m, d, short.context) for m in MIXER_CHOICES
    }
    D, B, n = (signal.job.model.config[k] for k in ("d_model", "harmonic_bases", "n_layers"))
    table_ratio = VOCAB * D / (VOCAB * B + 2 * B)  # a table's V·D against C (V×B) and Φ's 2B
    demo = 50_000 * 768 / (50_000 * 64 + 2 * 64)  # at its demo's V 50,000, D 768, B 64
    same = {  # the SignalLLM design's FLOPs against a transformer's of its width and depth
        T: designs[T]["SignalLLM"].flops / transformer(D, n, 4, T).built().flops_per_token()
        for T in plans
    }
    return [
        ["SpectralLLM", "spectral embedding: parameter / compute ratio", "33.3% / 98.6%",
         f"{shares('embedding', 'head')} of the hybrid embedding and its tied head"],
        ["SpectralLLM", "frequency FFN: parameter / compute ratio", "21.8% / 45.2%",
         f"{shares(*ffns)} at α 0.5"],
        ["SpectralLLM", "whole model: parameter / compute ratio", "29.7% / 74.1%",
         f"{a['params']['share']:.1%} / {a['flops']['share']:.1%}"],
        ["SpectralLLM", "memory against an equivalent transformer", "60%",
         f"{memory:.0%} of {near.job.model.name}'s, the transformer nearest in FLOPs "
         f"(`model.memory` estimate, batch {batch}×{short.context})"],
        ["SpectralLLM", "training convergence against the baseline", "15% faster",
         f"test loss {num(gap(spectral, ladder), '+.4f')} nats against the ladder at its "
         f"FLOPs after equal tokens; {speed}"],
        ["SpectralLLM", "WikiText-103 perplexity with 8.3M parameters", "45.2",
         f"not measured (a word-level corpus); at context {short.context}, test perplexity "
         f"per byte {ppl} with {spectral.params:,} parameters"],
        ["SignalLLM", "frequency-domain attention: O(n log n) against O(n²)", "confirmed",
         f"FLOPs per token of one mixer at d {d}, context {short.context} → {long.context}: "
         + ", ".join(f"{m} ×{x:.2f}" for m, x in grow.items())],
        ["SignalLLM", "embedding parameters", "6× fewer",
         f"{table_ratio:.1f}× fewer than a table at V {VOCAB}, D {D}, B {B}; {demo:.1f}× at "
         "its demo's V 50,000, D 768, B 64"],
        ["SignalLLM", "FLOPs at longer sequences", "significantly lower",
         "; ".join(f"{x:.2f}× a transformer's of its size at {T}" for T, x in same.items())],
    ]  # fmt: skip


def memory_bytes(row: Row, batch: int) -> int:
    return training_bytes(ModelConfig.from_dict(row.job.model.config), batch)


def command(s: Settings, args: argparse.Namespace) -> str:
    return (
        f"python benchmarks/frontier.py{' --quick' if args.quick else ''} --data {args.data} "
        f"--strategy {args.strategy} --seed {args.seed} --contexts "
        f"{' '.join(map(str, s.contexts))} --population {s.population} --generations "
        f"{s.generations} --lr-trials {s.lr_trials} --workers {args.workers}"
    )


def write_report(s: Settings, args: argparse.Namespace) -> None:
    """The report and its figure, from the searches that have finished and what is cached."""
    cache = Cache(args.out.with_suffix(".json")).read()
    plans = {T: plan(s, T, args, out) for T in s.contexts if (out := searched(s, T, args))}
    hours = sum(r["seconds"] for r in cache.values()) / 3600
    lines = [
        "# The frontier study: at equal FLOPs, does an evolved spectral LM beat a transformer?",
        "",
        "Produced by `benchmarks/frontier.py`; rerun it to reproduce (the trainings in "
        f"`{args.out.with_suffix('.json').name}` are reused, and the searches continue where "
        "they stopped). Command:",
        "",
        f"    {command(s, args)}",
        "",
        *machine_lines(1),
        f"- one thread per training, {args.workers} at a time; {plural(len(cache), 'training')} "
        f"so far, {hours:.1f} CPU-hours of them",
        "",
        "## Verdict",
        "",
        *(
            ["- `--quick`: toy sizes, which test the script, not the question."]
            if args.quick
            else []
        ),
        *(f"- {verdict(p, cache, s)}" for p in plans.values()),
        *(f"- The retrained front's layers at {T}: {mixer_shares(p)}." for T, p in plans.items()),
        *([] if plans else ["- No search has finished yet."]),
        "",
        "## How it was measured",
        "",
        f"**Search.** The `{s.preset}` preset at each context (its fidelity ladder, WSD at its "
        f"learning rate), strategy `{args.strategy}`, population {s.population}, "
        f"{s.generations} generations, widths {list(s.d_model or []) or 'as the preset'}; a "
        f"step holds {s.search_tokens:,} tokens at every context. **Long training.** "
        f"{s.tokens:,} tokens for every model, at least {s.step_tokens} a step in whole "
        f"sequences{NANOGPT_BUDGET if s.tokens == FULL.tokens else ''}, AdamW (0.9, 0.99), "
        "weight decay 0.1, clipping at 1.0, 5% linear warm-up and cosine decay to a tenth; "
        "80/10/10 train/validation/test split, the test split being nanoGPT's validation "
        f"split. **Learning rate.** Per model, an Optuna study of {s.lr_trials} trials on the "
        f"validation loss (first {', '.join(f'{x:g}' for x in s.lr_grid)}, then TPE in "
        f"[{s.lr_range[0]:g}, {s.lr_range[1]:g}]); the test loss reported is that of the trial "
        "best on validation. **Ladder.** Transformers (table embedding, attention, FFN 4×, "
        "α 0) scaled in width and depth, from the last at or below the front's cheapest member "
        f"to the first at or above its costliest, at least {s.min_ladder}. **Gap.** Test loss "
        "minus the ladder's at equal FLOPs, linear in log FLOPs between trained ladder sizes "
        "(none outside them). **Hypervolume** on the run's axes: test loss / ln 256 and log10 "
        f"FLOPs per token, reference (1, 9). **Tokens per second**: the training loop's, on "
        f"one thread, with {plural(args.workers, 'training')} sharing the machine (see the "
        "load above). "
        f"**Seeds' designs** at d {s.design[0]}, "
        f"{plural(s.design[1], 'layer')}: `design_models` in the script maps each document's "
        "configuration onto this code's causal modules.",
        "",
    ]
    for p in plans.values():
        lines += context_section(p, cache, s)
    if plans:
        header = ["source", "claim", "claimed", "measured here (causal models)"]
        lines += ["## The seeds' claims", "", table(header, claims(plans, cache)), ""]
    lines += [f"![test loss against FLOPs per token]({args.out.with_suffix('.png').name})", ""]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines))
    plot(args.out.with_suffix(".png"), plans, cache)
    print(f"wrote {args.out}", file=sys.stderr)


def plot(path: Path, plans: dict[int, Plan], cache: dict[str, Record]) -> None:
    """Test loss against FLOPs per token, one panel per context, every point labelled."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.5 * max(1, len(plans)), 5), layout="constrained")
    for ax, p in zip(
        fig.subplots(1, max(1, len(plans)), squeeze=False)[0], plans.values(), strict=False
    ):
        for role, (name, style) in ROLES.items():
            done = sorted(
                (r for r in rows(p, cache, role) if r.loss is not None), key=lambda r: r.flops
            )
            x, y = [r.flops for r in done], [float(r.loss or 0) for r in done]
            if not done:
                continue
            if role == "ladder":
                ax.plot(x, y, color=style["color"], lw=1)
            if role == "front":  # the staircase through the members no cheaper one beats
                keep = [i for i in range(len(y)) if y[i] <= min(y[: i + 1])]
                ax.step(
                    [x[i] for i in keep],
                    [y[i] for i in keep],
                    where="post",
                    color=style["color"],
                    lw=1,
                )
            ax.scatter(x, y, label=name, zorder=3, **style)
            for r, xi, yi in zip(done, x, y, strict=True):
                ax.annotate(
                    r.job.model.name,
                    (xi, yi),
                    xytext=(4, 3),
                    textcoords="offset points",
                    fontsize=7,
                )
        ax.set_xscale("log")
        ax.set_title(f"context {p.context}")
        ax.set_xlabel("forward FLOPs per token (log scale)")
        ax.set_ylabel("test loss (nats per byte)")
        ax.grid(True, which="both", alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
    fig.savefig(path, dpi=150)


def main(argv: list[str] | None = None) -> Path:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--data", help=f"the corpus (default {SHAKESPEARE.name}; --quick: builtin)")
    p.add_argument("--stage", choices=("all", "search", "train", "report"), default="all")
    p.add_argument("--contexts", type=int, nargs="+", help="default 64 512 (--quick: 64 128)")
    p.add_argument("--strategy", default="nsga2", choices=list(STRATEGIES))
    p.add_argument("--seed", type=int, default=0, help="the searches' seed")
    p.add_argument("--population", type=int, help="default 16 (--quick: 4)")
    p.add_argument("--generations", type=int, help="default 12 (--quick: 2)")
    p.add_argument("--lr-trials", type=int, help="learning-rate trials per model (default 4)")
    p.add_argument("--workers", type=int, default=2, help="trainings (or searches) at a time")
    p.add_argument("--work", type=Path, help="run directories (default populations/frontier)")
    p.add_argument("--out", type=Path, default=REPO / "reports" / "frontier.md")
    p.add_argument("--quick", action="store_true", help="toy sizes: seconds, for the tests")
    args = p.parse_args(argv)
    base = QUICK if args.quick else FULL
    try:
        s = dataclasses.replace(
            base,
            contexts=tuple(args.contexts or base.contexts),
            population=checked("--population", args.population, base.population),
            generations=checked("--generations", args.generations, base.generations),
            lr_trials=checked("--lr-trials", args.lr_trials, base.lr_trials),
        )
        args.data = run.absolute_data(args.data or ("builtin" if args.quick else str(SHAKESPEARE)))
        args.work = args.work or (
            args.out.parent / "frontier-runs" if args.quick else REPO / "populations" / "frontier"
        )
        check(s, args)
        if args.stage in ("all", "search"):
            jobs = [
                (search_config(s, T, args), run_dir(s, T, args), s.generations) for T in s.contexts
            ]
            pool_map(search, jobs, args.workers)
        if args.stage in ("all", "train"):
            train_stage(s, args)
        if args.stage in ("all", "report"):
            write_report(s, args)
    except (UsageError, DataError) as e:
        print(f"frontier.py: {e}", file=sys.stderr)
        raise SystemExit(2) from None
    return args.out


def checked(flag: str, value: int | None, default: int) -> int:
    if value is not None and value < 1:
        raise UsageError(f"{flag} {value}: must be at least 1")
    return default if value is None else value


def check(s: Settings, args: argparse.Namespace) -> None:
    """Every setting, before anything runs: a UsageError naming the first bad one."""
    if args.workers < 1:
        raise UsageError(f"--workers {args.workers}: must be at least 1")
    if len(set(s.contexts)) != len(s.contexts) or min(s.contexts) < 1:
        raise UsageError(f"--contexts {list(s.contexts)}: distinct positive token counts")
    for T in s.contexts:
        try:
            design_models(s, T)
        except ValueError as e:
            raise UsageError(f"--contexts {T}: the seeds' designs do not fit ({e})") from None
        search_config(s, T, args)  # a UsageError for a setting the search refuses
    load_corpus(args.data, min_tokens=max(s.contexts) + 1)  # a DataError for a bad corpus


if __name__ == "__main__":
    main()
