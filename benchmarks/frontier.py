"""The frontier study: at equal FLOPs, does an evolved spectral LM beat a transformer, at short
and long context, and does the answer survive scale? Writes reports/frontier.md and .png.

    python -m benchmarks.frontier                  # the study: about an hour on 2 cores, resumable
    python -m benchmarks.frontier --stage scale    # then its scale stage: about 3½ hours more
    python -m benchmarks.frontier --quick --out /tmp/f/frontier.md   # toy sizes, seconds
    python -m benchmarks.frontier --ray-address auto --gpus-per-eval 0.25   # on a Ray cluster

At each context (64, which anchors to nanoGPT's CPU run, and 512, where the FFT mixers' cost
advantage is real), in stages that can be run apart with `--stage` (`all` runs them in turn
and rewrites the report as each context's trainings end):
1. search: the `tiny` preset (its fidelity ladder, WSD at its learning rate), widths up to 96
   so that its FLOPs cover the transformer ladder, steps of equal tokens at every context.
   Each runs to its generations through the benchmarks' harness (`harness.run_arm`), which
   continues a run directory that exists where it stopped.
2. train: one long budget of equal tokens for every model (nanoGPT's CPU budget, 2,000 steps
   of 12×64 with warm-up and cosine decay; the same tokens at 512): the final front (all of it,
   or members spread along it), transformers scaled in width and depth spanning the front's
   FLOPs, the seeds' two designs made causal, and at 64 nanoGPT's own model at its own
   learning rate. Every model but that anchor gets the same care: a small Optuna study of the
   learning rate on the validation split, continued until the rate chosen is bracketed by
   rates tried within ×1.5 either side (`frontier_train`); the test loss reported is the best
   trial's. The front members with the lowest gaps, and the transformers either side of each
   in FLOPs, train with two more seeds at the learning rate they chose.
3. recall (`frontier_recall`): every model's in-context recall (`model.recall`'s MQAR probe at
   its defaults, on sequences of its context up to 128 tokens), inference state and
   generation latency, kept beside the report in frontier-recall.json. Not yet timed on the
   study's models: reports/recall.md's probes took 30 to 340 s each on one thread, so the
   study's 35 or so models should take 1 to 2 CPU-hours more.
4. scale (`frontier_scale`), on request: `--stage scale`, or `all` with a scale flag
   (`--scale-width`, `--scale-tokens`, `--token-factors`, `--scale-seeds`), so that the plain
   command stays the study it was. The contests the study judged (every front member beyond
   seed noise, the closest within noise, the seeds' designs), each with the transformers
   either side of it, widened (d_model and heads × `--scale-width`, default 2) and trained on
   `--scale-tokens` × the tokens (default 2); and, to tell what training does from what width
   does, at the study's widths on × `--token-factors` the tokens (default 2 and 4). Each model's
   rate is tuned again until bracketed, from the rate it chose in the study; each trains
   `--scale-seeds` seeds (default 2); each gap is judged against the widened ladder at matched
   FLOPs, on test loss, against seed noise, as in the study.
5. report: test loss against FLOPs per token, parameters and tokens per second; each set's
   hypervolume on the run's axes; the gap at matched FLOPs (linear in log FLOPs along the
   ladder); where the front dominates; the genes of the winners; the seeds' claims beside what
   is measured here; once the scale stage has results, its Scale section (each verdict at
   every scale point, their rank correlations with the study's, CPU-hours by stage, and what
   ×4 and ×8 would cost).

The scale stage's cost at the defaults, estimated from the seconds the study's trainings took
(`frontier_scale.estimate`; 1.5M tokens took 5 to 60 s, two trainings at a time on 2 cores),
with 2 front members and the 2 designs selected at each context, their ladder, and 5 trainings
a model (a study of 3 and one bracketing trial, then a second seed): per context, ×2 width at
×2 tokens about 1.5 to 2 CPU-hours (FLOPs ×3.0 to ×3.8, and time grows as about FLOPs^0.7 at
these sizes), ×2 tokens 0.6, ×4 tokens 1.2. In all about 7 CPU-hours: 3½ hours on 2 cores
(4½ if time grew as FLOPs, `estimate`'s upper bound). Without the ×4 token point
(`--token-factors 2`), about 2¼ hours. Each model selected beyond 2 at a context adds about a
sixth. Larger factors are for a GPU or a cluster.

The searches run side by side in `--workers` processes, each on the serial executor, so that
their CPU-seconds compare. The trainings run on HRFEvo's executors, as `hrfevo run`'s
evaluations do (`--executor`, `--ray-address`, `--cpus-per-eval`, `--gpus-per-eval`): a local
Ray by default (a cluster's nodes need the corpus at the same path, as for `hrfevo run`).
Every training's result is kept in reports/frontier.json, beside the report, as it arrives,
keyed by the model, its budget, the corpus and, for the scale stage, its scale point, not by
where it ran: an interrupted or extended study trains only what is missing, on any executor.

This file holds the stages and the command line; `frontier_plan.py` the settings, the models
and the cache; `frontier_train.py` the trainings and the learning-rate studies;
`frontier_scale.py` what the scale stage trains; `frontier_measure.py` the measures;
`frontier_report.py` and `frontier_scale_report.py` the report and its figure.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from benchmarks import frontier_recall, frontier_train
from benchmarks.common import REPO, REPORTS, SHAKESPEARE
from benchmarks.frontier_measure import contests
from benchmarks.frontier_plan import (
    FULL,
    QUICK,
    Cache,
    Job,
    Plan,
    Record,
    Settings,
    design_models,
    plan,
    run_dir,
    searched,
    transformer,
)
from benchmarks.frontier_report import write_report
from benchmarks.frontier_scale import Scale, estimate, scale_plan, selection, widened
from benchmarks.frontier_train import Trainings, next_round, train_jobs
from benchmarks.harness import Announce, run_arm
from hrfevo import run
from hrfevo.config import RunConfig, resolve
from hrfevo.errors import MachineFaultError, UsageError
from hrfevo.executor import Execution, Executor
from hrfevo.executors import EXECUTORS
from hrfevo.executors.ray_executor import check_resources, local_resources
from hrfevo.reporting.markdown import plural
from hrfevo.run import make_executor
from hrfevo.stop import Stop
from hrfevo.strategies import STRATEGIES
from model import DataError, load_corpus

EXECUTION_FLAGS = ("executor", "ray_address", "cpus_per_eval", "gpus_per_eval")  # RunConfig's

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


def search(job: tuple[RunConfig, Path, int]) -> None:
    """Start or continue one context's search to `generations`."""
    cfg, out, generations = job
    run_arm(cfg, out, Stop(generations), Announce(out.name, generations))


