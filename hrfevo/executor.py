"""The executor interface: submit evaluation jobs, collect results as they complete.

An executor runs `run_job(problem, job)` somewhere (in process, in a Ray task) and yields the
finished records in completion order; the search loop puts them back in proposal order.

Two kinds of failure are kept apart:
- the genome's own: its model cannot be built, or training crashes on it ("failed"), or its
  loss is not finite ("diverged"). These are results, journaled like any other.
- the machine's: a wall-clock time-out, a lost worker or node, an out-of-memory kill
  (status FAULT). They say nothing about the genome: the executor runs the job again, up to
  `max_retries` times, and a fault that persists is yielded as a FAULT record, which the
  search never journals (see `hrfevo.search.Search.evaluate`).
"""

from __future__ import annotations

import os
import socket
import time
import traceback
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from hrfevo.errors import UsageError
from hrfevo.problem import Candidate, Problem
from hrfevo.storage import finite, record_id

FAULT = "fault"  # the status of an evaluation the machine could not run: never journaled


@dataclass(frozen=True, kw_only=True)
class Execution:
    """Where and how evaluations run: all an executor needs of a run's settings.

    `make_executor` (hrfevo.run) fills it from the run's `RunConfig`, which checks the values
    and names the flags; an executor made directly (tests, a notebook) takes these defaults.
    """

    cpus_per_eval: int = 1  # CPU cores (torch threads) per evaluation
    gpus_per_eval: float = 0.0  # GPUs per evaluation; fractions such as 0.25 share a GPU
    eval_timeout: float | None = None  # seconds before an evaluation is a machine fault
    max_retries: int = 2  # runs again of an evaluation that ended in a machine fault
    ray_address: str | None = None  # Ray: None starts a local Ray; "auto" or host:port joins
    ray_dashboard: bool = False  # Ray: serve the dashboard from a local Ray


@dataclass(frozen=True)
class Job:
    key: str
    candidate: Candidate
    generation: int
    rung: int = 0  # the fidelity to evaluate at (see hrfevo.fidelity)
    start: bytes | None = field(default=None, repr=False)  # a state to continue from

    @property
    def id(self) -> str:
        return record_id(self.key, self.rung)


def worker_info(device: str = "cpu") -> dict[str, Any]:
    """Where an evaluation ran: host, process, and device (with the GPU's name on CUDA)."""
    info: dict[str, Any] = {"host": socket.gethostname(), "pid": os.getpid(), "device": device}
    if device.startswith("cuda"):
        import torch

        info["gpu"] = torch.cuda.get_device_name(torch.device(device))
    return info


def _memory_errors() -> tuple[type[BaseException], ...]:
    import torch

    return (MemoryError, torch.cuda.OutOfMemoryError)


def run_job(problem: Problem, job: Job) -> dict[str, Any]:
    """Evaluate one job into a record: a crashing genome is status "failed", running out of
    memory is a machine FAULT.

    A UsageError (the worker's corpus is not the run's) is not the genome's fault: it is
    raised, and stops the run, rather than journaled.
    """
    started = time.time()
    try:
        result, error = problem.evaluate(job.candidate, job.rung, job.start), None
    except UsageError:
        raise
    except _memory_errors() as e:  # the machine's limit, not the genome's: see module doc
        result = {"status": FAULT}
        error = f"out of memory on {socket.gethostname()}: {type(e).__name__}"
    except Exception as e:  # a crashing genome must not crash the run
        result = {"status": "failed", "traceback": traceback.format_exc(limit=8)}
        error = f"{type(e).__name__}: {e}".splitlines()[0]
    record = _record(
        problem,
        job,
        result["status"],
        finite(result.get("metrics", {})),
        error,
        worker_info(result.get("device", "cpu")),
        result.get("timings", {}) | {"started": started, "finished": time.time()},
    )
    extra = {k: result[k] for k in ("traceback", "state") if k in result}
    return record | extra  # "state" goes to the run directory, never into the journal


def fault_record(problem: Problem, job: Job, error: str) -> dict[str, Any]:
    """The record of a job that never reported back: its worker died, or it timed out."""
    nowhere = {"host": None, "pid": None, "device": None}
    return _record(problem, job, FAULT, {}, error, nowhere, {})


def _record(
    problem: Problem,
    job: Job,
    status: str,
    metrics: dict[str, Any],
    error: str | None,
    worker: dict[str, Any],
    timings: dict[str, Any],
) -> dict[str, Any]:
    """One journal line: the one place that knows a record's fields."""
    return {
        "key": job.key,
        "rung": job.rung,
        "generation": job.generation,
        "candidate": job.candidate,
        "budget": problem.budget(job.rung),
        "status": status,
        "metrics": metrics,
        "error": error,
        "worker": worker,
        "timings": timings,
    }


class Executor(ABC):
    """Runs jobs for one problem. Use as a context manager so workers are always released.

    Every executor runs evaluations on the CPU unless `settings.gpus_per_eval` asks for a GPU,
    so a GPU that happens to be visible never changes the results. A job that ends in a machine
    FAULT is submitted again, up to `settings.max_retries` times (`settle`).
    """

    def __init__(self, problem: Problem, settings: Execution | None = None) -> None:
        self.settings = settings or Execution()
        self.problem = problem.on_device("auto" if self.settings.gpus_per_eval > 0 else "cpu")
        self.max_retries = self.settings.max_retries
        self.attempts: dict[str, int] = {}  # key -> attempts that ended in a fault

    def settle(self, job: Job, record: dict[str, Any]) -> dict[str, Any] | None:
        """The record to yield for a finished attempt, or None when a fault was resubmitted."""
        if record["status"] != FAULT:
            self.attempts.pop(job.id, None)
            return record
        faults = self.attempts.get(job.id, 0) + 1
        if faults <= self.max_retries:
            self.attempts[job.id] = faults
            self.submit(job)
            return None
        self.attempts.pop(job.id, None)
        return record | {"attempts": faults}

    @abstractmethod
    def submit(self, job: Job) -> None: ...

    @abstractmethod
    def as_completed(self) -> Iterator[dict[str, Any]]:
        """Yield the record of every submitted job, each once, as it finishes."""

    @property
    def pending(self) -> int:
        """Jobs submitted and not yet yielded."""
        return 0

    def close(self) -> None:  # noqa: B027 (optional hook)
        """Release workers (nothing to release by default)."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def collect(
    executor: Executor,
    keep: Callable[[dict[str, Any]], None],
    back: Callable[[dict[str, Any]], None] | None = None,
    advance: Callable[[], None] | None = None,
) -> list[str]:
    """Wait for every job submitted, and every job submitted meanwhile; returns the errors of
    those that ended in a FAULT (their records are not kept).

    Each record that comes back is kept (`keep`: the search journals it), then `back` sees every
    record, faults included; then, while no fault has been seen, `advance` may submit more (the
    search's promotions, a calibration's next rung). The search's loop and `hrfevo calibrate`
    both collect their results here.
    """
    faults: list[str] = []
    while executor.pending:
        for record in executor.as_completed():
            if record["status"] == FAULT:
                faults.append(record["error"])
            else:
                keep(record)
            if back is not None:
                back(record)
            if advance is not None and not faults:
                advance()  # at once: workers need not wait for the others
    return faults
