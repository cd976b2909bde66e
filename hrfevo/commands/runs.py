"""`hrfevo runs`: list the run directories under a folder, with where each one stands.

    hrfevo runs [DIR]

DIR (default populations/) is searched one level deep; a run directory given itself is listed
alone. Each run gets one line: its state (finished; running, while a process holds it; or
stopped, which `hrfevo resume` continues), generations finished of its target, evaluations
(failed ones in brackets), the hypervolume of its front after its last finished generation
(its confirmed, top-rung results: `hrfevo.pareto`), and its preset and strategy. A directory
that cannot be read says why. Nothing is written.
"""

from __future__ import annotations

import argparse
import fcntl
from pathlib import Path
from typing import TYPE_CHECKING

from hrfevo.errors import UsageError
from hrfevo.rundir import RUN_FILE, RUNS

if TYPE_CHECKING:
    from hrfevo.run import RunView

DEFAULT = RUNS
COLUMNS = ("run", "state", "generations", "evaluations", "hypervolume", "preset", "strategy")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "dir",
        nargs="?",
        type=Path,
        metavar="DIR",
        help=f"a folder of run directories, or one run directory (default: {DEFAULT}/)",
    )


def main(args: argparse.Namespace) -> int:
    folder = args.dir if args.dir is not None else DEFAULT
    if not folder.is_dir():
        if args.dir is not None:
            raise UsageError(f"{folder} is not a directory")
        print(f"no runs: {folder}/ does not exist yet (`hrfevo run` makes the first)")
        return 0
    try:
        found = [folder] if holds_run(folder) else sorted(filter(holds_run, folder.iterdir()))
    except OSError as e:
        raise UsageError(f"{folder} cannot be read ({e.strerror or e})") from None
    if not found:
        print(f"no run directories in {folder}/")
        return 0
    rows = [COLUMNS, *(describe(d) for d in found)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(COLUMNS))]
    for r in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip())
    return 0


def holds_run(folder: Path) -> bool:
    """Whether `folder` holds a run; one that cannot be looked into is listed, to say why."""
    try:
        return (folder / RUN_FILE).is_file()
    except OSError:
        return folder.is_dir()


def describe(run_dir: Path) -> tuple[str, ...]:
    """One row of the listing: the run's state, read without changing anything."""
    from hrfevo.run import RunView

    try:
        view = RunView(run_dir)
    except UsageError as e:
        return (str(run_dir), "unreadable", "", "", "", "", str(e))  # why, in the last column
    done, target = view.generation, view.target
    records = view.records()
    failed = sum(r["status"] != "ok" for r in records)
    state = "running" if in_use(run_dir / RUN_FILE) else "finished"
    if state != "running" and done < target:
        state = "stopped"
    return (
        str(run_dir),
        state,
        f"{done} of {target}",
        f"{len(records)}" + (f" ({failed} failed)" if failed else ""),
        last_hypervolume(view, done),
        view.config.preset,
        view.config.strategy,
    )


def in_use(run_file: Path) -> bool:
    """Whether a process holds the run's lock (`hrfevo.storage.locked`): a run or resume."""
    with open(run_file, "rb") as f:
        try:  # a shared lock, dropped at once: an exclusive holder makes it fail
            fcntl.flock(f.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(f.fileno(), fcntl.LOCK_UN)
    return False


def last_hypervolume(view: RunView, generations: int) -> str:
    """The hypervolume of the front after the generations finished, from the journal (as
    hypervolume.csv has it, for a run of any format)."""
    from hrfevo.pareto import front, hypervolume

    if not generations:
        return "-"
    problem = view.problem()
    done = [r for r in view.records() if r["generation"] < generations]
    return f"{hypervolume(front(done, problem), problem):.4f}"
