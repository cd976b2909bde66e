"""Pareto fronts, hypervolume and rank agreement per generation, from the journal alone.

What a run reports is what it confirmed. Its front (`front`) is the non-dominated set of its
*top-rung* results, compared on their top-rung objectives: with a fidelity ladder, a genome
enters it only once trained for the ladder's last rung, and a result from a shorter budget
never removes one from the full budget (without a ladder every result is top-rung, and this is
the plain Pareto front). The front of generation g is that of the top-rung results of
generations 0..g, an archive that only grows, so its hypervolume never falls.

Lower rungs are shown apart, as *provisional* fronts, one per rung (`provisional`): the front
of the results at that rung's budget. They are never mixed into the front or its hypervolume.

`pareto.csv`, `hypervolume.csv` and, with a ladder, `fidelity.csv` (how well each rung ranks
genomes as a higher one does) can be rebuilt from `journal.jsonl` at any time. A run extends
them by one generation at a time (`Logs`), so their cost stays flat as the run grows; the first
save of each process rebuilds them, which repairs whatever a kill left.
"""

from __future__ import annotations

import csv
import io
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import moocore
import numpy as np
import pandas as pd

from hrfevo.fidelity import kendall_tau, spearman
from hrfevo.problem import Problem, Record
from hrfevo.rundir import FIDELITY, HYPERVOLUME, PARETO
from hrfevo.storage import atomic_write_text


def genomes(records: list[Record]) -> list[Record]:
    """Each genome's record at the highest rung it reached, in order of first appearance."""
    top: dict[str, Record] = {}
    for r in records:
        if r["key"] not in top or r.get("rung", 0) > top[r["key"]].get("rung", 0):
            top[r["key"]] = r
    return list(top.values())


def at_rung(records: list[Record], rung: int) -> list[Record]:
    """The records of evaluations at `rung`."""
    return [r for r in records if r.get("rung", 0) == rung]


def rung_front(records: list[Record], problem: Problem, rung: int) -> list[Record]:
    """The non-dominated successful results at `rung`, sorted by objectives then key.

    Sorting first makes the result independent of the order records arrived in (Ray finishes
    them in any order); of several genomes with equal objectives the smallest key is kept.
    """
    ok = sorted(
        (r for r in at_rung(records, rung) if r["status"] == "ok"),
        key=lambda r: (problem.objectives(r), r["key"]),
    )
    if not ok:
        return []
    points = np.array([problem.objectives(r) for r in ok], dtype=float)
    return [r for r, keep in zip(ok, moocore.is_nondominated(points), strict=True) if keep]


def front(records: list[Record], problem: Problem) -> list[Record]:
    """The run's front: its confirmed (top-rung) results that no other one dominates."""
    return rung_front(records, problem, problem.rungs - 1)


def provisional(records: list[Record], problem: Problem) -> dict[int, list[Record]]:
    """The provisional front of each rung below the top (none without a ladder), labelled by
    rung: results at a shorter budget, never comparable with the front's."""
    return {rung: rung_front(records, problem, rung) for rung in range(problem.rungs - 1)}


def hypervolume(members: list[Record], problem: Problem) -> float:
    """Hypervolume of the records' points in `problem.hv_point` space, up to hv_reference.

    Points that do not dominate the reference point contribute nothing.
    """
    if not members:
        return 0.0
    points = np.array([problem.hv_point(problem.objectives(r)) for r in members], dtype=float)
    return float(moocore.hypervolume(points, ref=np.array(problem.hv_reference, dtype=float)))


PARETO_FIRST = ["generation", "key", "rung"]  # then the objectives, then the other metrics
HV_COLUMNS = ["generation", "hypervolume", "front_size", "evaluations", "failures"]
FIDELITY_COLUMNS = ["generation", "rung_from", "rung_to", "n", "kendall_tau", "spearman"]


@dataclass
class Tally:
    """What generations 0..generation-1 leave for the next: the front so far, and the
    evaluations and failures counted."""

    generation: int = 0
    members: list[Record] = field(default_factory=list)
    seen: int = 0
    failures: int = 0


