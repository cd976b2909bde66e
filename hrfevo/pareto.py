"""Pareto fronts, hypervolume and rank agreement per generation, from the journal alone.

The front of generation g is the non-dominated set of every genome evaluated in generations
0..g, each with its result at the highest rung of the fidelity ladder it reached by then
(`hrfevo.fidelity`: genomes are compared on the highest rung both reached). `pareto.csv`,
`hypervolume.csv` and, with a ladder, `fidelity.csv` (how well each rung ranks genomes as a
higher one does) can be rebuilt from `journal.jsonl` at any time (every generation, and
`resume`, rewrite them).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import moocore
import numpy as np
import pandas as pd

from hrfevo.fidelity import Score, kendall_tau, nondominated, spearman
from hrfevo.problem import Problem
from hrfevo.storage import atomic_write_text

Record = dict[str, Any]


def genomes(records: list[Record]) -> list[Record]:
    """Each genome's record at the highest rung it reached, in order of first appearance."""
    top: dict[str, Record] = {}
    for r in records:
        if r["key"] not in top or r.get("rung", 0) > top[r["key"]].get("rung", 0):
            top[r["key"]] = r
    return list(top.values())


def scores(records: list[Record], problem: Problem) -> dict[str, Score]:
    """Each genome's objectives at rungs 0, 1, ... up to the first rung it has no result at."""
    by_rung = {(r["key"], r.get("rung", 0)): r for r in records}
    out: dict[str, Score] = {}
    for key, _ in by_rung:
        rungs: list[tuple[float, ...]] = []
        while (key, len(rungs)) in by_rung:
            rungs.append(problem.objectives(by_rung[key, len(rungs)]))
        out[key] = tuple(rungs)
    return out


def front(records: list[Record], problem: Problem) -> list[Record]:
    """The non-dominated genomes' highest-rung records, sorted by objectives then key.

    Sorting first makes the result independent of the order records arrived in (Ray finishes
    them in any order); of several genomes with equal scores the smallest key is kept.
    """
    ok = sorted(
        (r for r in genomes(records) if r["status"] == "ok"),
        key=lambda r: (r.get("rung", 0), problem.objectives(r), r["key"]),
    )
    if not ok:
        return []
    if len({r.get("rung", 0) for r in ok}) == 1:  # all at one rung: plain Pareto, moocore
        points = np.array([problem.objectives(r) for r in ok], dtype=float)
        keep = [bool(x) for x in moocore.is_nondominated(points)]
    else:
        score = scores(records, problem)
        first: dict[Score, str] = {}  # equal scores: the first (smallest key) stands for all
        for r in ok:
            first.setdefault(score[r["key"]], r["key"])
        keep = nondominated([score[r["key"]] for r in ok])
        keep = [k and first[score[r["key"]]] == r["key"] for r, k in zip(ok, keep, strict=True)]
    members = [r for r, k in zip(ok, keep, strict=True) if k]
    return sorted(members, key=lambda r: (problem.objectives(r), r["key"]))


def hypervolume(members: list[Record], problem: Problem) -> float:
    """Hypervolume of the records' points in `problem.hv_point` space, up to hv_reference.

    Points that do not dominate the reference point contribute nothing.
    """
    if not members:
        return 0.0
    points = np.array([problem.hv_point(problem.objectives(r)) for r in members], dtype=float)
    return float(moocore.hypervolume(points, ref=np.array(problem.hv_reference, dtype=float)))


def generation_logs(
    records: list[Record], problem: Problem, generations: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(pareto, hypervolume) tables for generations 0..generations-1."""
    fronts: list[dict[str, Any]] = []
    members: list[Record] = []
    rows, seen, failures = [], 0, 0
    ladder = any(r.get("rung", 0) for r in records)
    for g in range(generations):
        new = [r for r in records if r["generation"] == g]
        if ladder:  # a promotion can lift a dominated genome: recompute
            members = front([r for r in records if r["generation"] <= g], problem)
        else:  # dominated once, dominated for good
            members = front(members + new, problem)
        seen += len(new)
        failures += sum(r["status"] != "ok" for r in new)
        fronts += [
            {"generation": g, "key": r["key"], "rung": r.get("rung", 0), **r["metrics"]}
            for r in members
        ]
        hv = hypervolume(members, problem)
        rows.append((g, hv, len(members), seen, failures))
    first = ["generation", "key", "rung", *problem.objective_names]
    pareto = pd.DataFrame(
        fronts, columns=first + sorted({c for f in fronts for c in f} - set(first))
    )
    columns = ["generation", "hypervolume", "front_size", "evaluations", "failures"]
    return pareto, pd.DataFrame(rows, columns=columns)


FIDELITY_COLUMNS = ["generation", "rung_from", "rung_to", "n", "kendall_tau", "spearman"]


def fidelity_log(records: list[Record], problem: Problem, generations: int) -> pd.DataFrame:
    """How each rung ranks genomes against each higher rung, by generation (cumulative): for
    every genome with ok results at both, the rank agreement of their first objective."""
    rows = []
    for g in range(generations):
        done = {
            (r["key"], r.get("rung", 0)): problem.objectives(r)[0]
            for r in records
            if r["generation"] <= g and r["status"] == "ok"
        }
        for low in range(problem.rungs - 1):
            for high in range(low + 1, problem.rungs):
                both = sorted(k for k, rung in done if rung == high and (k, low) in done)
                x, y = [done[k, low] for k in both], [done[k, high] for k in both]
                rows.append((g, low, high, len(both), kendall_tau(x, y), spearman(x, y)))
    return pd.DataFrame(rows, columns=FIDELITY_COLUMNS)


def write_logs(
    run_dir: Path, records: list[Record], problem: Problem, generations: int
) -> pd.DataFrame:
    """Rewrite pareto.csv, hypervolume.csv and (with a ladder) fidelity.csv, each atomically;
    returns the hypervolume table."""
    pareto, hv = generation_logs(records, problem, generations)
    atomic_write_text(run_dir / "pareto.csv", pareto.to_csv(index=False))
    atomic_write_text(run_dir / "hypervolume.csv", hv.to_csv(index=False))
    if problem.rungs > 1:
        fidelity = fidelity_log(records, problem, generations)
        atomic_write_text(run_dir / "fidelity.csv", fidelity.to_csv(index=False))
    return hv
