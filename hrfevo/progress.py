"""Live progress on stderr: the run directory, each generation, each evaluation, the front.

Generations are numbered from 0 (the initial population) here as in pareto.csv,
hypervolume.csv, the plots and `hrfevo status`; "(2 of 4)" counts them. Each evaluation
updates the elapsed time, the wall seconds per evaluation so far and an ETA: those seconds
times the evaluations left (this generation's pending ones, and `per_generation` for each
generation still to come). With a `Stop` that has other limits, the ETA is the soonest of
them: the evaluations left at this session's pace, the CPU-seconds left at the rate this
session spends them (`hrfevo.stop.cpu_seconds`), or the wall time left; "(2 of at most 4)"
then counts the generations. On a terminal the evaluation line is redrawn in place; in a log
(not a TTY) each finished evaluation gets a line of its own.
"""

from __future__ import annotations

import math
import shlex
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from hrfevo.problem import Problem
from hrfevo.stop import Spent, Stop, evaluation_seconds
from hrfevo.units import clock, duration

SHOWN = 5  # front members listed after each generation


class Progress:
    def __init__(
        self,
        problem: Problem,
        target: int,
        run_dir: Path | None = None,
        per_generation: float | None = None,
        stream: TextIO | None = None,
        stop: Stop | None = None,
        spent: Spent | None = None,
    ) -> None:
        """`per_generation`: evaluations a generation makes (for the ETA; None: no ETA until
        a generation has finished). `stop`: the run's limits besides `target` generations, and
        `spent`: what it had used before this session (a resumed run's)."""
        # sys.stderr is looked up now, not at import, so a replaced stderr is honoured.
        self.problem, self.target, self.run_dir = problem, target, run_dir
        self.per_generation = per_generation
        self.stream = stream if stream is not None else sys.stderr
        self.tty = self.stream.isatty()
        self.began: float | None = None  # when the first generation of this session started
        self.done = 0  # evaluations finished this session
        self.generation = 0  # the generation in progress, or the next one between generations
        self.running = False  # whether `generation` has started and not finished
        self.pending = 0  # evaluations of this generation submitted and not yet finished
        self.open_line = False  # a redrawn line without its newline yet
        self.stop = stop
        self.spent = spent or Spent(0, 0, 0.0, 0.0)
        self.cpu = 0.0  # CPU-seconds of this session's evaluations, by the one clock

    def _print(self, text: str) -> None:
        clear = "\r\033[K" if self.open_line else ""  # the redrawn line gives way
        self.open_line = False
        print(clear + text, file=self.stream, flush=True)

    def end_line(self) -> None:
        """Finish a line redrawn in place, so what follows (Ctrl-C's message) starts afresh."""
        if self.open_line:
            print(file=self.stream, flush=True)
            self.open_line = False

    def _count(self, generation: int) -> str:
        limited = self.stop is not None and any(v is not None for v in self.stop.limits().values())
        return f"generation {generation} ({generation + 1} of {'at most ' * limited}{self.target})"

    def generation_started(self, generation: int, new: int, cached: int) -> None:
        if self.began is None:
            self.began = time.monotonic()
            if self.run_dir is not None:
                where = shlex.quote(str(self.run_dir))
                self._print(f"run directory {self.run_dir}  (hrfevo status {where})")
        self.generation, self.running, self.pending = generation, True, new
        self._print(f"{self._count(generation)}: {new} to evaluate, {cached} from the journal")

    def evaluated(self, record: dict[str, Any], pending: int) -> None:
        self.done += 1
        self.pending = pending
        self.cpu += evaluation_seconds(record)
        first = self.problem.objective_names[0]
        ok = record["status"] == "ok"
        result = f"{first} {record['metrics'][first]:.4g}" if ok else record["status"]
        rung = f" rung {record['rung']}" if record.get("rung") else ""  # a promotion
        what = f"{record['key']}{rung} {result}"
        counts = f"{self.done} done, {pending} pending"
        if self.tty:
            line = f"  {counts} | {what} | {self.timing()}"
            print(f"\r\033[K{line}", end="", file=self.stream, flush=True)
            self.open_line = True
        else:
            self._print(f"  [{self.elapsed()}] {what} ({counts}; {self.rate()})")

    def generation_finished(
        self, generation: int, stats: dict[str, Any], front: list[dict[str, Any]]
    ) -> None:
        self.generation, self.running, self.pending = generation + 1, False, 0
        self._print(
            f"{self._count(generation)} done: {self._front(int(stats['front_size']))}, "
            f"hypervolume {stats['hypervolume']:.4f}, {int(stats['evaluations'])} evaluations, "
            f"{int(stats['failures'])} failed | {self.timing()}"
        )
        names = self.problem.objective_names
        for r in sorted(front, key=lambda r: r["metrics"][names[0]])[:SHOWN]:
            values = "  ".join(f"{n} {r['metrics'][n]:.4g}" for n in names)
            self._print(f"    {values}  {self.problem.describe(r['candidate'])}")

    def _front(self, size: int) -> str:
        """The front's size; with a ladder, of confirmed genomes, and plainly none before any."""
        if self.problem.rungs == 1:
            return f"front {size}"
        if not size:
            top = self.problem.rungs - 1
            return f"front: none confirmed yet (no genome has reached rung {top}, the top)"
        return f"front {size} (confirmed at the top rung)"

    def elapsed(self) -> str:
        return clock(time.monotonic() - self.began) if self.began is not None else "0:00"

    def seconds_per_evaluation(self) -> float | None:
        if self.began is None or not self.done:
            return None
        return (time.monotonic() - self.began) / self.done

    def eta(self) -> float | None:
        """Seconds left: the wall seconds per evaluation so far times the evaluations left."""
        each = self.seconds_per_evaluation()
        later = max(0, self.target - self.generation - self.running)  # generations to start
        per_generation = self.per_generation
        if per_generation is None and self.generation and self.done:
            per_generation = self.done / self.generation  # this session's own rate
        if each is None or per_generation is None:
            return None
        left = [each * (self.pending + later * per_generation)]
        stop, spent = self.stop, self.spent
        session = time.monotonic() - self.began if self.began is not None else 0.0
        if stop is not None and stop.evaluations is not None:
            evaluations = stop.evaluations - spent.evaluations - self.done
            left.append(each * max(evaluations, self.pending))  # a generation is finished
        if stop is not None and stop.cpu_seconds is not None and self.cpu > 0:
            rate = self.cpu / session if session > 0 else math.inf  # CPU-seconds a second
            left.append(max(stop.cpu_seconds - spent.cpu_seconds - self.cpu, 0.0) / rate)
        if stop is not None and stop.wall_seconds is not None:
            left.append(max(stop.wall_seconds - spent.wall_seconds - session, 0.0))
        return min(left)

    def rate(self) -> str:
        each, eta = self.seconds_per_evaluation(), self.eta()
        speed = f"{each:.1f} s/eval" if each is not None else "? s/eval"
        return f"{speed}, eta {duration(eta) if eta is not None else '?'}"

    def timing(self) -> str:
        return f"{self.elapsed()} elapsed, {self.rate()}"
