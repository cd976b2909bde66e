"""`hrfevo run --executor ray` as a user runs it: a missing GPU is exit 2 at once, Ctrl-C and
SIGKILL leave no Ray process behind, and a killed run resumes to the uninterrupted result."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from hrfevo import run
from hrfevo.config import resolve
from hrfevo.storage import Journal
from tests.hrfevo.clitools import determined, determined_csv
from tests.hrfevo.procs import in_session, wait_until_gone

# Evaluations of about half a second, so that a run can be caught in the middle.
BUDGET = "budget: {steps: 40, batch_size: 4, eval_tokens: 512, warmup: 0.0}\n"


def hrfevo_cmd(*args: str | Path) -> list[str]:
    return [sys.executable, "-m", "hrfevo", *map(str, args)]


def ray_run(out: Path, data: Path, config: Path) -> list[str]:
    return hrfevo_cmd(
        "run", "--preset", "smoke", "--executor", "ray", "--data", data, "--config", config,
        "--out", out, "--seed", "3",
    )  # fmt: skip


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("config") / "budget.yaml"
    path.write_text(BUDGET)
    return path


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory, text_file: Path, config: Path) -> Path:
    """The uninterrupted run, on the serial executor: Ray must not change any result."""
    cfg = resolve("smoke", config, {"executor": "serial", "data": str(text_file), "seed": 3})
    return run.start(cfg, tmp_path_factory.mktemp("reference") / "run")


def snapshot(run_dir: Path) -> dict[str, Any]:
    records = Journal(run_dir / "journal.jsonl").records.values()
    checkpoint = json.loads((run_dir / "checkpoint.json").read_text())
    return {
        "journal": sorted(
            (
                r["key"],
                r["generation"],
                r["status"],
                json.dumps(determined(r["metrics"]), sort_keys=True),
            )
            for r in records
        ),
        "population": checkpoint["strategy"]["population"],
        "generation": checkpoint["generation"],
        "pareto": determined_csv(run_dir / "pareto.csv"),
    }


def _start_and_wait(cmd: list[str], journal: Path, lines: int) -> subprocess.Popen[str]:
    """Start cmd in its own session (as a terminal would), and wait for `lines` journal lines.

    SIGINT is reset to its default in the child, as a terminal's foreground job has it: a shell
    starts background jobs (`pytest &`, as some CI runners do) with SIGINT ignored, and Python
    leaves an ignored SIGINT ignored, so Ctrl-C could not reach the run at all."""
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if journal.exists() and journal.read_bytes().count(b"\n") >= lines:
            return proc
        time.sleep(0.01)
    proc.kill()
    raise AssertionError(f"the run never reached {lines} journal lines: {proc.communicate()}")


def test_gpus_on_a_machine_without_one_is_exit_2_at_once(tmp_path: Path) -> None:
    start = time.monotonic()
    done = subprocess.run(
        hrfevo_cmd("run", "--preset", "smoke", "--executor", "ray", "--gpus-per-eval", "1",
                   "--out", tmp_path / "run"),
        capture_output=True, text=True, start_new_session=True,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.startswith("hrfevo run: error: --gpus-per-eval 1 asks for GPUs")
    assert len(done.stderr.splitlines()) == 1
    assert time.monotonic() - start < 15
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    ("send", "code", "said"),
    [
        (lambda pid: os.killpg(pid, signal.SIGINT), 130, "interrupted"),  # a terminal's Ctrl-C
        (lambda pid: os.kill(pid, signal.SIGTERM), 143, "terminated"),  # `kill`, a scheduler
    ],
    ids=["ctrl-c", "sigterm"],
)
def test_ctrl_c_or_sigterm_stops_the_run_cleanly_and_leaves_no_ray_process(
    send: Callable[[int], None],
    code: int,
    said: str,
    tmp_path: Path,
    text_file: Path,
    config: Path,
) -> None:
    out = tmp_path / "run"
    long = [*ray_run(out, text_file, config), "--generations", "100"]  # still running when hit
    proc = _start_and_wait(long, out / "journal.jsonl", 1)
    assert any("raylet" in p.cmdline for p in in_session(proc.pid))
    send(proc.pid)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == code
    last = stderr.rstrip().splitlines()[-1]
    assert last == f"hrfevo run: {said}; continue with: hrfevo resume {out}", last
    assert "Traceback" not in stderr and "Check failed" not in stderr
    assert wait_until_gone(proc.pid, seconds=15) == []


@pytest.mark.slow
def test_a_killed_ray_run_resumes_to_the_uninterrupted_result(
    reference: Path, tmp_path: Path, text_file: Path, config: Path
) -> None:
    out = tmp_path / "run"
    proc = _start_and_wait(ray_run(out, text_file, config), out / "journal.jsonl", 5)
    os.killpg(proc.pid, signal.SIGKILL)  # the driver and the Ray it started
    proc.wait()
    left = wait_until_gone(proc.pid, seconds=30)
    for p in left:  # clean up before failing, so no test run leaks processes
        os.kill(p.pid, signal.SIGKILL)
    assert left == [], "Ray processes outlived the killed driver"
    done = Journal(out / "journal.jsonl").records
    assert 5 <= len(done) < 8, "the run was not killed in the middle"
    resumed = subprocess.run(hrfevo_cmd("resume", out), capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    resumed_view, uninterrupted = snapshot(out), snapshot(reference)
    for part in uninterrupted:  # one part at a time, for a readable failure
        assert resumed_view[part] == uninterrupted[part], part
    keys = [json.loads(line)["key"] for line in (out / "journal.jsonl").read_text().splitlines()]
    assert len(keys) == len(set(keys)), "a journaled evaluation was run again"


@pytest.mark.slow
def test_a_run_whose_evaluations_all_time_out_stops_and_resumes_to_the_clean_result(
    reference: Path, tmp_path: Path, text_file: Path, config: Path
) -> None:
    """Time-outs are machine faults: exit 3 with nothing journaled, then a resume with a longer
    time-out ends with the front of a run that never timed out."""
    out = tmp_path / "run"
    cmd = [*ray_run(out, text_file, config), "--eval-timeout", "0.05"]
    stopped = subprocess.run(cmd, capture_output=True, text=True, start_new_session=True)
    assert stopped.returncode == 3, stopped.stderr
    last = stopped.stderr.strip().splitlines()[-1]
    assert last.startswith("hrfevo run: stopped: 4 evaluations could not run: timed out after")
    assert f"hrfevo resume {out}" in last and "Traceback" not in stopped.stderr
    assert not Journal(out / "journal.jsonl").records
    resumed = subprocess.run(
        hrfevo_cmd("resume", out, "--eval-timeout", "600"), capture_output=True, text=True
    )
    assert resumed.returncode == 0, resumed.stderr
    assert run.RunView(out).config.eval_timeout == 0.05, "resume must not rewrite run.json"
    resumed_view, uninterrupted = snapshot(out), snapshot(reference)
    for part in uninterrupted:
        assert resumed_view[part] == uninterrupted[part], part
