"""`hrfevo run`: start a search in a new run directory."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any


def add_parser(sub: Any) -> None:
    p = sub.add_parser("run", help="start an evolutionary search", description=__doc__)
    p.add_argument("--config", type=Path, help="YAML or JSON file of run settings")
    p.add_argument("--preset", help="smoke, tiny (the default) or small")
    p.add_argument("--data", help="'builtin' (default), a text file, or hf:NAME[:CONFIG]")
    p.add_argument("--out", type=Path, help="run directory (default: populations/<preset>-<time>)")
    p.add_argument("--seed", type=int)
    p.add_argument("--population", type=int, help="genomes per generation")
    p.add_argument("--generations", type=int)
    p.add_argument("--strategy", help="nsga2 (default) or random")
    p.add_argument(
        "--seeds",
        nargs="+",
        metavar="SEED",
        help="generation-0 genomes: 'transformer', genome JSON files, run directories",
    )
    add_execution_flags(p)
    p.set_defaults(func=main)


def add_execution_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--executor", help="ray (default) or serial")
    p.add_argument("--ray-address", help="join this Ray cluster ('auto' or host:port)")
    p.add_argument(
        "--ray-dashboard",
        action="store_true",
        default=None,
        help="serve Ray's dashboard from the local Ray (off by default)",
    )
    p.add_argument("--cpus-per-eval", type=int, help="CPU cores (torch threads) per evaluation")
    p.add_argument("--gpus-per-eval", type=float, help="GPUs per evaluation, e.g. 0.25")
    p.add_argument(
        "--eval-timeout",
        type=float,
        metavar="SECONDS",
        help="wall-clock limit per evaluation (ray executor); one past it is a machine fault: "
        "retried, then the run stops (exit 3) until `hrfevo resume` (where 0 clears the limit)",
    )


def main(args: argparse.Namespace) -> int:
    from hrfevo import config, run
    from hrfevo.progress import Progress

    search = ("data", "seed", "population", "generations", "strategy", "seeds")
    flags = {k: getattr(args, k) for k in search + config.EXECUTION_FIELDS}
    cfg = config.resolve(args.preset, args.config, flags)
    out = (
        args.out
        or Path("populations") / f"{cfg.preset}-{time.strftime('%Y%m%d-%H%M%S')}-s{cfg.seed}"
    )
    run.start(cfg, out, Progress(run.make_problem(cfg), cfg.generations))
    print(f"run finished: {out}  (hrfevo status {out})")
    return 0
