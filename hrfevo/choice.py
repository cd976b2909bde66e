"""Choosing one genome from a run: `knee`, `min-perplexity`, `max-flops:N`, `min:OBJECTIVE`,
`max:OBJECTIVE=N` or `key:KEY`.

`min:OBJECTIVE` takes the front member lowest on any objective the registry knows (`params`,
`state_bytes`, ...; ties go to the lower perplexity), and `max:OBJECTIVE=N` the lowest
perplexity among those at or under N on it (`max-flops:N` is `max:flops_per_token=N`). All but
`key:KEY` choose from the run's final front, its confirmed (top-rung) genomes that no
other dominates (`hrfevo.pareto.front`); `key:KEY` names any successful evaluation in the journal
exactly, so a baseline that fell off the front, or a genome a ladder stopped below its top rung,
can still be taken.

The knee is the best trade-off on normalised objectives: each objective is mapped to the
hypervolume's space (`Problem.hv_point`: log_V perplexity, log10 FLOPs per token), scaled to
[0, 1] over the front, and the member nearest the ideal point (0, ..., 0) in Euclidean
distance wins. Ties go to the smallest key; a front of one member is its own knee.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from hrfevo.errors import UsageError
from hrfevo.objectives import OBJECTIVES
from hrfevo.problem import Problem, Record

MODES = ("knee", "min-perplexity", "max-flops:N", "min:OBJECTIVE", "max:OBJECTIVE=N", "key:KEY")
EXPLAIN = {
    "knee": "the knee of the final front: the member nearest the ideal point once log_V "
    "perplexity and log10 FLOPs per token are scaled to [0, 1] over the front",
    "min-perplexity": "the lowest validation perplexity on the final front",
}


@dataclass(frozen=True)
class Choice:
    mode: str  # "knee", "min-perplexity", "max-flops", "min", "max" or "key"
    budget: float | None = None  # max-flops, max: the most allowed
    key: str | None = None  # key: the genome's key
    objective: str = "flops_per_token"  # min, max: an OBJECTIVES name

    def __str__(self) -> str:
        if self.mode == "max-flops":
            return f"max-flops:{self.budget:g}"
        if self.mode in ("min", "max"):
            bound = f"={self.budget:g}" if self.mode == "max" else ""
            return f"{self.mode}:{self.objective}{bound}"
        return f"key:{self.key}" if self.mode == "key" else self.mode

    def explain(self) -> str:
        """One sentence on how the genome was chosen, for the model card."""
        if self.mode == "max-flops":
            return (
                f"the lowest perplexity on the final front at or under {self.budget:g} FLOPs/token"
            )
        if self.mode == "min":
            return f"the lowest {OBJECTIVES[self.objective].description} on the final front"
        if self.mode == "max":
            return (
                f"the lowest perplexity on the final front with {self.objective} at or under "
                f"{self.budget:g}"
            )
        if self.mode == "key":
            return f"named by its key {self.key}"
        return EXPLAIN[self.mode]


def parse_select(text: str) -> Choice:
    """Parse a --select value; a malformed one is a UsageError listing the forms."""
    mode, _, arg = text.partition(":")
    if text in ("knee", "min-perplexity"):
        return Choice(text)
    if mode == "max-flops" and arg:
        return Choice("max-flops", budget=_positive(text, arg, "N", " of FLOPs per token"))
    if mode == "key" and arg:
        return Choice("key", key=arg)
    objective, _, bound = arg.partition("=")
    if mode in ("min", "max") and objective:
        if objective not in OBJECTIVES:
            raise UsageError(f"--select {text}: no objective {objective!r} (choose from "
                             f"{', '.join(OBJECTIVES)})")  # fmt: skip
        if mode == "min" and not bound:
            return Choice("min", objective=objective)
        if mode == "max" and bound:
            return Choice("max", budget=_positive(text, bound, "N"), objective=objective)
    raise UsageError(f"--select {text!r}: choose {', '.join(MODES)}")


def _positive(text: str, value: str, name: str, unit: str = "") -> float:
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not (math.isfinite(number) and number > 0):
        raise UsageError(f"--select {text}: {name} must be a positive number{unit}")
    return number


def choose(sel: Choice, front: list[Record], records: list[Record], problem: Problem) -> Record:
    """The record `sel` picks: from `front`, or from `records` for key:KEY. UsageError if none."""
    if sel.mode == "key":
        return _by_key(str(sel.key), records)
    if not front:
        raise UsageError(_empty(records, problem))
    if sel.mode == "knee":
        return knee(front, problem)
    ok = front
    if sel.mode in ("min", "max") and any(sel.objective not in r["metrics"] for r in front):
        raise UsageError(
            f"--select {sel}: the run's records have no {sel.objective} (written before it was "
            "recorded); choose by another objective"
        )
    if sel.mode == "min":
        return min(front, key=lambda r: (r["metrics"][sel.objective], r["metrics"]["perplexity"],
                                         r["key"]))  # fmt: skip
    if sel.mode in ("max-flops", "max"):
        ok = [r for r in front if r["metrics"][sel.objective] <= (sel.budget or 0)]
        if not ok:
            least = min(r["metrics"][sel.objective] for r in front)
            needs = (
                f"the cheapest needs {least:g} FLOPs per token"
                if sel.mode == "max-flops"
                else f"the lowest {sel.objective} on it is {least:g}"
            )
            raise UsageError(f"--select {sel}: no front member fits ({needs})")
    return min(ok, key=lambda r: (r["metrics"]["perplexity"], r["key"]))


def knee(front: list[Record], problem: Problem) -> Record:
    """The front member nearest the ideal point on normalised objectives (module docstring)."""
    points = np.array([problem.hv_point(problem.objectives(r)) for r in front], dtype=float)
    low, span = points.min(axis=0), np.ptp(points, axis=0)
    # An objective that is equal across the front carries no trade-off: it scales to 0.
    scaled = (points - low) / np.where(span > 0, span, 1.0)  # (members, objectives)
    distance = np.linalg.norm(scaled, axis=1)
    return min(zip(distance, front, strict=True), key=lambda d: (d[0], d[1]["key"]))[1]


def _empty(records: list[Record], problem: Problem) -> str:
    """Why a run's front is empty, and what to do."""
    if problem.rungs == 1 or not any(r["status"] == "ok" for r in records):
        return "the run has no successful evaluations yet, so nothing to choose from"
    return (
        f"no genome of the run has been trained to its top rung (rung {problem.rungs - 1}) yet, "
        "so its front is empty: resume the run, or name a genome with --select key:KEY"
    )


def _by_key(key: str, records: list[Record]) -> Record:
    found = [r for r in records if r["key"] == key]
    if not found:
        raise UsageError(f"--select key:{key}: no genome with that key in the run's journal")
    if found[0]["status"] != "ok":
        raise UsageError(f"--select key:{key}: that evaluation {found[0]['status']}")
    return found[0]
