"""The Ray executor on one local Ray: spread over workers, the same results as the serial
executor, a killed worker retried, a slow evaluation timed out (a machine fault, not a result),
resources checked up front."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import ray
from ray import cloudpickle

from hrfevo import run
from hrfevo.config import resolve
from hrfevo.errors import UsageError
from hrfevo.executor import Execution, Job
from hrfevo.executors.ray_executor import RayExecutor, capacity, check_resources
from hrfevo.fidelity import Fidelity
from hrfevo.problems.zdt import ZDT1
from hrfevo.search import Search
from hrfevo.storage import Journal
from hrfevo.strategies.nsga2 import NSGA2
from tests.hrfevo.clitools import determined, determined_csv
from tests.hrfevo.procs import descendants

# Ray workers get this module's classes by value, whatever directory pytest was started from.
cloudpickle.register_pickle_by_value(sys.modules[__name__])


def snapshot(run_dir: Path) -> dict[str, Any]:
    """What must not depend on the executor: journal metrics, population, front."""
    records = Journal(run_dir / "journal.jsonl").records.values()
    checkpoint = json.loads((run_dir / "checkpoint.json").read_text())
    return {
        "journal": sorted(
            (r["key"], r["status"], json.dumps(determined(r["metrics"]), sort_keys=True))
            for r in records
        ),
        "budgets": sorted({json.dumps(r["budget"], sort_keys=True) for r in records}),
        "population": checkpoint["strategy"]["population"],
        "pareto": determined_csv(run_dir / "pareto.csv"),
    }


def test_a_smoke_run_spreads_over_workers_and_matches_the_serial_executor(
    local_ray: None, tmp_path: Path, text_file: Path
) -> None:
    # Evaluations long enough (~0.3 s) that the second worker starts before the first is done.
    flags = {"data": str(text_file), "seed": 3, "budget": {"steps": 30}}
    on_ray = run.start(resolve("smoke", None, flags | {"executor": "ray"}), tmp_path / "ray")
    serial = run.start(resolve("smoke", None, flags | {"executor": "serial"}), tmp_path / "serial")
    expected = snapshot(serial)
    for part, value in snapshot(on_ray).items():  # one part at a time, for a readable failure
        assert value == expected[part], part
    records = list(Journal(on_ray / "journal.jsonl").records.values())
    assert {r["status"] for r in records} == {"ok"}
    assert len({r["worker"]["pid"] for r in records}) >= 2
    assert all(r["worker"]["device"] == "cpu" and r["worker"]["host"] for r in records)
    for r in records:
        t = r["timings"]
        assert t["submitted"] <= t["dispatched"] <= t["started"] <= t["finished"] <= t["collected"]


def test_a_worker_killed_mid_evaluation_is_retried_and_the_run_goes_on(
    local_ray: None, tmp_path: Path, text_file: Path
) -> None:
    budget = {"steps": 80, "batch_size": 8, "eval_tokens": 512, "warmup": 0.0}
    cfg = resolve("smoke", None, {"data": str(text_file), "executor": "ray", "budget": budget})
    killed: list[tuple[int, float]] = []  # (pid, when)
    killer = threading.Thread(target=_kill_one_busy_worker, args=(killed,), daemon=True)
    killer.start()
    out = run.start(cfg, tmp_path / "run")
    killer.join()
    records = list(Journal(out / "journal.jsonl").records.values())
    assert killed, "no worker was seen mid-evaluation"
    assert len(records) == cfg.population * cfg.generations
    assert {r["status"] for r in records} == {"ok"}
    pid, when = killed[0]
    assert all(r["timings"]["finished"] < when for r in records if r["worker"]["pid"] == pid)


def _kill_one_busy_worker(killed: list[tuple[int, float]], seconds: float = 60.0) -> None:
    """SIGKILL the first Ray worker of this process seen running an evaluation."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        busy = [p for p in descendants(os.getpid()) if p.cmdline.startswith("ray::_evaluate")]
        if busy:
            time.sleep(0.2)  # well inside its training loop
            os.kill(busy[0].pid, signal.SIGKILL)
            killed.append((busy[0].pid, time.time()))
            return
        time.sleep(0.05)


