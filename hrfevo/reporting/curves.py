"""A run's hypervolume after every evaluation, against evaluations and against CPU-seconds.

    curve = hypervolume_curve("populations/tiny-20250101-120000-s0")
    curve.plot(x="cpu_seconds", y="hypervolume", drawstyle="steps-post")

`hypervolume.csv` has one row per generation; comparing searches (strategies, seeds, ladders)
at equal cost needs the hypervolume after each evaluation, in the order the journal recorded
them, on the run's own axes (`Problem.hv_point`, up to `Problem.hv_reference`:
`hrfevo.pareto.hypervolume`).

The hypervolume is the run's own, that of its confirmed front (`hrfevo.pareto.front`: top-rung
results only, so runs with and without a ladder are judged on the same budget's numbers). The
front of a growing archive never loses hypervolume, so the curve never falls, and at the end of
each generation it equals hypervolume.csv.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from hrfevo.api import RunData
from hrfevo.pareto import front, hypervolume
from hrfevo.problem import Problem, Record
from hrfevo.stop import evaluation_seconds

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

    `cpu_seconds` is the one clock (`hrfevo.stop.cpu_seconds`): each evaluation's own
    `timings.seconds` added up (a promoted genome that continues from the rung below counts only
    its extra training), CPU-seconds when, as by default, each evaluation trains on one thread.
    """
    data = run if isinstance(run, RunData) else RunData(run)
    return curve(data.journal, data.problem)


def curve(records: list[Record], problem: Problem) -> pd.DataFrame:
    """`hypervolume_curve` of journal records in the order given."""
    top = problem.rungs - 1
    rows, spent, hv, members = [], 0.0, 0.0, list[Record]()
    for i, r in enumerate(records, start=1):
        spent += evaluation_seconds(r)
        if r.get("rung", 0) == top:
            members = front([*members, r], problem)
            hv = hypervolume(members, problem)
        rows.append(
            (i, spent, r["generation"], r["key"], r.get("rung", 0), r["status"], hv, len(members))
        )
    return pd.DataFrame(rows, columns=list(CURVE_COLUMNS))
