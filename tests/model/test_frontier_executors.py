"""The frontier study's trainings on HRFEvo's executors (`benchmarks/frontier_train.py`): the
learning-rate rule that brackets each model's rate, a cache that does not depend on the order in
which trainings finish or on an interruption, and the quick study on a two-worker Ray giving
the numbers the serial executor gives."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from benchmarks import frontier
from benchmarks.frontier_plan import QUICK, Cache, Job, LrStudy, Model, Record
from benchmarks.frontier_train import Bracket, Trainings, bracket, train_jobs, tuned, wanted
from hrfevo.errors import MachineFaultError
from hrfevo.executor import Executor, fault_record, run_job
from hrfevo.executor import Job as Evaluation
from hrfevo.executors.serial import SerialExecutor
from hrfevo.problem import Candidate, Problem

STUDY = LrStudy(grid=(3e-3, 1e-2), span=(1e-3, 3e-2), trials=3, factor=1.5, extra=4)


def tried(*rates: tuple[float, float | None]) -> list[Record]:
    """Trials as the cache keeps them: (rate, validation loss; None: diverged)."""
    return [{"lr": lr, "val_loss": loss, "test_loss": loss} for lr, loss in rates]


def test_a_rate_is_bracketed_by_rates_tried_within_the_factor_or_by_the_range_edge() -> None:
    both = bracket(STUDY, tried((1e-2, 1.0), (1e-2 / 1.5, 1.2), (1.5e-2, 1.1), (3e-3, 2.0)))
    assert both is not None and both.bracketed and (both.below, both.above) == (1e-2 / 1.5, 1.5e-2)
    far = bracket(STUDY, tried((1e-2, 1.0), (3e-3, 2.0)))
    assert far is not None and not far.bracketed and far.below is None
    assert wanted(STUDY, far) == [1e-2 / 1.5, 1.5e-2]  # below first
    diverged = bracket(STUDY, tried((1e-2, 1.0), (1e-2 / 1.5, 1.2), (1.5e-2, None)))
    assert diverged is not None and diverged.bracketed  # tried, and lost
    edge = bracket(STUDY, tried((3e-2, 1.0), (2e-2, 1.1)))
    assert edge is not None and edge.bracketed and edge.at_high and edge.above is None
    near = bracket(STUDY, tried((1.2e-3, 1.0), (1.8e-3, 1.1)))
    assert near is not None and wanted(STUDY, near) == [1e-3]  # clipped to the range
    assert bracket(STUDY, tried((1e-2, None))) is None  # nothing to bracket


class Parabola(Trainings):
    """A training whose validation loss is a parabola in log lr, lowest at the rate its model's
    name says; above `diverges` it diverges."""

    def __init__(self, best: dict[str, float], diverges: float = math.inf) -> None:
        super().__init__()
        self.best, self.diverges = best, diverges

    def evaluate(self, x: Candidate, rung: int = 0, start: bytes | None = None) -> dict[str, Any]:
        loss = 1 + math.log(x["lr"] / self.best[x["name"]]) ** 2
        ok = x["lr"] <= self.diverges
        metrics = {"val_loss": loss if ok else None, "test_loss": loss if ok else None}
        timing = {"tokens_per_second": 1.0, "seconds": 0.0, "steps_done": 1}
        return {"status": "ok" if ok else "diverged", "metrics": metrics | timing}

    def on_device(self, device: str) -> Parabola:
        return self


class Shuffled(Executor):
    """Runs the jobs in an order drawn from `rng`, each after all those submitted before it
    could have finished; stops (KeyboardInterrupt) after `stop` of them. The trainings of the
    models named in `lost` are machine faults."""

    def __init__(
        self,
        problem: Problem,
        rng: np.random.Generator,
        stop: float = math.inf,
        lost: tuple[str, ...] = (),
    ) -> None:
        super().__init__(problem)
        self.queue: list[Evaluation] = []
        self.rng, self.stop, self.lost = rng, stop, lost

    def submit(self, job: Evaluation) -> None:
        self.queue.append(job)

    def as_completed(self) -> Iterator[dict[str, Any]]:
        while self.queue:
            if self.stop <= 0:
                raise KeyboardInterrupt
            self.stop -= 1
            job = self.queue.pop(int(self.rng.integers(len(self.queue))))
            if job.candidate["name"] in self.lost:
                yield fault_record(self.problem, job, "worker lost")
            else:
                yield run_job(self.problem, job)

    @property
    def pending(self) -> int:
        return len(self.queue)


def jobs(cache: Path, names: list[str]) -> list[Job]:
    budget = {"tokens": 1}
    return [
        Job(Model("ladder", name, {"d": name}, name), 64, budget, "d", "s", 1, str(cache), STUDY)
        for name in names
    ]


def test_the_cache_does_not_depend_on_the_order_trainings_finish_in_or_on_a_stop(
    tmp_path: Path,
) -> None:
    best = {"inside": 0.007, "above": 0.1, "below": 1e-4, "flat": 0.0102}
    problem = Parabola(best, diverges=0.05)
    serial = Cache(tmp_path / "serial.json")
    train_jobs(jobs(serial.path, list(best)), SerialExecutor(problem), serial)
    for seed in range(3):
        shuffled = Cache(tmp_path / f"shuffled{seed}.json")
        rng = np.random.default_rng(seed)
        with pytest.raises(KeyboardInterrupt):  # a study killed part way ...
            train_jobs(
                jobs(shuffled.path, list(best)), Shuffled(problem, rng, 5 + 3 * seed), shuffled
            )
        # ... and continued, in another order: what the uninterrupted serial one trained
        train_jobs(jobs(shuffled.path, list(best)), Shuffled(problem, rng), shuffled)
        assert shuffled.read() == serial.read()
    brackets: dict[str, Bracket] = {}
    for job in jobs(serial.path, list(best)):
        r = tuned(serial.read(), job)
        assert r is not None and r["bracket"] is not None, job.model.name
        brackets[job.model.name] = r["bracket"]
    assert all(b.bracketed and b.extra <= STUDY.extra for b in brackets.values()), brackets
    assert brackets["inside"].extra > 0  # the grid and TPE left it open
    assert brackets["above"].at_high and brackets["below"].at_low


def test_a_fault_stops_its_model_alone_and_a_rerun_trains_what_it_missed(tmp_path: Path) -> None:
    best = {"inside": 0.007, "above": 0.1}
    problem = Parabola(best)
    serial = Cache(tmp_path / "serial.json")
    train_jobs(jobs(serial.path, list(best)), SerialExecutor(problem), serial)
    faulty = Cache(tmp_path / "faulty.json")
    rng = np.random.default_rng(0)
    with pytest.raises(MachineFaultError, match="inside: worker lost"):
        train_jobs(jobs(faulty.path, list(best)), Shuffled(problem, rng, lost=("inside",)), faulty)
    done = list(faulty.read().values())
    assert {r["name"] for r in done} == {"above"}  # the other model's study went on ...
    assert len(done) == sum(r["name"] == "above" for r in serial.read().values())  # to its end
    train_jobs(jobs(faulty.path, list(best)), Shuffled(problem, rng), faulty)
    assert faulty.read() == serial.read()


def test_the_quick_study_on_a_two_worker_ray_gives_the_serial_numbers(
    tmp_path: Path, text_file: Path, local_ray: None
) -> None:
    """The search is shared; the trainings, every study's rounds included, run twice, and so
    do the scale stage's at one point (×2 width at the study's tokens)."""
    flags = ["--quick", "--data", str(text_file), "--contexts", "64", "--work", str(tmp_path)]
    flags += ["--scale-width", "2", "--scale-tokens", "1", "--token-factors"]
    serial, on_ray = tmp_path / "serial" / "frontier.md", tmp_path / "ray" / "frontier.md"
    frontier.main([*flags, "--executor", "serial", "--out", str(serial)])
    for stage in ("train", "scale"):
        frontier.main([*flags, "--stage", stage, "--executor", "ray", "--out", str(on_ray)])
    timing = ("seconds", "tokens_per_second")

    def numbers(md: Path) -> dict[str, Record]:
        cache = Cache(md.with_suffix(".json")).read()
        return {k: {f: v for f, v in r.items() if f not in timing} for k, r in cache.items()}

    assert numbers(on_ray) == numbers(serial)
    bracketing = [r for r in numbers(on_ray).values() if r.get("trial", 0) >= QUICK.lr_trials]
    assert bracketing and "Learning rates: " in on_ray.read_text()
    wide = [r for r in numbers(on_ray).values() if r["name"].endswith("×2 wide")]
    assert {r["seed"] for r in wide} == {
        0,
        1,
    } and "| gap, ×2 width, ×1 tokens" in on_ray.read_text()
