"""`hrfevo report`: Pareto and hypervolume plots and a Markdown summary of a run.

    hrfevo report RUN [--out DIR]

DIR (default reports/<run name>/) receives pareto.png, hypervolume.png and summary.md; files
from an earlier report there are replaced.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "report",
        help="plot a run's Pareto fronts and hypervolume and summarise it",
        description=__doc__.splitlines()[0] if __doc__ else None,
    )
    p.add_argument("run_dir", type=Path, metavar="RUN", help="a run directory")
    p.add_argument("--out", type=Path, metavar="DIR", help="default: reports/<run name>/")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from hrfevo.reporter import report

    out = report(args.run_dir, args.out)
    figures = sorted(p.name for p in out.glob("*.png"))
    print(f"report written: {out}/summary.md, {', '.join(figures)}")
    return 0