def pool_map(fn: Any, jobs: list[Any], workers: int) -> None:
    """fn on every job, in this process with one worker, else on `workers` processes."""
    if workers == 1 or len(jobs) <= 1:
        for job in jobs:
            fn(job)
        return
    with ProcessPoolExecutor(min(workers, len(jobs))) as pool:
        list(pool.map(fn, jobs))


# ---- stage 2: the long trainings -----------------------------------------------------------


def train_stage(s: Settings, scale: Scale, args: argparse.Namespace) -> None:
    """Each context in turn, all on one executor, its report rewritten when it is trained."""
    cache = Cache(args.out.with_suffix(".json"))
    with trainings_executor(s, args) as executor:
        for T in s.contexts:
            train_context(s, T, args, executor, cache)
            write_report(s, args, scale)


def trainings_executor(s: Settings, args: argparse.Namespace) -> Executor:
    """The executor the execution flags name, with `Trainings` as its problem."""
    cfg = execution(s, args)
    if cfg.executor == "ray":  # a cluster's nodes have hrfevo and model, not this script
        from ray import cloudpickle

        cloudpickle.register_pickle_by_value(frontier_train)
    return make_executor(cfg, Trainings(cfg.cpus_per_eval))


def train_context(
    s: Settings, context: int, args: argparse.Namespace, executor: Executor, cache: Cache
) -> None:
    """Every model's study, then the closest contests' other seeds."""
    p = plan(s, context, args, finished(s, context, args))
    for phase, jobs in (("studies", p.jobs), ("other seeds", None)):
        if jobs is None:  # the contests are known once the studies have ended
            jobs = other_seeds(p, cache.read(), s)
        done = cache.read()
        todo = [j for j in jobs if next_round(j, done)]
        todo.sort(key=lambda j: -j.model.built().flops_per_token())  # longest first
        say = f"context {context}, {phase}: {plural(len(todo), 'model')} to train"
        print(say, file=sys.stderr)
        train_jobs(todo, executor, cache)


