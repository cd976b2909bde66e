"""Is the `tiny` preset's proxy budget sound? Writes reports/proxy_budget.md.

Two questions about the budget every genome of the README's default run is trained with
(120 steps of 16×64 tokens):

1. Learning rate: Optuna's TPE sampler searches lr (log-uniform in [3e-4, 1e-1]) for the lowest
   mean validation loss over a fixed sample of random genomes from the `tiny` space, starting
   from the preset's lr and the `--also` ones. Is the preset's lr near the best?
2. Fidelity: a proxy only has to *rank* genomes as longer training would. The same genomes are
   trained for 4× as many steps at the preset's lr; the report gives the rank correlation of
   that order with the order of the 120-step proxy at each of those learning rates.

    python -m benchmarks.proxy_budget               # about 9 minutes on 2 cores
    python -m benchmarks.proxy_budget --trials 4    # quicker, rougher

The first run of this script (preset lr 2e-3 then) found 1e-2 to 2e-2 better in both loss and
rank correlation, and the preset moved to 1e-2; `--also 2e-3` keeps the old value in view.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import statistics
from pathlib import Path
from typing import Any

import numpy as np
import optuna

from benchmarks.common import REPORTS, machine_lines
from hrfevo.config import RunConfig, resolve
from hrfevo.fidelity import kendall_tau, spearman
from hrfevo.genome import Genome, describe
from hrfevo.operators import random_genome
from hrfevo.run import make_problem

LR_RANGE = (3e-4, 1e-1)
LONGER = 4  # the fidelity check trains this many times the preset's steps


def val_losses(cfg: RunConfig, genomes: list[Genome]) -> list[float]:
    """Validation loss of each genome trained with cfg's budget (inf where it diverged)."""
    problem = make_problem(cfg)
    out = []
    for g in genomes:
        record = problem.evaluate(g.to_dict())
        loss = record["metrics"]["val_loss"]
        out.append(loss if record["status"] == "ok" and math.isfinite(loss) else math.inf)
    return out


def _schedule(cfg: RunConfig) -> str:
    budget = cfg.train_config()
    if budget.schedule == "wsd":
        return (
            f"WSD: {budget.warmup_steps} warm-up steps, constant, a final {budget.decay:.0%} decay"
        )
    return "warm-up and cosine decay"


def with_budget(cfg: RunConfig, **changes: Any) -> RunConfig:
    return dataclasses.replace(cfg, budget=cfg.budget | changes)


def tune_lr(
    cfg: RunConfig, genomes: list[Genome], trials: int, also: list[float], seed: int
) -> optuna.Study:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=min(4, trials))
    study = optuna.create_study(direction="minimize", sampler=sampler)
    for lr in [cfg.budget["lr"], *also]:  # the preset's own value is trial 0
        study.enqueue_trial({"lr": lr})

    def objective(trial: optuna.Trial) -> float:
        lr = trial.suggest_float("lr", *LR_RANGE, log=True)
        losses = val_losses(with_budget(cfg, lr=lr), genomes)
        trial.set_user_attr("losses", losses)
        return statistics.mean(losses)

    study.optimize(objective, n_trials=trials)
    return study


