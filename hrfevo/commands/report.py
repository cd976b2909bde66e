"""`hrfevo report`: plot a run's Pareto fronts and hypervolume and summarise it, or compare runs.

    hrfevo report RUN [--out DIR] [--format png|svg|pdf]
    hrfevo report RUN1 RUN2 ... [--out DIR] [--format png|svg|pdf]

One run: DIR (default reports/<run name>/) receives pareto, hypervolume (and, with a fidelity
ladder, fidelity) figures and summary.md. Several runs, with the same objectives, search space
and corpus (strategies or seeds, say): DIR (default reports/compare-<names>/) receives their
final fronts on one plot, hypervolume against evaluations and against CPU-seconds, curves.csv
and summary.md; each run is labelled by its strategy and seed where those differ, else by its
directory name.

DIR must be new, empty, or an earlier report's directory, whose files are then replaced.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from hrfevo.reporting.reporter import FORMATS


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "run_dirs",
        type=Path,
        nargs="+",
        metavar="RUN",
        help="a run directory; give several to compare them on one set of plots",
    )
    parser.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help="where to write (default reports/<run name>/, or reports/compare-<names>/ for "
        "several runs); must be new, empty or an earlier report's directory",
    )
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default=FORMATS[0],
        help="file format of the figures (default png); summary.md links a pdf, embeds the others",
    )


def main(args: argparse.Namespace) -> int:
    from hrfevo.reporting.reporter import compare, report

    if len(args.run_dirs) == 1:
        out = report(args.run_dirs[0], args.out, args.format)
    else:
        out = compare(args.run_dirs, args.out, args.format)
    figures = sorted(p.name for p in out.glob(f"*.{args.format}"))
    shown = ", ".join(figures) if figures else "no figures: no evaluation has succeeded"
    print(f"report written: {out}/summary.md ({shown})")
    return 0
