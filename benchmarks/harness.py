"""One harness for the benchmarks that compare searches at equal cost: run an arm to its stop.

    out = run_arm(cfg, work / "ladder-s0", Stop(MAX_GENERATIONS, cpu_seconds=600))

A benchmark gives each arm (a `RunConfig`) the same `hrfevo.stop.Stop`: a number of
generations, of evaluations, or of CPU-seconds by the one clock, `hrfevo.stop.cpu_seconds`
(the journal's seconds, summed), which every benchmark reports. Every arm runs on the serial
executor, one evaluation at a time on one thread, so that a CPU-second means the same in every
arm; a benchmark runs its arms side by side, each in a process of its own. The stop is checked
between generations, so an arm may pass it by up to one generation's work.

A directory that holds a run is continued to the stop (`hrfevo.run.resume`), and one that has
reached it is left as it is: a benchmark run again measures its finished arms, and reruns
nothing.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import Any

import torch

from hrfevo import run
from hrfevo.config import RunConfig
from hrfevo.search import Observer
from hrfevo.stop import Stop


def run_arm(cfg: RunConfig, out: Path, stop: Stop, observer: Observer | None = None) -> Path:
    """Start the run of `cfg` in `out`, or continue the one there, on the serial executor and
    one thread, until `stop`; returns `out`."""
    torch.set_num_threads(1)
    if not (out / run.RUN_FILE).exists():
        serial = dataclasses.replace(cfg, executor="serial", generations=stop.generations)
        return run.start(serial, out, observer, stop)
    view = run.RunView(out)
    if stop.reached(run.spent(view)) is None:
        execution = {"executor": "serial"}
        run.resume(out, stop.generations, observer, execution, stop.limits())
    return out


class Announce:
    """An observer that says on stderr which generation of how many starts: for long studies."""

    def __init__(self, name: str, generations: int) -> None:
        self.name, self.generations = name, generations

    def generation_started(self, generation: int, new: int, cached: int) -> None:
        print(
            f"search {self.name}: generation {generation + 1} of {self.generations}",
            file=sys.stderr,
        )

    def evaluated(self, record: dict[str, Any], pending: int) -> None:
        pass

    def generation_finished(
        self, generation: int, stats: dict[str, Any], front: list[dict[str, Any]]
    ) -> None:
        pass
