"""`hrfevo export-optuna`: write a run as an Optuna study, for Optuna's dashboard and plots.

    hrfevo export-optuna RUN --storage sqlite:///hrfevo.db [--study-name NAME]
    optuna-dashboard sqlite:///hrfevo.db

One trial per genome: its expressed genes as params, perplexity and FLOPs per token as values
(both minimised), a failed genome as a failed trial, its key, metrics and genome as user
attributes. With a fidelity ladder, the perplexity at each rung is an intermediate value at
that rung's steps, and a genome the ladder stopped below the top rung is a pruned trial, so
`study.best_trials` is the front of the genomes trained to the top rung (without a ladder,
the run's final front).
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_dir", type=Path, metavar="RUN", help="a run directory")
    p.add_argument(
        "--storage",
        required=True,
        metavar="URL",
        help="an Optuna (SQLAlchemy) storage URL, e.g. sqlite:///hrfevo.db; created if absent",
    )
    p.add_argument(
        "--study-name",
        metavar="NAME",
        help="the new study's name (default: the run directory's name); must not exist yet",
    )


def main(args: argparse.Namespace) -> int:
    from hrfevo.api import load_run
    from hrfevo.errors import UsageError
    from hrfevo.optuna_study import export

    if args.study_name is not None and not args.study_name.strip():
        raise UsageError(f"--study-name {args.study_name!r}: must not be empty")
    study = export(load_run(args.run_dir), args.storage, args.study_name)
    n = len(study.trials)
    print(
        f"wrote study {study.study_name!r} ({n} trials, {len(study.best_trials)} on the front) "
        f"to {args.storage}\nopen it with: optuna-dashboard {args.storage}"
    )
    return 0
