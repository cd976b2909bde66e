"""The frontier study's trainings on HRFEvo's executors: each model's learning-rate study run
in rounds and bracketed, every result cached as it arrives (see `benchmarks/frontier.py`).

A training is one evaluation of a `hrfevo.problem.Problem`, `Trainings`, whose candidate is the
training as plain data (model, budget, corpus, rate, seed), so any of `hrfevo.executors` runs
the study: in this process, on a local Ray, or on a cluster, as `hrfevo run` runs a search.

A study is a fixed sequence of rounds, each proposed from the trials of the rounds before it:
1. the grid (`LrStudy.grid`), all at once;
2. one TPE proposal a round up to `trials`, its sampler seeded by the trial's index;
3. bracketing rounds, until the chosen rate is bracketed or `extra` more trials have run:
   the rate best on validation is bracketed when, on each side, a rate has been tried within
   `factor` of it (one that diverged counts: it was tried, and lost), or it lies at that
   side's edge of the range, which is wide on purpose. Each round tries, for each side that
   lacks one, the chosen rate divided (below) or multiplied (above) by `factor`, clipped to the
   range, below first.
A model's next round is submitted when its last is back, and is proposed from the cache alone.
So the order in which trainings finish, the executor, and an interruption change no proposal:
a study continued from the cache proposes what an uninterrupted one would have.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from benchmarks.frontier_plan import Cache, Job, LrStudy, Record
from hrfevo.errors import MachineFaultError
from hrfevo.executor import FAULT, Executor
from hrfevo.executor import Job as Evaluation
from hrfevo.problem import Candidate, Objectives, Problem
from hrfevo.problems.spectral import open_corpus
from model import ModelConfig, TrainConfig, evaluate, train

SAME = 1e-9  # relative slack when comparing rates: 0.01 × 1.5 / 1.5 is still 0.01
TEST_BATCH = 16  # windows a batch when scoring the test split

# ---- one training, as an evaluation --------------------------------------------------------


class Trainings(Problem):
    """Each candidate is one training (`candidate`); `evaluate` runs it on `threads` threads
    and `device`. Nothing to search: the study proposes the candidates. Plain attributes
    only: the Ray executor ships it to the workers."""

    objective_names = ("val_loss",)

    def __init__(self, threads: int = 1, device: str = "cpu") -> None:
        self.threads, self.device = threads, device

    def sample(self, rng: np.random.Generator) -> Candidate:
        raise NotImplementedError("the frontier study proposes its trainings; none is sampled")

    def vary(
        self, a: Candidate, b: Candidate, rng: np.random.Generator
    ) -> tuple[Candidate, Candidate]:
        raise NotImplementedError("the frontier study proposes its trainings; none is varied")

    def key(self, x: Candidate) -> str:
        blob = json.dumps(x, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:20]

    def evaluate(self, x: Candidate, rung: int = 0, start: bytes | None = None) -> dict[str, Any]:
        return train_one(x, self.threads, self.device)

    def objectives(self, record: dict[str, Any]) -> Objectives:
        loss = record["metrics"].get("val_loss")
        return (float("inf") if loss is None else loss,)

    def budget(self, rung: int = 0) -> dict[str, Any]:
        return {"threads": self.threads, "device": self.device}

    def on_device(self, device: str) -> Trainings:
        return Trainings(self.threads, device)


def candidate(job: Job, lr: float, seed: int) -> Candidate:
    """One training of `job`'s model at `lr` and `seed`, as plain data."""
    return {
        "name": job.model.name,
        "context": job.context,
        "model": job.model.config,
        "budget": job.budget,
        "data": job.data,
        "sha256": job.sha256,
        "test_tokens": job.test_tokens,
        "lr": lr,
        "seed": seed,
    }


def train_one(x: Candidate, threads: int, device: str) -> dict[str, Any]:
    """Train `x` on `threads` threads and `device` (which override the budget's: a result does
    not depend on where it ran): validation and test loss, speed, and the device used."""
    corpus = open_corpus(x["data"], x["context"] + 1, x["sha256"])  # a UsageError if changed
    cfg = ModelConfig.from_dict(x["model"])
    run = {"lr": x["lr"], "seed": x["seed"], "threads": threads, "device": device}
    torch.set_num_threads(threads)  # for the test loss: `train` sets and restores its own
    model, result = train(cfg, TrainConfig.from_dict(x["budget"] | run), corpus, progress=False)
    ok = result.status == "ok"
    metrics = {
        "val_loss": result.val_loss if ok else None,
        "test_loss": evaluate(model, corpus.test, x["test_tokens"], TEST_BATCH) if ok else None,
        **{k: getattr(result, k) for k in ("tokens_per_second", "seconds", "steps_done")},
    }
    device_used = str(next(model.parameters()).device)  # "auto" resolved
    return {"status": result.status, "metrics": metrics, "device": device_used}


