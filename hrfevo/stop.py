"""When a search stops: the first limit it reaches of generations, evaluations, CPU-seconds and
wall time.

    search.run(Stop(generations=MAX_GENERATIONS, evaluations=400, wall_seconds=3600))

As pymoo ends a minimisation on its termination criteria (`n_gen`, `n_eval`, `time`:
`pymoo.termination`) and Optuna's `study.optimize` on `n_trials` or `timeout`, a run stops at
whichever limit comes first. The limits are checked only between generations: a generation that
starts always finishes, as its checkpoint is what a resumed run starts from (`hrfevo.search`),
so a run may pass a limit by up to one generation's evaluations.

What each limit counts (`Spent`), at the last checkpoint:
- generations: the generations finished;
- evaluations: the journal's records of those generations, every rung counting, as
  `hrfevo.reporting.curves` counts them (a genome proposed again is reused, not counted again);
- cpu_seconds: `cpu_seconds` of those records, the one clock on which benchmarks compare
  searches at equal cost;
- wall_seconds: the wall time spent in `Search.run`, by this process and, as the checkpoint
  recorded it, by earlier ones (what a killed process spent after its last checkpoint is lost).

Generations and evaluations depend on the results alone, so a run killed and resumed stops at
the same generation as one never interrupted. CPU-seconds are measured (an evaluation run again
after a kill measures its own), and wall time also depends on the machine's load and on how
many evaluations ran at once: a resumed run need not stop where an uninterrupted one would.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from model import check_int, fail, is_number

# Bounds that catch a typo (a count or a duration with digits too many) before it costs anything.
MAX_GENERATIONS = 10_000
MAX_EVALUATIONS = 10**8  # 10,000 generations of 10,000 genomes (config.MAX_POPULATION)
MAX_CPU_SECONDS = 10**10  # about 300 CPU-years
MAX_WALL_SECONDS = 366 * 86400  # a year

# Each limit: what a message calls it, and the unit its numbers are in.
LIMITS = {
    "generations": ("generation limit", "generations"),
    "evaluations": ("evaluation limit", "evaluations"),
    "cpu_seconds": ("CPU limit", "CPU-seconds"),
    "wall_seconds": ("time limit", "seconds"),
}


def evaluation_seconds(record: dict[str, Any]) -> float:
    """One journal record's cost on the one clock: its `timings.seconds`, the wall time of its
    own training and scoring (`model.TrainResult.seconds`). A promoted genome that continues
    from the rung below counts only its extra training. One evaluation trains on one thread by
    default (`cpus_per_eval` 1), so this is its CPU time, as long as the machine has a core for
    each evaluation running at once (with fewer, time spent waiting counts too)."""
    return float(record.get("timings", {}).get("seconds") or 0.0)


def cpu_seconds(records: Iterable[dict[str, Any]]) -> float:
    """The one clock: the CPU-seconds of these journal records, the sum of their
    `evaluation_seconds`. Every comparison of searches at equal cost counts with it."""
    return sum(map(evaluation_seconds, records))


@dataclass(frozen=True)
class Spent:
    """What a run has used at its last checkpoint (the module's docstring: what each counts)."""

    generations: int
    evaluations: int
    cpu_seconds: float
    wall_seconds: float

    @classmethod
    def of(cls, records: Iterable[dict[str, Any]], generations: int, wall: float) -> Spent:
        """Of the journal `records` of a run with `generations` finished: a generation that a
        kill interrupted counts once it has finished, as in an uninterrupted run."""
        done = [r for r in records if r["generation"] < generations]
        return cls(generations, len(done), cpu_seconds(done), wall)


@dataclass(frozen=True)
class Stop:
    """A run's limits: it stops at the first one reached (None: no such limit)."""

    generations: int  # generations to finish, always a limit (pymoo's n_gen)
    evaluations: int | None = None  # journal records (Optuna's n_trials, pymoo's n_eval)
    cpu_seconds: float | None = None  # by the one clock, `cpu_seconds`
    wall_seconds: float | None = None  # wall time in `Search.run` (Optuna's timeout)

    def __post_init__(self) -> None:
        check_int("generations", self.generations, 0, MAX_GENERATIONS)
        if self.evaluations is not None:
            check_int("evaluations", self.evaluations, 1, MAX_EVALUATIONS)
        for name, most in (("cpu_seconds", MAX_CPU_SECONDS), ("wall_seconds", MAX_WALL_SECONDS)):
            value = getattr(self, name)
            if value is not None and not (is_number(value) and 0 < value <= most):
                fail(name, value, f"must be more than 0 and at most {most:,} seconds")

    def reached(self, spent: Spent) -> str | None:
        """The first limit that `spent` has reached, in words: "the evaluation limit of 40
        evaluations (44 done)"; None while none is."""
        for name, (called, unit) in LIMITS.items():
            limit = getattr(self, name)
            if limit is not None and getattr(spent, name) >= limit:
                done = _shown(getattr(spent, name))
                return f"the {called} of {_shown(limit)} {unit} ({done} done)"
        return None

    def continued(self, spent: Spent, **limits: Any) -> Stop:
        """This stop with some `limits` changed (None: kept), as a resumed run may change them;
        ConfigError for one below what the run has `spent` (it may equal it: the run then ends
        where it is)."""
        changed = {name: value for name, value in limits.items() if value is not None}
        stop = dataclasses.replace(self, **changed)  # checks each value alone
        for name, value in changed.items():
            if value < getattr(spent, name):
                done = f"{_shown(getattr(spent, name))} {LIMITS[name][1]}"
                fail(name, value, f"the run has already used {done} (give that or more)")
        return stop

    def limits(self) -> dict[str, Any]:
        """Every limit but generations (a checkpoint records that as its `target`)."""
        return {name: getattr(self, name) for name in LIMITS if name != "generations"}


def _shown(number: float) -> str:
    """1,800, 61.5 or 0.001: whole and large numbers with separators, others to 3 digits."""
    return f"{number:,.0f}" if number == int(number) or number >= 100 else f"{number:.3g}"
