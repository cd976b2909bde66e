"""The fixed main loop: ask, evaluate through the journal, tell, checkpoint, log.

Resuming is replaying: the checkpoint restores the strategy (population and RNG state) as it
was at the end of the last finished generation, so the next `ask` proposes exactly what the
uninterrupted run proposed; every candidate already in the journal is a cache hit, and only
evaluations that were in flight when the run died are run again.

A machine fault (see `hrfevo.executor`) is never journaled: the generation's other results
are, then the run stops with a `MachineFaultError`, and `hrfevo resume` runs the faulted ones again.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from hrfevo.errors import MachineFaultError
from hrfevo.executor import FAULT, Executor, Job
from hrfevo.pareto import front, write_logs
from hrfevo.problem import Candidate, Problem
from hrfevo.storage import Journal, atomic_write_json, read_json
from hrfevo.strategy import Strategy

JOURNAL, CHECKPOINT = "journal.jsonl", "checkpoint.json"


class Observer(Protocol):
    """Receives progress; `hrfevo.progress.Progress` prints it."""

    def generation_started(self, generation: int, new: int, cached: int) -> None: ...

    def evaluated(self, record: dict[str, Any], pending: int) -> None: ...

    def generation_finished(
        self, generation: int, stats: dict[str, Any], front: list[dict[str, Any]]
    ) -> None: ...


class Search:
    def __init__(
        self,
        run_dir: Path,
        problem: Problem,
        strategy: Strategy,
        executor: Executor,
        observer: Observer | None = None,
    ) -> None:
        self.run_dir, self.problem, self.strategy = run_dir, problem, strategy
        self.executor, self.observer = executor, observer
        run_dir.mkdir(parents=True, exist_ok=True)
        self.journal = Journal(run_dir / JOURNAL)
        self.generation = 0  # generations finished
        self.target = 0  # generations to reach (resume may raise it)
        self.archive: list[str] = []  # every key proposed, in order
        if (run_dir / CHECKPOINT).exists():
            self.load_state_dict(read_json(run_dir / CHECKPOINT))

    def run(self, generations: int) -> None:
        """Run until `generations` generations have finished (a checkpoint after each).

        Saving first also rebuilds the derived logs of a run killed between its last
        checkpoint and its logs, which would otherwise stay stale: no generation is left to run.
        """
        self.target = generations
        self.save()
        while self.generation < generations:
            self.step()

    def step(self) -> None:
        candidates = self.strategy.ask()
        records = self.evaluate(candidates)
        self.strategy.tell(candidates, [self.problem.objectives(r) for r in records])
        self.generation += 1
        hv = self.save()
        if self.observer:
            stats = {str(k): v for k, v in hv.iloc[-1].items()}
            self.observer.generation_finished(self.generation - 1, stats, self.front())

    def evaluate(self, candidates: list[Candidate]) -> list[dict[str, Any]]:
        """Journal records for the candidates, in order, running only those not journaled.

        Raises MachineFaultError, after journaling every result, if some could not be run.
        """
        keys = [self.problem.key(c) for c in candidates]
        self.archive += [k for k in dict.fromkeys(keys) if k not in self.archive]
        new = {k: c for k, c in zip(keys, candidates, strict=True) if k not in self.journal}
        if self.observer:
            self.observer.generation_started(self.generation, len(new), len(keys) - len(new))
        for key, candidate in new.items():
            self.executor.submit(Job(key, candidate, self.generation))
        faults = []
        for record in self.executor.as_completed():
            if record["status"] == FAULT:
                faults.append(record["error"])
            else:
                self.journal.append(record)
            if self.observer:
                self.observer.evaluated(record, self.executor.pending)
        if faults:
            raise MachineFaultError(self.run_dir, faults)
        return [self.journal.records[k] for k in keys]

    def records(self) -> list[dict[str, Any]]:
        return list(self.journal.records.values())

    def front(self) -> list[dict[str, Any]]:
        """The front of every finished generation's evaluations."""
        done = [r for r in self.records() if r["generation"] < self.generation]
        return front(done, self.problem)

    def save(self) -> pd.DataFrame:
        """Checkpoint (atomically), then rewrite the derived logs; returns the hypervolume log."""
        atomic_write_json(self.run_dir / CHECKPOINT, self.state_dict())
        return write_logs(self.run_dir, self.records(), self.problem, self.generation)

    def state_dict(self) -> dict[str, Any]:
        return {
            "generation": self.generation,
            "target": self.target,
            "archive": self.archive,
            "strategy": self.strategy.state_dict(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.generation, self.target = state["generation"], state["target"]
        self.archive = list(state["archive"])
        self.strategy.load_state_dict(state["strategy"])