# ---- the learning-rate study ---------------------------------------------------------------


@dataclass(frozen=True)
class Trial:
    """One training a job needs: its cache key, rate, seed, and place in the study."""

    key: str
    lr: float
    seed: int
    index: int | None  # None: the job's one fixed training


def chosen(trials: list[Record]) -> Record | None:
    """The trial whose model is reported: the lowest validation loss of those with a test loss."""
    ok = [r for r in trials if r["test_loss"] is not None]
    return min(ok, key=lambda r: r["val_loss"]) if ok else None


@dataclass(frozen=True)
class Bracket:
    """The chosen rate beside the nearest rates tried within the study's factor of it."""

    lr: float
    below: float | None
    above: float | None
    at_low: bool  # at the range's low edge: nothing to try below
    at_high: bool
    extra: int  # trials run to bracket it

    @property
    def bracketed(self) -> bool:
        low = self.below is not None or self.at_low
        return low and (self.above is not None or self.at_high)


def bracket(study: LrStudy, trials: list[Record]) -> Bracket | None:
    """Where the chosen rate of `trials` (the study's first ones, in order) stands; None
    before a trial has succeeded."""
    best = chosen(trials)
    if best is None:
        return None
    lr, reach = best["lr"], study.factor * (1 + SAME)
    rates = [r["lr"] for r in trials]
    low, high = study.span
    return Bracket(
        lr,
        max((x for x in rates if lr / reach <= x < lr / (1 + SAME)), default=None),
        min((x for x in rates if lr * (1 + SAME) < x <= lr * reach), default=None),
        lr <= low * (1 + SAME),
        lr >= high / (1 + SAME),
        max(0, len(trials) - study.trials),
    )


def wanted(study: LrStudy, b: Bracket) -> list[float]:
    """The rates a bracketing round tries: one for each side that lacks a neighbour."""
    low, high = study.span
    below = [] if b.below is not None or b.at_low else [max(b.lr / study.factor, low)]
    above = [] if b.above is not None or b.at_high else [min(b.lr * study.factor, high)]
    return below + above


def tpe(study: LrStudy, trials: list[Record], index: int) -> float:
    """Trial `index`'s rate: Optuna's TPE proposal from the trials before it, its sampler
    seeded by `index`; the grid counts as TPE's start-up trials."""
    import optuna
    from optuna.distributions import BaseDistribution, FloatDistribution
    from optuna.trial import TrialState, create_trial

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    space: dict[str, BaseDistribution] = {"lr": FloatDistribution(*study.span, log=True)}
    s = optuna.create_study(direction="minimize")
    for r in trials:
        state = TrialState.COMPLETE if r["val_loss"] is not None else TrialState.FAIL  # diverged
        lr = {"lr": r["lr"]}
        s.add_trial(create_trial(params=lr, distributions=space, value=r["val_loss"], state=state))
    s.sampler = optuna.samplers.TPESampler(seed=index, n_startup_trials=len(study.grid))
    return float(s.ask(space).params["lr"])


def rounds(job: Job, done: dict[str, Record]) -> Iterator[list[Trial]]:
    """The study's rounds in order (module doc). A round is proposed from the trials before
    it, read from `done`: the caller stops at the first round that `done` lacks a trial of."""
    st = job.study

    def round_at(first: int, rates: list[float]) -> list[Trial]:
        return [Trial(job.key(i), lr, job.seed, i) for i, lr in enumerate(rates, first)]

    def before(n: int) -> list[Record]:
        return [done[job.key(i)] for i in range(n)]

    yield round_at(0, list(st.grid[: st.trials]))
    for i in range(len(st.grid), st.trials):
        yield round_at(i, [tpe(st, before(i), i)])
    i, last = st.trials, st.trials + st.extra
    while i < last:
        b = bracket(st, before(i))
        rates = [] if b is None else wanted(st, b)[: last - i]
        if not rates:
            return
        yield round_at(i, rates)
        i += len(rates)


def next_round(job: Job, done: dict[str, Record]) -> list[Trial]:
    """The trainings of `job`'s first round that `done` lacks; [] once the job is complete."""
    if job.lr is not None:
        return [] if job.key() in done else [Trial(job.key(), job.lr, job.seed, None)]
    for trials in rounds(job, done):
        missing = [t for t in trials if t.key not in done]
        if missing:
            return missing
    return []


