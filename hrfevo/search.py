"""The fixed main loop: ask, evaluate through the journal, tell, checkpoint, log.

Resuming is replaying: the checkpoint restores the strategy (population and RNG state) as it
was at the end of the last finished generation, so the next `ask` proposes exactly what the
uninterrupted run proposed; every candidate already in the journal is a cache hit, and only
evaluations that were in flight when the run died are run again.

With a fidelity ladder (`hrfevo.fidelity`), a generation's new genomes are evaluated at rung 0,
and every promotion that their results decide is submitted at once, while other evaluations
still run: a worker waits only when no promotion is possible. The generation ends when nothing
is left to run. The promotions depend on the results alone, never on their timing, so a resumed
run promotes, and ends, exactly as the uninterrupted one. A promoted genome continues from the
state its rung-below evaluation left in `states/` (deleted once the genome has gone higher).

The run stops between generations, at the first limit of its `hrfevo.stop.Stop` it reaches;
the checkpoint records the limits, so a resumed run goes on to the same ones.

A machine fault (see `hrfevo.executor`) is never journaled: the generation's other results
are, then the run stops with a `MachineFaultError`, and `hrfevo resume` runs the faulted ones
again.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from hrfevo.errors import MachineFaultError, UsageError
from hrfevo.executor import Executor, Job, collect
from hrfevo.fidelity import Fidelity, Promotions, Score
from hrfevo.pareto import Logs, front
from hrfevo.problem import Candidate, Objectives, Problem
from hrfevo.rundir import CHECKPOINT, JOURNAL, STATES
from hrfevo.stop import Spent, Stop
from hrfevo.storage import Journal, atomic_replace, atomic_write_json, read_json, record_id
from hrfevo.strategy import Strategy


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
        fidelity: Fidelity | None = None,
        settings: dict[str, str] | None = None,
    ) -> None:
        """`settings`: digests of the run's search settings, recorded in every checkpoint for
        `hrfevo resume` to check (see `hrfevo.run.search_settings`)."""
        self.run_dir, self.problem, self.strategy = run_dir, problem, strategy
        self.executor, self.observer = executor, observer
        self.settings = settings
        run_dir.mkdir(parents=True, exist_ok=True)
        self.journal = Journal(run_dir / JOURNAL)
        self.logs = Logs(run_dir, problem)
        self.promotions = Promotions(fidelity) if fidelity and len(fidelity.rungs) > 1 else None
        self.generation = 0  # generations finished
        self.stop = Stop(0)  # the limits to run to (resume may raise them)
        self.wall_seconds = 0.0  # wall time in run(), every process's, at the last checkpoint
        self._ticked: float | None = None  # time.monotonic() at the last save within run()
        self.archive: list[str] = []  # every key proposed, in order
        self.archived: set[str] = set()  # the same keys, for lookups
        self.candidates: dict[str, Candidate] = {}  # key -> candidate, for promotions
        self.in_flight: set[str] = set()  # record ids submitted and not yet back
        if (run_dir / CHECKPOINT).exists():
            self.load_state_dict(read_json(run_dir / CHECKPOINT))

    def run(self, stop: Stop | int) -> str:
        """Run generations, a checkpoint after each, until `stop` (a `Stop`, or a number of
        generations) is reached; returns which limit it reached, in words (`Stop.reached`).

        Saving first also rebuilds the derived logs of a run killed between its last
        checkpoint and its logs, which would otherwise stay stale: no generation is left to run.
        A run with nothing to run and nothing to repair (`settled`) is left byte for byte as it
        is, so a finished run resumes on a read-only copy.
        """
        self.stop = stop if isinstance(stop, Stop) else Stop(stop)
        if self.settled():
            return str(self.stop.reached(self.spent()))
        self._ticked = time.monotonic()
        try:
            self.save()
            self._sweep_states()
            while not (reached := self.stop.reached(self.spent())):
                self.step()
        finally:
            self._ticked = None  # time between calls of run() is not the run's
        return reached

    def settled(self) -> bool:
        """Whether the stop is reached and the directory is what saving would leave: the
        checkpoint on disk is this state (no journal line after it, the same limits), the
        derived logs are what a rebuild from the journal writes, and no state is stale."""
        path = self.run_dir / CHECKPOINT
        if not path.is_file() or self.stop.reached(self.spent()) is None:
            return False
        if read_json(path) != self.state_dict() or self._stale_states():
            return False
        with tempfile.TemporaryDirectory() as tmp:  # a rebuild, beside: never in the run
            rebuilt = Logs(Path(tmp), self.problem)
            rebuilt.update(self.records(), self.generation)
            return all(
                (self.run_dir / p.name).is_file()
                and (self.run_dir / p.name).read_bytes() == p.read_bytes()
                for p in Path(tmp).iterdir()
            )

    def spent(self) -> Spent:
        """What the run has used at its last checkpoint, which the limits are checked against."""
        return Spent.of(self.records(), self.generation, self.wall_seconds)

    def step(self) -> None:
        candidates = self.strategy.ask()
        keys = self.evaluate(candidates)
        self.strategy.rescore(self.score)
        self.strategy.tell(candidates, [self.score(k) for k in keys])
        self.generation += 1
        hv = self.save()
        if self.observer:
            stats = {str(k): v for k, v in hv.iloc[-1].items()}
            self.observer.generation_finished(self.generation - 1, stats, self.front())

    def evaluate(self, candidates: list[Candidate]) -> list[str]:
        """Evaluate the candidates not yet journaled, and every promotion their results decide;
        returns their keys, in order.

        Raises MachineFaultError, after journaling every result, if some could not be run.
        """
        keys = [self.problem.key(c) for c in candidates]
        fresh = [k for k in dict.fromkeys(keys) if k not in self.archived]
        self.archive += fresh
        self.archived.update(fresh)
        self.candidates |= dict(zip(keys, candidates, strict=True))
        new = {k: c for k, c in zip(keys, candidates, strict=True) if k not in self.journal}
        if self.observer:
            self.observer.generation_started(self.generation, len(new), len(keys) - len(new))
        for key, candidate in new.items():
            self._submit(Job(key, candidate, self.generation))
        self._promote()
        faults = collect(self.executor, self._keep, self._back, self._promote)
        if faults:
            raise MachineFaultError(self.run_dir, faults)
        return keys

    def _back(self, record: dict[str, Any]) -> None:
        self.in_flight.discard(record_id(record["key"], record["rung"]))
        if self.observer:
            self.observer.evaluated(record, self.executor.pending)

    def _submit(self, job: Job) -> None:
        self.in_flight.add(job.id)
        self.executor.submit(job)

    def _keep(self, record: dict[str, Any]) -> None:
        """Journal a result; keep the state it left for the rung above, drop the one it used."""
        state = record.pop("state", None)
        key, rung = record["key"], record["rung"]
        if state is not None:
            self._states().mkdir(exist_ok=True)
            atomic_replace(self._state_path(key, rung), lambda tmp: tmp.write_bytes(state))
        self.journal.append(record)
        if rung > 0:
            self._state_path(key, rung - 1).unlink(missing_ok=True)

    def _promote(self) -> None:
        """Submit every promotion the results so far decide (nothing without a ladder)."""
        if self.promotions is None:
            return
        for key, rung in self.promotions.update(self.archive, self._result, self._done):
            if record_id(key, rung) in self.journal or record_id(key, rung) in self.in_flight:
                continue
            path = self._state_path(key, rung - 1)
            start = path.read_bytes() if path.exists() else None  # else from scratch: the same
            if start is not None:
                self._check_start(path, self.candidates[key], start)
            self._submit(Job(key, self.candidates[key], self.generation, rung, start))

    def _check_start(self, path: Path, x: Candidate, start: bytes) -> None:
        """A state read back from states/ is checked before a worker continues from it: one
        from another genome, or cut short, is refused rather than journaled as a failure."""
        try:
            self.problem.check_start(x, start)
        except ValueError as e:
            raise UsageError(
                f"{path}: {e}; delete it, and that genome trains its next rung from scratch "
                "(to the same result)"
            ) from None

    def _done(self, key: str, rung: int) -> bool:
        return record_id(key, rung) in self.journal

    def _result(self, key: str, rung: int) -> Objectives | None:
        record = self.journal.records.get(record_id(key, rung))
        return self.problem.objectives(record) if record and record["status"] == "ok" else None

    def score(self, key: str) -> Score:
        """The key's objectives at every rung it has a result for, from rung 0 up."""
        score = []
        for rung in range(self.problem.rungs):
            record = self.journal.records.get(record_id(key, rung))
            if record is None:
                break
            score.append(self.problem.objectives(record))
        return tuple(score)

    def _states(self) -> Path:
        return self.run_dir / STATES

    def _state_path(self, key: str, rung: int) -> Path:
        return self._states() / f"{record_id(key, rung)}.safetensors"

    def _sweep_states(self) -> None:
        """Delete the states a kill left behind after their genome had gone a rung higher."""
        for path in self._stale_states():
            path.unlink()

    def _stale_states(self) -> list[Path]:
        """The states whose genome has a result a rung higher: no promotion will read them."""
        if not self._states().is_dir():
            return []
        states = self._states().glob("*.safetensors")
        return [path for path in states if self._rung_above(path) in self.journal]

    @staticmethod
    def _rung_above(state: Path) -> str:
        """The record id of the result a rung above the one that left `state`."""
        key, _, rung = state.stem.partition("@")
        return record_id(key, int(rung or 0) + 1)

    def records(self) -> list[dict[str, Any]]:
        return list(self.journal.records.values())

    def front(self) -> list[dict[str, Any]]:
        """The front of every finished generation's evaluations."""
        done = [r for r in self.records() if r["generation"] < self.generation]
        return front(done, self.problem)

    def save(self) -> pd.DataFrame:
        """Checkpoint (atomically), then bring the derived logs up to it; returns the
        hypervolume log. The logs are extended by the generations since the last save; the
        first save of a process rewrites them, which repairs any a kill left behind."""
        if self._ticked is not None:
            now = time.monotonic()
            self.wall_seconds, self._ticked = self.wall_seconds + now - self._ticked, now
        atomic_write_json(self.run_dir / CHECKPOINT, self.state_dict())
        return self.logs.update(self.records(), self.generation)

    def state_dict(self) -> dict[str, Any]:
        return {
            "generation": self.generation,
            "target": self.stop.generations,
            "stop": self.stop.limits(),  # the other limits (none in checkpoints before them)
            "wall_seconds": self.wall_seconds,
            "archive": self.archive,
            "strategy": self.strategy.state_dict(),
            "settings": self.settings,
            # Lines the journal held at this checkpoint: fewer later means it lost history.
            "journal_lines": self.journal.lines,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.generation = state["generation"]
        self.stop = Stop(state["target"], **state.get("stop", {}))
        self.wall_seconds = float(state.get("wall_seconds", 0.0))
        self.archive = list(state["archive"])
        self.archived = set(self.archive)
        self.strategy.load_state_dict(state["strategy"])
        if self.settings is None:
            self.settings = state.get("settings")
        for record in self.journal.records.values():  # the candidates promotions may need
            self.candidates.setdefault(record["key"], record["candidate"])
