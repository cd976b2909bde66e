"""`hrfevo resume`: continue a run from its checkpoint and journal."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from hrfevo.commands.run import add_execution_flags


def add_parser(sub: Any) -> None:
    p = sub.add_parser("resume", help="continue a run", description=__doc__)
    p.add_argument("run_dir", type=Path, metavar="DIR")
    p.add_argument("--generations", type=int, help="new generation target (may extend the run)")
    add_execution_flags(p)  # where the rest runs may change; the search settings may not
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from hrfevo import run
    from hrfevo.config import EXECUTION_FIELDS
    from hrfevo.progress import Progress

    view = run.RunView(args.run_dir)
    target = args.generations if args.generations is not None else view.target
    progress = Progress(view.problem(), target)
    execution = {k: getattr(args, k) for k in EXECUTION_FIELDS}
    run.resume(args.run_dir, args.generations, progress, execution)
    print(f"run finished: {args.run_dir}")
    return 0