def finished(s: Settings, context: int, args: argparse.Namespace) -> Path:
    """The context's search, once it has finished; else a UsageError."""
    out = searched(s, context, args)
    if out is None:
        raise UsageError(f"the search at context {context} has not finished: run --stage search")
    return out


def execution(s: Settings, args: argparse.Namespace) -> RunConfig:
    """Where the trainings run: the execution flags, checked as `hrfevo run` checks them."""
    return resolve(s.preset, None, {k: getattr(args, k) for k in EXECUTION_FLAGS})


def other_seeds(p: Plan, cache: dict[str, Record], s: Settings) -> list[Job]:
    """The closest contests' models again, with seeds 1 to `seeds` - 1, at the learning rate
    each chose."""
    jobs = [r.job for c in contests(p, cache, s) for r in (c.member, c.below, c.above)]
    return frontier_train.other_seeds(jobs, cache, s.seeds)


# ---- stage 3: the scale stage, on request --------------------------------------------------


def scale_stage(s: Settings, scale: Scale, args: argparse.Namespace) -> None:
    """Every context's selected contests at every scale point (`frontier_scale`), all on one
    executor: every study, then every other seed, the report rewritten after each."""
    cache = Cache(args.out.with_suffix(".json"))
    plans = [plan(s, T, args, finished(s, T, args)) for T in s.contexts]
    chosen = {p.context: selection(p, cache.read(), s) for p in plans}  # the study's verdicts
    with trainings_executor(s, args) as executor:
        for phase in ("studies", "other seeds"):
            done = cache.read()
            sps = [
                scale_plan(p, chosen[p.context], pt, done, s) for p in plans for pt in scale.points
            ]
            jobs = [j for sp in sps for j in sp.jobs]
            if phase == "other seeds":
                jobs = frontier_train.other_seeds(jobs, done, scale.seeds)
            todo = [j for j in jobs if next_round(j, done)]
            todo.sort(key=lambda j: -j.model.built().flops_per_token() * j.budget["tokens"])
            hours = sum(estimate(sp, done, scale.seeds) for sp in sps) / 3600
            print(
                f"scale stage, {phase}: {plural(len(todo), 'model')} to train (the whole stage: "
                f"about {hours:.1f} CPU-hours, from the study's speed)",
                file=sys.stderr,
            )
            train_jobs(todo, executor, cache)
            write_report(s, args, scale)


def main(argv: list[str] | None = None) -> Path:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--data", help=f"the corpus (default {SHAKESPEARE.name}; --quick: builtin)")
    p.add_argument(
        "--stage",
        choices=("all", "search", "train", "recall", "scale", "report"),
        default="all",
        help="all: search, train, recall (each model's recall, state and latency) and "
        "report, and scale too where a scale flag is given (default all)",
    )
    p.add_argument("--contexts", type=int, nargs="+", help="default 64 512 (--quick: 64 128)")
    p.add_argument("--strategy", default="nsga2", choices=list(STRATEGIES))
    p.add_argument("--seed", type=int, default=0, help="the searches' seed")
    p.add_argument(
        "--population", type=int, help=f"default {FULL.population} (--quick: {QUICK.population})"
    )
    p.add_argument(
        "--generations", type=int, help=f"default {FULL.generations} (--quick: {QUICK.generations})"
    )
    p.add_argument(
        "--lr-trials", type=int, help=f"learning-rate trials per model (default {FULL.lr_trials})"
    )
    p.add_argument("--workers", type=int, default=2, help="searches or recall probes at a time")
    add_execution_flags(p)
    add_scale_flags(p)
    p.add_argument("--work", type=Path, help="run directories (default populations/frontier)")
    p.add_argument("--out", type=Path, default=REPORTS / "frontier.md")
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
        scale, asked = scaling(args)
        check(s, scale, args)
        if args.stage in ("all", "search"):
            jobs = [
                (search_config(s, T, args), run_dir(s, T, args), s.generations) for T in s.contexts
            ]
            pool_map(search, jobs, args.workers)
        if args.stage in ("all", "train"):
            train_stage(s, scale, args)
        if args.stage in ("all", "recall"):
            plans = [plan(s, T, args, finished(s, T, args)) for T in s.contexts]
            frontier_recall.measures(plans, s, args.out, args.workers)
        if args.stage == "scale" or (args.stage == "all" and asked):
            scale_stage(s, scale, args)
        if args.stage in ("all", "report"):
            write_report(s, args, scale)
    except (UsageError, DataError) as e:
        print(f"frontier.py: {e}", file=sys.stderr)
        raise SystemExit(2) from None
    except MachineFaultError as e:
        print(f"frontier.py: {e}", file=sys.stderr)
        raise SystemExit(3) from None
    return args.out


