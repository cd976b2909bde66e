"""`hrfevo resume`: continue a run from its checkpoint and journal.

    hrfevo resume DIR [--generations N] [--max-evaluations N] [--time-limit T] [--cpu-limit T]
                      [--executor E] [--cpus-per-eval N] [...]

Every evaluation in the journal is reused and only those in flight when the run stopped run
again, so the run ends where an uninterrupted one would. It goes on to the limits the run
recorded, which the limit flags may change or add to, though not below what the run has already
done. The search settings stay as recorded; where the rest runs (the execution flags) may
change.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from hrfevo.commands.common import (
    add_execution_flags,
    add_limit_flags,
    limits,
    naming_flags,
    resume_hint,
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_dir", type=Path, metavar="DIR", help="the run directory to continue")
    p.add_argument(
        "--generations",
        type=int,
        metavar="N",
        help="new generation target, which may extend a finished run (default: the run's)",
    )
    add_limit_flags(p, default="the run's")
    add_execution_flags(p, default="the run's")  # where the rest runs may change


def main(args: argparse.Namespace) -> int:
    from hrfevo import run
    from hrfevo.config import EXECUTION_FIELDS
    from hrfevo.estimate import per_generation
    from hrfevo.progress import Progress

    view = run.RunView(args.run_dir)
    with naming_flags():  # the flags checked here, so that an error names the flag
        stop = run.continued_stop(view, args.generations, limits(args))
    each, spent = per_generation(view.config), run.spent(view)
    progress = Progress(view.problem(), stop.generations, args.run_dir, each, None, stop, spent)
    execution = {k: getattr(args, k) for k in EXECUTION_FIELDS}
    with resume_hint(args.run_dir, progress):
        run.resume(args.run_dir, args.generations, progress, execution, limits(args))
    failed = run.all_failed(args.run_dir)
    if failed:  # as `hrfevo run`: finished, with nothing to show
        print(f"hrfevo resume: {failed}", file=sys.stderr)
        return 1
    print(f"run finished: {args.run_dir}, at {run.stopped_by(args.run_dir)}")
    return 0