@dataclass
class Rows:
    """Log rows: pareto rows as dicts (their metrics vary), the others as tuples."""

    pareto: list[dict[str, Any]] = field(default_factory=list)
    hypervolume: list[tuple[Any, ...]] = field(default_factory=list)
    fidelity: list[tuple[Any, ...]] = field(default_factory=list)

    def extend(self, other: Rows) -> None:
        self.pareto += other.pareto
        self.hypervolume += other.hypervolume
        self.fidelity += other.fidelity


def log_generation(
    tally: Tally, records: list[Record], new: list[Record], problem: Problem
) -> Rows:
    """The log rows of generation `tally.generation`, whose records are `new` (`records` holds
    every record); advances `tally` to the next generation."""
    g = tally.generation
    # The front of an archive that only grows: dominated once, dominated for good.
    tally.members = front(tally.members + at_rung(new, problem.rungs - 1), problem)
    tally.seen += len(new)
    tally.failures += sum(r["status"] != "ok" for r in new)
    tally.generation += 1
    hv = hypervolume(tally.members, problem)
    return Rows(
        pareto=[
            {"generation": g, "key": r["key"], "rung": r.get("rung", 0), **r["metrics"]}
            for r in tally.members
        ],
        hypervolume=[(g, hv, len(tally.members), tally.seen, tally.failures)],
        fidelity=_fidelity_rows(records, problem, g) if problem.rungs > 1 else [],
    )


def generation_rows(
    records: list[Record], problem: Problem, generations: int
) -> tuple[Tally, Rows]:
    """The log rows of generations 0..generations-1, and the tally they leave."""
    by_generation: dict[int, list[Record]] = defaultdict(list)
    for r in records:
        by_generation[r["generation"]].append(r)
    tally, rows = Tally(), Rows()
    for g in range(generations):
        rows.extend(log_generation(tally, records, by_generation[g], problem))
    return tally, rows


def pareto_columns(rows: list[dict[str, Any]], problem: Problem) -> list[str]:
    first = [*PARETO_FIRST, *problem.objective_names]
    return first + sorted({c for row in rows for c in row} - set(first))


