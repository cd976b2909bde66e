"""A run's hypervolume after every evaluation, against evaluations and against CPU-seconds.

    curve = hypervolume_curve("populations/tiny-20250101-120000-s0")
    curve.plot(x="cpu_seconds", y="hypervolume", drawstyle="steps-post")

`hypervolume.csv` has one row per generation; comparing searches (strategies, seeds, ladders)
at equal cost needs the hypervolume after each evaluation, in the order the journal recorded
them, on the run's own axes (`Problem.hv_point`, up to `Problem.hv_reference`:
`hrfevo.pareto.hypervolume`).

With a fidelity ladder only the genomes trained to the top rung count, as in
`reports/multifidelity.md`: results at shorter budgets are not comparable with the top rung's
or with another run's, and the run's own front (`hrfevo.pareto.front`, which keeps a genome
stopped at a lower rung unless a genome beats it there) can lose hypervolume when a genome
trained briefly displaces better-trained ones. Among records of one rung the front is the
plain Pareto front, and a genome dominated once stays dominated, so the curve never falls.
Without a ladder the top rung is the only one, and at the end of each generation the curve
equals hypervolume.csv.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from hrfevo.api import Record, RunData
from hrfevo.pareto import front, hypervolume
from hrfevo.problem import Problem

CURVE_COLUMNS = (
    "evaluations",  # evaluations recorded so far, this one included (1, 2, ...), every rung
    "cpu_seconds",  # the sum of their `timings.seconds`, this one included
    "generation",  # this evaluation's generation, key, rung and status
    "key",
    "rung",
    "status",
    "hypervolume",  # of the front of the top-rung results recorded so far
    "front_size",
)


def hypervolume_curve(run: str | Path | RunData) -> pd.DataFrame:
    """One row per journal record of `run`, in journal order: the columns of CURVE_COLUMNS.

    `cpu_seconds` adds up each evaluation's own `timings.seconds` (a promoted genome that
    continues from the rung below counts only its extra training), which are CPU-seconds when,
    as by default, each evaluation trains on one CPU thread.
    """
    data = run if isinstance(run, RunData) else RunData(run)
    return curve(data.journal, data.problem)


def curve(records: list[Record], problem: Problem) -> pd.DataFrame:
    """`hypervolume_curve` of journal records in the order given."""
    top = problem.rungs - 1
    rows, spent, hv, members = [], 0.0, 0.0, list[Record]()
    for i, r in enumerate(records, start=1):
        spent += float(r.get("timings", {}).get("seconds") or 0.0)
        if r.get("rung", 0) == top:
            members = front([*members, r], problem)
            hv = hypervolume(members, problem)
        rows.append(
            (i, spent, r["generation"], r["key"], r.get("rung", 0), r["status"], hv, len(members))
        )
    return pd.DataFrame(rows, columns=list(CURVE_COLUMNS))


def top_rung_front(run: RunData) -> list[Record]:
    """The front of the genomes `run` trained to its top rung (its whole front without a
    ladder): what the curve's last row measures."""
    top = run.problem.rungs - 1
    return front([r for r in run.journal if r.get("rung", 0) == top], run.problem)