def tuned(cache: dict[str, Record], job: Job) -> Record | None:
    """The model's result: its study's chosen trial (or its one training), with the trials
    done so far and, for a study, its `Bracket`; None before a training has succeeded."""
    done = [cache[k] for k in job.cache_keys() if k in cache]
    best = chosen(done)
    if best is None:
        return None
    rates = None if job.lr is not None else bracket(job.study, done)
    return best | {"trials": len(done), "bracket": rates}


def other_seeds(jobs: list[Job], cache: dict[str, Record], seeds: int) -> list[Job]:
    """Each studied job of `jobs` with a result again, with seeds 1 to `seeds` - 1, at the
    learning rate its study chose (a model listed twice, once)."""
    again: dict[str, Job] = {}
    for job in jobs:
        best = tuned(cache, job) if job.lr is None else None
        if best is None:
            continue
        for seed in range(1, seeds):
            one = dataclasses.replace(job, seed=seed, lr=best["lr"])
            again.setdefault(one.key(), one)
    return list(again.values())


# ---- running them --------------------------------------------------------------------------


def train_jobs(jobs: list[Job], executor: Executor, cache: Cache) -> None:
    """Every training of `jobs` that the cache lacks, on `executor`: each job's rounds in turn
    (the jobs side by side, in the order given), each result cached as it arrives.

    A machine fault that persists (after the executor's retries) stops its job, whose next
    round would need the missing result: once the others are done, a MachineFaultError; a
    rerun trains what is missing."""
    rounds = Rounds(jobs, executor, cache)
    for n in range(len(jobs)):
        rounds.submit(n)
    while executor.pending:
        for record in executor.as_completed():
            rounds.arrived(record)
    if rounds.faults:
        remedy = "run the study again: it trains only what is missing"
        raise MachineFaultError(cache.path, rounds.faults, remedy)


class Rounds:
    """The jobs' rounds on one executor: a job's next round goes out when its last is back."""

    def __init__(self, jobs: list[Job], executor: Executor, cache: Cache) -> None:
        self.jobs, self.executor, self.cache = jobs, executor, cache
        self.waiting: dict[str, list[int]] = {}  # key -> the jobs (indices) waiting for it
        self.trials: dict[str, Trial] = {}
        self.faults: list[str] = []
        self.stopped: set[int] = set()  # jobs with a fault

    def submit(self, n: int) -> None:
        """Job `n`'s next round, read from the cache (each key once, however many jobs wait)."""
        if n in self.stopped:
            return
        for t in next_round(self.jobs[n], self.cache.read()):
            if t.key not in self.waiting:
                x = candidate(self.jobs[n], t.lr, t.seed)
                self.executor.submit(Evaluation(t.key, x, 0))
            self.waiting.setdefault(t.key, []).append(n)
            self.trials[t.key] = t

    def arrived(self, record: dict[str, Any]) -> None:
        """Cache a result, then submit the next round of each job whose round is complete."""
        key, owners = record["key"], self.waiting.pop(record["key"])
        if record["status"] == FAULT:
            self.faults.append(f"{record['candidate']['name']}: {record['error']}")
            self.stopped.update(owners)
            return
        self.cache.put(key, result(record, self.trials[key]))
        for n in owners:
            if not any(n in ns for ns in self.waiting.values()):
                self.submit(n)


def result(record: dict[str, Any], trial: Trial) -> Record:
    """A finished evaluation as the cache keeps it; a training that crashed stops the study."""
    x, m = record["candidate"], record["metrics"]
    if record["status"] == "failed":  # not the machine's fault, nor a result: a bug
        where = f"{x['name']} at {x['context']}, lr {x['lr']:.3g}, seed {x['seed']}"
        raise RuntimeError(f"training {where} crashed:\n{record['traceback']}")
    print(
        f"  {x['name']} at {x['context']}, {x['budget']['tokens']:,} tokens: lr {x['lr']:.3g}, "
        f"seed {x['seed']}: val {m['val_loss']}, test {m['test_loss']} ({m['seconds']:.0f} s)",
        file=sys.stderr,
    )
    out = {k: x[k] for k in ("name", "context", "lr", "seed")} | {"status": record["status"]}
    out |= m | {"device": record["worker"]["device"], "threads": record["budget"]["threads"]}
    return out if trial.index is None else out | {"trial": trial.index}
