"""`hrfevo calibrate`: measure how well a preset's proxy ranks genomes against longer training.

    hrfevo calibrate --preset P [--config F] --data D --genomes N --mult M --out DIR

Trains N genomes (the transformer baseline among them) as the preset's search scores them, at
every rung of its fidelity ladder, and again from scratch for M times the budget's steps, then
writes DIR/calibration.json and DIR/calibration.md: Kendall τ and Spearman ρ between the two
rankings, per rung, and the baseline's place in each (see `hrfevo.calibrate`).
"""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path
from typing import Any

from hrfevo.commands.run import add_execution_flags


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "calibrate",
        help="measure a proxy: its ranking of genomes against M× longer training",
        description=__doc__.splitlines()[0] if __doc__ else None,
    )
    p.add_argument("--config", type=Path, help="YAML or JSON file of run settings")
    p.add_argument("--preset", help="smoke, tiny (the default) or small")
    p.add_argument("--data", help="'builtin' (default), a text file, or hf:NAME[:CONFIG]")
    p.add_argument("--genomes", type=int, required=True, help="genomes to train (2 to 1000)")
    p.add_argument(
        "--mult", type=int, required=True, help="the reference trains M × the budget's steps"
    )
    p.add_argument("--out", type=Path, required=True, help="new or empty output directory")
    p.add_argument("--seed", type=int, help="seeds the genomes drawn and every training run")
    add_execution_flags(p)
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from hrfevo import calibrate, config

    flags = {k: getattr(args, k) for k in ("data", "seed", *config.EXECUTION_FIELDS)}
    cfg = config.resolve(args.preset, args.config, flags)
    result = calibrate.calibrate(cfg, args.out, args.genomes, args.mult, command_line(args))
    calibrate.summary(result, args.out)
    return 0


def command_line(args: argparse.Namespace) -> str:
    """The flags given, as a command that reproduces the calibration."""
    words = ["hrfevo", "calibrate"]
    for name, value in vars(args).items():
        if name in ("command", "func") or value is None:
            continue
        flag = "--" + name.replace("_", "-")
        words += [flag] if value is True else [flag, str(value)]
    return shlex.join(words)
