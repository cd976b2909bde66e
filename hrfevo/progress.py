"""Live progress on stderr: generation, evaluations done and pending, and the current front.

On a terminal the per-evaluation line is redrawn in place; in a log (not a TTY) only one
summary per generation is printed, so logs stay short.
"""

from __future__ import annotations

import sys
from typing import Any, TextIO

from hrfevo.problem import Problem

SHOWN = 5  # front members listed after each generation


class Progress:
    def __init__(self, problem: Problem, target: int, stream: TextIO | None = None) -> None:
        # sys.stderr is looked up now, not at import, so a replaced stderr is honoured.
        self.problem, self.target = problem, target
        self.stream = stream if stream is not None else sys.stderr
        self.tty = self.stream.isatty()
        self.done = 0

    def _print(self, text: str) -> None:
        print(("\r\033[K" if self.tty else "") + text, file=self.stream, flush=True)

    def generation_started(self, generation: int, new: int, cached: int) -> None:
        self.done = 0
        head = f"generation {generation + 1}/{self.target}"
        self._print(f"{head}: {new} to evaluate, {cached} from the journal")

    def evaluated(self, record: dict[str, Any], pending: int) -> None:
        self.done += 1
        if not self.tty:
            return
        m = record["metrics"]
        result = f"ppl {m['perplexity']:.2f}" if record["status"] == "ok" else record["status"]
        rung = f" rung {record['rung']}" if record.get("rung") else ""  # a promotion
        line = f"  {self.done} done, {pending} pending | {record['key']}{rung} {result}"
        print(f"\r\033[K{line}", end="", file=self.stream, flush=True)

    def generation_finished(
        self, generation: int, stats: dict[str, Any], front: list[dict[str, Any]]
    ) -> None:
        self._print(
            f"generation {generation + 1}/{self.target} done: front {int(stats['front_size'])}, "
            f"hypervolume {stats['hypervolume']:.4f}, {int(stats['evaluations'])} evaluations, "
            f"{int(stats['failures'])} failed"
        )
        names = self.problem.objective_names
        for r in sorted(front, key=lambda r: r["metrics"][names[0]])[:SHOWN]:
            values = "  ".join(f"{n} {r['metrics'][n]:.4g}" for n in names)
            self._print(f"    {values}  {self.problem.describe(r['candidate'])}")