class Sleepy(ZDT1):
    """ZDT1 whose candidates say how long their evaluation takes (or that its worker dies);
    each evaluation writes its pid first."""

    def __init__(self, pid_dir: Path) -> None:
        super().__init__(n_dim=2)
        self.pid_dir = pid_dir

    def evaluate(
        self, x: dict[str, Any], rung: int = 0, start: bytes | None = None
    ) -> dict[str, Any]:
        (self.pid_dir / f"{x['name']}.pid").write_text(str(os.getpid()))
        if x["sleep"] < 0:
            os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(x["sleep"])
        return super().evaluate(x, rung, start)

    def key(self, x: dict[str, Any]) -> str:
        return str(x["name"])


def _jobs(problem: Sleepy, sleeps: dict[str, float]) -> list[Job]:
    candidates = [{"name": n, "sleep": s, "x": [0.5, 0.5]} for n, s in sleeps.items()]
    return [Job(problem.key(c), c, 0) for c in candidates]


def test_an_evaluation_past_the_timeout_is_killed_and_reported_as_a_fault(
    local_ray: None, tmp_path: Path
) -> None:
    problem = Sleepy(tmp_path)
    settings = Execution(eval_timeout=4.0, max_retries=1)
    # Two slots: "slow" must fail, while "a".."d" (4 s of work, one after another on the other
    # slot) still pass: the time-out counts from an evaluation's start, not its submission.
    sleeps = {"slow": 600.0, "a": 1.0, "b": 1.0, "c": 1.0, "d": 1.0}
    start = time.monotonic()
    with RayExecutor(problem, settings) as executor:
        for job in _jobs(problem, {"warm": 0.0, "up": 0.0}):  # start both worker processes
            executor.submit(job)
        list(executor.as_completed())
        for job in _jobs(problem, sleeps):
            executor.submit(job)
        records = {r["key"]: r for r in executor.as_completed()}
        assert executor.pending == 0
    assert time.monotonic() - start < 60
    assert records["slow"]["status"] == "fault" and records["slow"]["attempts"] == 2
    assert "timed out after 4 s" in records["slow"]["error"]
    assert {records[k]["status"] for k in "abcd"} == {"ok"}
    slow_pid = int((tmp_path / "slow.pid").read_text())
    assert not _alive(slow_pid, within=10.0), "the timed-out worker was not killed"


