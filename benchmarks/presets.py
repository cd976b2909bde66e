"""How long do the presets take? Writes reports/presets.md.

- `smoke`: the whole `hrfevo run --preset smoke` command, start-up included, pinned to one CPU
  core (`taskset -c 0`). Target: under 30 s.
- `tiny` (the README's quick start): the whole `hrfevo run` command on this machine, with its
  defaults (local Ray, `builtin` corpus). Target: a few minutes.
- `small`: too long to run here as a benchmark, so it is estimated: a sample of random genomes
  from its space is trained along its fidelity ladder (one thread each, as its Ray workers
  would; each rung continuing from the one below, timed apart), and the run's genome count is
  multiplied by the expected cost of one genome over the machine's cores: rung 0, plus the
  share F promoted to rung 1 times that rung's cost, plus F² times rung 2's, and so on.

    python -m benchmarks.presets               # about 15 minutes on 2 cores
    python -m benchmarks.presets --sample 2    # quicker, rougher estimate for small
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.common import REPORTS, machine_lines
from hrfevo.config import resolve
from hrfevo.operators import random_genome
from hrfevo.run import make_problem


def timed_run(args: list[str], cwd: Path, pin: str | None = None) -> float:
    """Wall seconds of one `hrfevo run ...` in a fresh process (start-up included)."""
    cmd = [sys.executable, "-m", "hrfevo", "run", *args]
    if pin and shutil.which("taskset"):
        cmd = ["taskset", "-c", pin, *cmd]
    began = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - began


def small_estimate(sample: int, seed: int) -> tuple[int, float, float]:
    """(genomes, mean seconds per genome along the ladder, estimated wall minutes) for `small`."""
    cfg = resolve("small", None, {})
    problem, rng = make_problem(cfg), np.random.default_rng(seed)
    ladder = cfg.fidelity
    share = ladder.promote if ladder else 0.0
    problem.evaluate(random_genome(cfg.space, rng).to_dict())  # warm-up: imports, corpus
    seconds = []
    for _ in range(sample):
        genome, state, cost = random_genome(cfg.space, rng).to_dict(), None, 0.0
        for rung in range(problem.rungs):
            began = time.perf_counter()
            result = problem.evaluate(genome, rung, state)
            cost += share**rung * (time.perf_counter() - began)  # the share that gets here
            state = result.get("state")
        seconds.append(cost)
    genomes = cfg.population * cfg.generations  # an upper bound: repeats are cached
    mean, workers = statistics.mean(seconds), os.cpu_count() or 1
    return genomes, mean, genomes * mean / workers / 60


def report(smoke: float, tiny: float, small: tuple[int, float, float], sample: int) -> str:
    genomes, mean, minutes = small
    lines = [
        "# How long the presets take",
        "",
        "Produced by `benchmarks/presets.py`; rerun it to reproduce. Command:",
        "",
        f"    python -m benchmarks.presets --sample {sample}",
        "",
        *machine_lines(threads=1),
        "",
        "| preset | what was timed | result | target |",
        "|---|---|---:|---|",
        f"| `smoke` | `hrfevo run --preset smoke`, pinned to one core, start-up included | "
        f"{smoke:.1f} s | < 30 s: {'met' if smoke < 30 else '**missed**'} |",
        f"| `tiny` | `hrfevo run` (local Ray, `builtin` corpus), start-up included | "
        f"{tiny / 60:.1f} min | a few minutes |",
        f"| `small` | estimate: {genomes} genomes × {mean:.1f} s (expected cost along the ladder, "
        f"mean of {sample} random genomes) / {os.cpu_count()} workers | ~{minutes:.0f} min | "
        "about an hour |",
        "",
        "The `small` estimate is an upper bound on the genome count (a genome proposed twice",
        "is evaluated once) and leaves out Ray's start-up and each generation's tail, where the",
        "last evaluations leave a worker idle.",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, default=3, help="genomes timed for `small`")
    parser.add_argument("--out", type=Path, default=REPORTS / "presets.md")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        smoke = timed_run(["--preset", "smoke", "--out", f"{tmp}/smoke"], Path(tmp), pin="0")
        tiny = timed_run(["--out", f"{tmp}/tiny"], Path(tmp))
    small = small_estimate(args.sample, seed=0)
    args.out.write_text(report(smoke, tiny, small, args.sample))
    print(args.out.read_text())


if __name__ == "__main__":
    main()