def report(
    cfg: RunConfig,
    genomes: list[Genome],
    study: optuna.Study,
    long: list[float],
    args: argparse.Namespace,
) -> str:
    steps, preset_lr, also = cfg.budget["steps"], cfg.budget["lr"], args.also
    best, preset = study.best_trial, study.trials[0]
    best_loss, preset_loss = study.best_value, preset.value
    assert preset_loss is not None  # every trial completed: optimize() raises on a failure
    # the proxies compared with the reference: the preset's lr, the --also ones, the best
    compared = {t.params["lr"]: t for t in study.trials[: 1 + len(also)]}
    compared.setdefault(best.params["lr"], best)

    def label(t: optuna.trial.FrozenTrial) -> str:
        name = "preset" if t.number == 0 else "best of part 1" if t is best else "compared"
        return f"{steps} steps, lr {t.params['lr']:.2e} ({name})"

    trials = sorted(study.trials, key=lambda t: t.params["lr"])
    lines = [
        "# Is the `tiny` proxy budget sound?",
        "",
        "Produced by `benchmarks/proxy_budget.py`; rerun it to reproduce. Command:",
        "",
        f"    python -m benchmarks.proxy_budget --genomes {args.genomes} --trials {args.trials} "
        f"--threads {args.threads} " + " ".join(["--also", *(f"{lr:g}" for lr in also)]),
        "",
        *machine_lines(threads=args.threads),
        "",
        f"Genomes: {len(genomes)} random genomes of the `tiny` space (seed 0), each trained on",
        f"the `builtin` corpus with the preset's base budget, its first rung ({steps} steps of "
        f"{cfg.budget['batch_size']}×{cfg.space.seq_len} tokens, {_schedule(cfg)}, "
        f"{cfg.budget['eval_tokens']:,} validation tokens), only the learning rate changed. "
        "The preset trains promising genomes further along its fidelity ladder; "
        "`reports/fidelity.md` measures the ranking of every rung against 16× training.",
        "",
        "## 1. Learning rate",
        "",
        f"Optuna's TPE sampler (seed 0), {len(study.trials)} trials over lr in "
        f"[{LR_RANGE[0]:g}, {LR_RANGE[1]:g}] (log scale), starting from the preset's "
        f"{preset_lr:g}{''.join(f' and {lr:g}' for lr in also)}. "
        "Objective: the mean validation loss (nats per byte) over the genomes.",
        "",
        "| lr | mean val loss | worst genome |",
        "|---:|---:|---:|",
        *(
            f"| {t.params['lr']:.2e}{' (preset)' if t.number == 0 else ''} | "
            f"{t.value:.4f} | {max(t.user_attrs['losses']):.4f} |"
            for t in trials
        ),
        "",
        f"Best: lr {best.params['lr']:.2e}, mean val loss {best_loss:.4f}; the preset's "
        f"{preset_lr:g} gives {preset_loss:.4f} "
        f"({(preset_loss - best_loss) / best_loss:+.1%} against the best).",
        "",
        f"## 2. Does {steps} steps rank genomes as {LONGER * steps} steps would?",
        "",
        f"The same genomes trained for {LONGER * steps} steps at the preset's lr (the reference "
        f"order), and the {steps}-step proxies:",
        "",
        f"| genome | {LONGER * steps} steps, lr {preset_lr:g} | "
        + " | ".join(f"{steps} steps, lr {lr:.2e}" for lr in compared)
        + " |",
        "|---|---:|" + "---:|" * len(compared),
        *(
            f"| `{describe(g)}` | {long[i]:.4f} | "
            + " | ".join(f"{t.user_attrs['losses'][i]:.4f}" for t in compared.values())
            + " |"
            for i, g in sorted(enumerate(genomes), key=lambda r: long[r[0]])
        ),
        "",
        "| proxy | Spearman | Kendall's tau |",
        "|---|---:|---:|",
        *(
            f"| {label(t)} | {spearman(t.user_attrs['losses'], long):.2f} "
            f"| {kendall_tau(t.user_attrs['losses'], long):.2f} |"
            for t in compared.values()
        ),
        "",
        "Rank correlations with the reference order; 1.0 is the same order.",
        "",
        "A search keeps the genomes its proxy ranks best, so the order matters more than the",
        "values: a high rank correlation means the cheap budget selects what a longer one",
        "would. With a handful of genomes this is a coarse check, not a precise estimate.",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--genomes", type=int, default=8, help="random genomes to train")
    parser.add_argument("--trials", type=int, default=11, help="Optuna trials over lr")
    parser.add_argument("--threads", type=int, default=2, help="torch threads per training")
    parser.add_argument(
        "--also", type=float, nargs="*", default=[2e-3], help="learning rates tried first"
    )
    parser.add_argument("--out", type=Path, default=REPORTS / "proxy_budget.md")
    args = parser.parse_args()
    cfg = resolve("tiny", None, {"cpus_per_eval": args.threads})
    rng = np.random.default_rng(0)
    genomes = [random_genome(cfg.space, rng) for _ in range(args.genomes)]
    study = tune_lr(cfg, genomes, args.trials, args.also, seed=0)
    print(f"lr: best {study.best_trial.params['lr']:.2e} ({study.best_value:.4f})")
    long = val_losses(with_budget(cfg, steps=LONGER * cfg.budget["steps"]), genomes)
    args.out.write_text(report(cfg, genomes, study, long, args))
    print(args.out.read_text())


if __name__ == "__main__":
    main()
