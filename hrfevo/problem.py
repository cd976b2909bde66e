"""The problem interface the search loop optimises: HRFEvo's genomes, or a benchmark like ZDT1.

Candidates are plain JSON data, so the loop, the journal and the checkpoint never need to know
what a candidate is. `evaluate` runs on a worker (in process, or in a Ray task); everything
else runs in the driver.

A problem may offer several fidelities (`rungs`, see `hrfevo.fidelity`): rung r is a costlier,
more faithful evaluation than rung r-1. `evaluate(x, rung, start)` may continue from `start`,
the state an evaluation at the rung below returned as `result["state"]`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

import numpy as np

Candidate = dict[str, Any]
Objectives = tuple[float, ...]
Record = dict[str, Any]  # one evaluation's result, as the journal keeps it (`hrfevo.rundir`)
Params = dict[str, Any]  # an assignment of an `Encoding`'s parameters


class Problem(ABC):
    """Minimise `objective_names` over candidates; all objectives are minimised."""

    objective_names: tuple[str, ...]

    @abstractmethod
    def sample(self, rng: np.random.Generator) -> Candidate:
        """A random candidate."""

    @abstractmethod
    def vary(
        self, a: Candidate, b: Candidate, rng: np.random.Generator
    ) -> tuple[Candidate, Candidate]:
        """Two children of two parents: crossed over (as a problem's crossover probability
        says), then each mutated. A strategy may keep one or both."""

    @abstractmethod
    def key(self, x: Candidate) -> str:
        """A stable key: equal keys mean equal evaluations (the journal's cache key)."""

    rungs: int = 1  # fidelities offered: evaluate(x, rung) for rung in range(rungs)

    @abstractmethod
    def evaluate(self, x: Candidate, rung: int = 0, start: bytes | None = None) -> dict[str, Any]:
        """Score x: {"status": "ok" | "failed" | "diverged", "metrics": {...}, "timings": {...}},
        and optionally "state": bytes that an evaluation at rung + 1 may continue from.

        `metrics` must be deterministic for a given candidate and rung, whether or not the
        evaluation continued from `start`; `timings` need not be.
        """

    @abstractmethod
    def objectives(self, record: dict[str, Any]) -> Objectives:
        """The objective vector of a journal record (a penalty for failures)."""

    def budget(self, rung: int = 0) -> dict[str, Any]:
        """What one evaluation at `rung` is allowed (recorded on each journal line)."""
        return {}

    def describe(self, x: Candidate) -> str:
        """A short human-readable summary of a candidate, for progress output."""
        return self.key(x)

    def on_device(self, device: str) -> Problem:
        """This problem with its evaluations on `device`: "cpu", or "auto" (the GPU a worker was
        given, if any). Executors that place evaluations call it; the default ignores it."""
        return self

    def check_start(self, x: Candidate, start: bytes) -> None:
        """Raise ValueError (one line) unless `start`, read back from a run directory, is a
        state that x's evaluation could continue from. Problems without states accept any."""
        return None

    def encoding(self) -> Encoding:
        """A fixed-length encoding of the candidates, for samplers that need one (Optuna's)."""
        raise NotImplementedError(f"{type(self).__name__} offers no fixed-length encoding")

    def penalty(self) -> Objectives | None:
        """The objectives of a failed candidate (None: candidates never fail)."""
        return None

    def hv_point(self, objectives: Objectives) -> Objectives:
        """Where a point sits in the space the hypervolume is measured in."""
        return objectives

    hv_reference: Objectives


# Fixed-length encodings, for samplers that need a static search space (Optuna's model a fixed
# set of named parameters: categorical choices, integer or float ranges). Each problem that
# offers one keeps it beside itself: `problems.unit_cube.UnitCubeEncoding`,
# `problems.spectral.GenomeEncoding`.


@dataclass(frozen=True)
class Param:
    """One parameter: a categorical over `choices`, or a range [low, high] of ints or floats."""

    name: str
    choices: tuple[Any, ...] = ()
    low: float = 0.0
    high: float = 1.0
    integer: bool = False

    @property
    def categorical(self) -> bool:
        return bool(self.choices)


class Encoding(ABC):
    """A problem's candidates as a fixed list of parameters."""

    params: list[Param]

    @abstractmethod
    def decode(self, params: Params) -> Candidate:
        """The candidate an assignment of every parameter stands for (always a valid one)."""

    @abstractmethod
    def encode(self, x: Candidate) -> Params:
        """An assignment that decodes to x (to a candidate with x's key)."""