def add_execution_flags(p: argparse.ArgumentParser) -> None:
    """Where the trainings run, as for `hrfevo run` (the searches run serially, one a worker)."""
    default = next(iter(EXECUTORS))
    p.add_argument(
        "--executor",
        choices=list(EXECUTORS),
        default=default,
        help=f"where trainings run: ray (a local Ray, or a cluster with --ray-address) or serial "
        f"(in this process, one at a time) (default {default})",
    )
    p.add_argument(
        "--ray-address",
        metavar="ADDRESS",
        help="join this Ray cluster ('auto' or host:port) instead of starting a local Ray",
    )
    p.add_argument(
        "--cpus-per-eval",
        type=int,
        metavar="N",
        help=f"CPU cores (torch threads) per training (default {Execution.cpus_per_eval})",
    )
    p.add_argument(
        "--gpus-per-eval",
        type=float,
        metavar="F",
        help="GPUs per training, e.g. 0.25 to share one among four "
        f"(default {Execution.gpus_per_eval:g})",
    )


def add_scale_flags(p: argparse.ArgumentParser) -> None:
    """The scale stage's factors (`frontier_scale.Scale`, whose defaults these are)."""
    p.add_argument(
        "--scale-width",
        type=int,
        metavar="N",
        help=f"the scale stage's width factor: d_model and heads × N (default {Scale.width})",
    )
    p.add_argument(
        "--scale-tokens",
        type=int,
        metavar="N",
        help=f"the scale stage's token factor: the long budget × N (default {Scale.tokens})",
    )
    p.add_argument(
        "--token-factors",
        type=int,
        nargs="*",
        metavar="N",
        help="the token axis alone: the study's widths at these token factors, none if "
        f"empty (default {' '.join(map(str, Scale.token_factors))})",
    )
    p.add_argument(
        "--scale-seeds",
        type=int,
        metavar="N",
        help=f"training seeds of every scaled model (default {Scale.seeds})",
    )


def scaling(args: argparse.Namespace) -> tuple[Scale, bool]:
    """The scale stage's settings, and whether a scale flag asked for it."""
    given = {
        "width": args.scale_width,
        "tokens": args.scale_tokens,
        "token_factors": None if args.token_factors is None else tuple(args.token_factors),
        "seeds": args.scale_seeds,
    }
    asked = {k: v for k, v in given.items() if v is not None}
    return Scale(**asked), bool(asked)


def checked(flag: str, value: int | None, default: int) -> int:
    if value is not None and value < 1:
        raise UsageError(f"{flag} {value}: must be at least 1")
    return default if value is None else value


def check(s: Settings, scale: Scale, args: argparse.Namespace) -> None:
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
    cfg = execution(s, args)  # a UsageError for an execution setting `hrfevo run` refuses
    if cfg.executor == "ray" and cfg.ray_address is None:  # before the searches, not after
        need = {"CPU": float(cfg.cpus_per_eval), "GPU": float(cfg.gpus_per_eval)}
        check_resources([local_resources()], need)
    load_corpus(args.data, min_tokens=max(s.contexts) + 1)  # a DataError for a bad corpus
    for T in s.contexts:  # the front members too, once searched
        for m in [*design_models(s, T), *(transformer(d, n, h, T) for d, n, h in s.chain)]:
            widened(m, scale.width)  # a UsageError for a width the model cannot take


if __name__ == "__main__":
    main()