def generation_logs(
    records: list[Record], problem: Problem, generations: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(pareto, hypervolume) tables for generations 0..generations-1."""
    _, rows = generation_rows(records, problem, generations)
    pareto = pd.DataFrame(rows.pareto, columns=pareto_columns(rows.pareto, problem))
    return pareto, pd.DataFrame(rows.hypervolume, columns=HV_COLUMNS)


def _fidelity_rows(records: list[Record], problem: Problem, g: int) -> list[tuple[Any, ...]]:
    """How each rung ranks genomes against each higher rung, over generations 0..g: for
    every genome with ok results at both, the rank agreement of their first objective."""
    done = {
        (r["key"], r.get("rung", 0)): problem.objectives(r)[0]
        for r in records
        if r["generation"] <= g and r["status"] == "ok"
    }
    rows: list[tuple[Any, ...]] = []
    for low in range(problem.rungs - 1):
        for high in range(low + 1, problem.rungs):
            both = sorted(k for k, rung in done if rung == high and (k, low) in done)
            x, y = [done[k, low] for k in both], [done[k, high] for k in both]
            rows.append((g, low, high, len(both), kendall_tau(x, y), spearman(x, y)))
    return rows


def fidelity_log(records: list[Record], problem: Problem, generations: int) -> pd.DataFrame:
    """The rank agreement between rungs by generation (cumulative), as fidelity.csv has it."""
    rows = [row for g in range(generations) for row in _fidelity_rows(records, problem, g)]
    return pd.DataFrame(rows, columns=FIDELITY_COLUMNS)


# ---- the files ------------------------------------------------------------------------------


def _cell(v: Any) -> Any:
    """A value as pandas writes it: missing and NaN as empty."""
    return "" if v is None or (isinstance(v, float) and math.isnan(v)) else v


def csv_text(rows: Sequence[Sequence[Any]], header: Sequence[str] | None = None) -> str:
    """CSV lines, each value formatted on its own (so appended lines read as a rewrite's)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    if header is not None:
        writer.writerow(header)
    writer.writerows([_cell(v) for v in row] for row in rows)
    return out.getvalue()


def _append(path: Path, text: str) -> None:
    """Append, without fsync: a kill (or a power cut) can only lose or tear the last lines, and
    the next process rewrites the logs from the journal before it appends to them."""
    with open(path, "a", encoding="utf-8") as f:
        f.write(text)


@dataclass
class _Written:
    """What this process wrote: the tally after the last logged generation, the pareto header,
    the hypervolume rows, and each file's size (another size means someone else wrote it)."""

    tally: Tally
    header: list[str]
    hypervolume: list[tuple[Any, ...]]
    sizes: dict[str, int]


class Logs:
    """pareto.csv, hypervolume.csv and, with a ladder, fidelity.csv of a run directory.

    The first `update` in a process rewrites each file from the journal, atomically: a kill
    may have left a file behind the checkpoint, or a torn last line. Later updates append the
    new generations' lines and compute only those generations, so a generation costs the same
    at the hundredth as at the first. Any surprise (a file whose size is not what this process
    left, a new metric column, a failed append) means a rewrite.
    """

    def __init__(self, run_dir: Path, problem: Problem) -> None:
        self.run_dir, self.problem = run_dir, problem
        self.written: _Written | None = None

    def update(self, records: list[Record], generations: int) -> pd.DataFrame:
        """Bring the logs to generations 0..generations-1; returns the hypervolume table."""
        written, self.written = self.written, None  # unknown until this update has finished
        if written is None or not self._intact(written) or written.tally.generation > generations:
            written = self._rewrite(records, generations)
        else:
            written = self._extend(written, records, generations)
        self.written = written
        return pd.DataFrame(written.hypervolume, columns=HV_COLUMNS)

    def _names(self) -> list[str]:
        return [PARETO, HYPERVOLUME] + ([FIDELITY] if self.problem.rungs > 1 else [])

    def _intact(self, written: _Written) -> bool:
        paths = {name: self.run_dir / name for name in self._names()}
        return all(p.is_file() and p.stat().st_size == written.sizes[n] for n, p in paths.items())

    def _rewrite(self, records: list[Record], generations: int) -> _Written:
        tally, rows = generation_rows(records, self.problem, generations)
        header = pareto_columns(rows.pareto, self.problem)
        texts = {
            PARETO: csv_text([[row.get(c) for c in header] for row in rows.pareto], header),
            HYPERVOLUME: csv_text(rows.hypervolume, HV_COLUMNS),
            FIDELITY: csv_text(rows.fidelity, FIDELITY_COLUMNS),
        }
        for name in self._names():
            atomic_write_text(self.run_dir / name, texts[name])
        return _Written(tally, header, rows.hypervolume, self._sizes())

    def _extend(self, written: _Written, records: list[Record], generations: int) -> _Written:
        tally, rows = written.tally, Rows()
        if tally.generation == generations:
            return written
        for g in range(tally.generation, generations):
            new = [r for r in records if r["generation"] == g]
            rows.extend(log_generation(tally, records, new, self.problem))
        if any(c not in written.header for row in rows.pareto for c in row):
            return self._rewrite(records, generations)  # a metric the header lacks
        texts = {
            PARETO: csv_text([[row.get(c) for c in written.header] for row in rows.pareto]),
            HYPERVOLUME: csv_text(rows.hypervolume),
            FIDELITY: csv_text(rows.fidelity),
        }
        for name in self._names():
            _append(self.run_dir / name, texts[name])
        hypervolume = written.hypervolume + rows.hypervolume
        return _Written(tally, written.header, hypervolume, self._sizes())

    def _sizes(self) -> dict[str, int]:
        return {name: (self.run_dir / name).stat().st_size for name in self._names()}
