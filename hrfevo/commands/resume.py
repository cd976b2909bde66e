"""`hrfevo resume`: continue a run from its checkpoint and journal."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def add_parser(sub: Any) -> None:
    p = sub.add_parser("resume", help="continue a run", description=__doc__)
    p.add_argument("run_dir", type=Path, metavar="DIR")
    p.add_argument("--generations", type=int, help="new generation target (may extend the run)")
    p.add_argument("--executor", help="run the rest on ray or serial (results are the same)")
    p.add_argument("--ray-address", help="run the rest on this Ray cluster ('auto' or host:port)")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from hrfevo import run
    from hrfevo.progress import Progress

    view = run.RunView(args.run_dir)
    target = args.generations if args.generations is not None else view.target
    progress = Progress(view.problem(), target)
    run.resume(
        args.run_dir,
        args.generations,
        progress,
        executor=args.executor,
        ray_address=args.ray_address,
    )
    print(f"run finished: {args.run_dir}")
    return 0
