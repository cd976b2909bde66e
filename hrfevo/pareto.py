"""Pareto fronts and hypervolume per generation, derived from the journal alone.

The front of generation g is the non-dominated set of every successful evaluation proposed
in generations 0..g, so it never loses ground and `pareto.csv` / `hypervolume.csv` can be
rebuilt from `journal.jsonl` at any time (every generation, and `resume`, rewrite them).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import moocore
import numpy as np
import pandas as pd

from hrfevo.problem import Problem
from hrfevo.storage import atomic_write_text

Record = dict[str, Any]


def front(records: list[Record], problem: Problem) -> list[Record]:
    """The non-dominated successful records, sorted by objectives then key.

    Sorting first makes the result independent of the order records arrived in (Ray finishes
    them in any order); of several records with equal objectives the smallest key is kept.
    """
    ok = sorted(
        (r for r in records if r["status"] == "ok"), key=lambda r: (problem.objectives(r), r["key"])
    )
    if not ok:
        return []
    points = np.array([problem.objectives(r) for r in ok], dtype=float)
    return [r for r, keep in zip(ok, moocore.is_nondominated(points), strict=True) if keep]


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
    for g in range(generations):
        new = [r for r in records if r["generation"] == g]
        members = front(members + new, problem)  # dominated once, dominated for good
        seen += len(new)
        failures += sum(r["status"] != "ok" for r in new)
        fronts += [{"generation": g, "key": r["key"], **r["metrics"]} for r in members]
        hv = hypervolume(members, problem)
        rows.append((g, hv, len(members), seen, failures))
    first = ["generation", "key", *problem.objective_names]
    pareto = pd.DataFrame(
        fronts, columns=first + sorted({c for f in fronts for c in f} - set(first))
    )
    columns = ["generation", "hypervolume", "front_size", "evaluations", "failures"]
    return pareto, pd.DataFrame(rows, columns=columns)


def write_logs(
    run_dir: Path, records: list[Record], problem: Problem, generations: int
) -> pd.DataFrame:
    """Rewrite pareto.csv and hypervolume.csv (atomically); returns the hypervolume table."""
    pareto, hv = generation_logs(records, problem, generations)
    atomic_write_text(run_dir / "pareto.csv", pareto.to_csv(index=False))
    atomic_write_text(run_dir / "hypervolume.csv", hv.to_csv(index=False))
    return hv
