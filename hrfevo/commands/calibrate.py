"""`hrfevo calibrate`: measure a proxy: its ranking of genomes against M× longer training.

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

from hrfevo.commands.common import add_config_flags, add_execution_flags


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_config_flags(p)
    p.add_argument(
        "--genomes", type=int, required=True, metavar="N", help="genomes to train (2 to 1000)"
    )
    p.add_argument(
        "--mult",
        type=int,
        required=True,
        metavar="M",
        help="the reference trains M × the budget's steps",
    )
    p.add_argument(
        "--out", type=Path, required=True, metavar="DIR", help="new or empty output directory"
    )
    add_execution_flags(p, default="the preset's")


def main(args: argparse.Namespace) -> int:
    from hrfevo import calibrate, config
    from hrfevo.reporting.calibration import summary

    flags = {k: getattr(args, k) for k in ("data", "seed", *config.EXECUTION_FIELDS)}
    cfg = config.resolve(args.preset, args.config, flags)
    result = calibrate.calibrate(cfg, args.out, args.genomes, args.mult, command_line(args))
    summary(result, args.out)
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