def _alive(pid: int, within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not Path(f"/proc/{pid}").exists():
            return False
        time.sleep(0.1)
    return True


def test_an_evaluation_whose_worker_always_dies_is_a_fault_after_its_retries(
    local_ray: None, tmp_path: Path
) -> None:
    problem = Sleepy(tmp_path)
    with RayExecutor(problem, Execution(max_retries=1)) as executor:
        for job in _jobs(problem, {"dies": -1.0, "lives": 0.0}):
            executor.submit(job)
        records = {r["key"]: r for r in executor.as_completed()}
    assert records["lives"]["status"] == "ok"
    assert records["dies"]["status"] == "fault" and records["dies"]["attempts"] == 2
    assert records["dies"]["error"].startswith("WorkerCrashedError")
    assert len(list(tmp_path.glob("dies.pid"))) == 1 and executor.attempts == {}


@pytest.mark.parametrize("executor", ["serial", "ray"])
def test_a_worker_whose_corpus_is_not_the_runs_stops_the_run(
    executor: str, local_ray: None, text_file: Path
) -> None:
    """Not a failed genome: a UsageError that stops the run, so nothing wrong is journaled."""
    cfg = resolve("smoke", None, {"data": str(text_file), "executor": executor})
    problem = run.make_problem(cfg, data_sha256="0" * 64)  # a corpus this file is not
    candidate = problem.sample(np.random.default_rng(0))
    with run.make_executor(cfg, problem) as runner:
        runner.submit(Job(problem.key(candidate), candidate, 0))
        with pytest.raises(UsageError, match=r"is not the run's: sha256 \w+, the run recorded 0+"):
            list(runner.as_completed())


def test_gpus_are_checked_against_the_cluster_before_anything_runs(local_ray: None) -> None:
    with pytest.raises(UsageError, match="asks for GPUs, but the Ray cluster has none"):
        RayExecutor(ZDT1(), Execution(gpus_per_eval=1.0))
    with pytest.raises(UsageError, match="no Ray node can hold one evaluation"):
        RayExecutor(ZDT1(), Execution(cpus_per_eval=64))
    assert ray.is_initialized(), "a borrowed Ray must be left running"


def test_capacity_counts_whole_evaluations_per_node() -> None:
    node = {"CPU": 8.0, "GPU": 1.0}
    assert capacity([node], {"CPU": 1.0, "GPU": 0.0}) == 8
    assert capacity([node, node], {"CPU": 1.0, "GPU": 0.25}) == 8  # 4 per GPU
    assert capacity([node], {"CPU": 1.0, "GPU": 0.1}) == 8  # 1 / 0.1 is 9.99...: still 10 GPU
    assert capacity([{"CPU": 3.0}, {"CPU": 3.0}], {"CPU": 2.0, "GPU": 0.0}) == 2  # not 6 // 2
    assert check_resources([node], {"CPU": 2.0, "GPU": 0.5}) == 2
    with pytest.raises(UsageError, match=r"--gpus-per-eval 0\.5 asks for GPUs"):
        check_resources([{"CPU": 8.0}], {"CPU": 1.0, "GPU": 0.5})


class SleepyLadder(Sleepy):
    """Sleepy with two rungs: rung 1 takes 0.2 s whatever the candidate, and leaves a mark. A
    candidate with "until": [names] finishes only once those names' rung-1 evaluations have:
    it stands for a slow evaluation without betting on how fast a loaded machine is."""

    rungs = 2

    def evaluate(
        self, x: dict[str, Any], rung: int = 0, start: bytes | None = None
    ) -> dict[str, Any]:
        marks = [self.pid_dir / f"{name}.rung1" for name in x.get("until", [])]
        deadline = time.monotonic() + 120
        while not all(m.exists() for m in marks) and time.monotonic() < deadline:
            time.sleep(0.05)
        result = super().evaluate(x if rung == 0 else x | {"sleep": 0.2}, rung, start)
        if rung == 1:
            (self.pid_dir / f"{x['name']}.rung1").touch()
        time.sleep(0.5 if marks else 0.0)  # the marks' results are on their way back by now
        return result


def test_with_ray_promotions_start_while_a_slow_evaluation_still_runs(
    local_ray: None, tmp_path: Path
) -> None:
    """A worker never idles while a promotion is possible: the four quick genomes' promotions
    run on the free worker while the slow one (last proposed) still trains on the other."""
    problem = SleepyLadder(tmp_path)
    seeds = [{"name": n, "sleep": 0.1, "x": [0.1 * i, 0.5]} for i, n in enumerate("abcd")]
    seeds.append({"name": "slow", "sleep": 0.0, "until": ["a", "b"], "x": [0.9, 0.9]})
    strategy = NSGA2(problem, 5, np.random.default_rng(0), seeds)
    with RayExecutor(problem, Execution()) as executor:
        search = Search(tmp_path / "run", problem, strategy, executor, None, Fidelity((1, 2), 0.5))
        search.run(1)
    lines = [json.loads(x) for x in (tmp_path / "run" / "journal.jsonl").read_text().splitlines()]
    order = [(r["key"], r["rung"]) for r in lines]
    assert sorted(k for k, rung in order if rung == 1) == ["a", "b"]  # best 2 of the first 4
    assert order.index(("slow", 0)) > order.index(("a", 1)), order
    assert order.index(("slow", 0)) > order.index(("b", 1)), order
