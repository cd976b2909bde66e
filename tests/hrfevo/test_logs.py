"""The derived logs (pareto.csv, hypervolume.csv) are extended one generation at a time, and
always read as a rebuild from the journal would: after a kill, a torn line, or a log that is
behind or ahead of the checkpoint."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from hrfevo.executors.serial import SerialExecutor
from hrfevo.pareto import Logs, generation_logs
from hrfevo.problem import Candidate
from hrfevo.problems import ZDT1
from hrfevo.rundir import HYPERVOLUME, PARETO
from hrfevo.search import Search
from hrfevo.strategies.nsga2 import NSGA2

LOGS = (PARETO, HYPERVOLUME)


def search(run_dir: Path) -> Search:
    problem = ZDT1(n_dim=5)
    strategy = NSGA2(problem, 8, np.random.default_rng(0))
    return Search(run_dir, problem, strategy, SerialExecutor(problem))


def texts(run_dir: Path) -> dict[str, str]:
    return {name: (run_dir / name).read_text() for name in LOGS}


def rebuilt(run_dir: Path, tmp: Path) -> dict[str, str]:
    """The logs a fresh process writes from the run's journal alone."""
    copy = tmp / "rebuilt"
    shutil.copytree(run_dir, copy)
    for name in LOGS:
        (copy / name).unlink()
    s = search(copy)
    s.logs.update(s.records(), s.generation)
    return texts(copy)


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run_dir = tmp_path_factory.mktemp("run") / "run"
    search(run_dir).run(12)
    return run_dir


def test_extended_logs_equal_a_rebuild_and_the_tables(finished: Path, tmp_path: Path) -> None:
    assert texts(finished) == rebuilt(finished, tmp_path)
    s = search(finished)
    pareto, hv = generation_logs(s.records(), s.problem, 12)
    pd.testing.assert_frame_equal(pd.read_csv(finished / PARETO), pareto, check_dtype=False)
    pd.testing.assert_frame_equal(pd.read_csv(finished / HYPERVOLUME), hv, check_dtype=False)
    assert list(hv["generation"]) == list(range(12)) and hv["hypervolume"].is_monotonic_increasing


def test_a_generation_appends_its_lines_instead_of_rewriting(tmp_path: Path) -> None:
    s = search(tmp_path / "run")
    s.run(3)
    before = {name: (s.run_dir / name).stat().st_ino for name in LOGS}
    lines = {name: texts(s.run_dir)[name].splitlines() for name in LOGS}
    s.run(4)
    assert {name: (s.run_dir / name).stat().st_ino for name in LOGS} == before  # same files
    for name in LOGS:  # the old lines untouched, one generation's more
        after = texts(s.run_dir)[name].splitlines()
        assert after[: len(lines[name])] == lines[name] and len(after) > len(lines[name])


def tear(path: Path) -> None:
    """Cut the file in the middle of its last line, as a kill during an append would."""
    data = path.read_bytes()
    path.write_bytes(data[: data.rstrip(b"\n").rfind(b"\n") + 5])


def behind(path: Path) -> None:
    """Drop the last generation's lines, as a kill between the checkpoint and the logs would."""
    lines = path.read_text().splitlines(keepends=True)
    last = lines[-1].split(",")[0]
    path.write_text("".join(x for x in lines if x.split(",")[0] != last))


def ahead(path: Path) -> None:
    """A line for a generation the checkpoint has not reached (an older checkpoint restored)."""
    last = path.read_text().splitlines()[-1].split(",")
    with open(path, "a") as f:
        f.write(",".join([str(int(last[0]) + 1), *last[1:]]) + "\n")


@pytest.mark.parametrize("damage", [tear, behind, ahead, Path.unlink], ids=lambda f: f.__name__)
@pytest.mark.parametrize("name", LOGS)
def test_a_damaged_log_is_repaired_by_the_next_save(
    finished: Path, tmp_path: Path, damage: Callable[[Path], object], name: str
) -> None:
    """By the first save of the next process (a resume), and with a run still going."""
    run_dir = tmp_path / "run"
    shutil.copytree(finished, run_dir)
    damage(run_dir / name)
    resumed = search(run_dir)
    resumed.run(12)  # nothing left to run: the save alone repairs
    assert texts(run_dir) == texts(finished)
    damage(run_dir / name)
    resumed.run(14)  # in the same process: the next generation's save repairs
    assert texts(run_dir) == rebuilt(run_dir, tmp_path)


class Noted(ZDT1):
    """ZDT1 whose results, once `noted` is set, carry a metric the earlier ones lack."""

    noted = False

    def evaluate(self, x: Candidate, rung: int = 0, start: bytes | None = None) -> dict[str, Any]:
        result = super().evaluate(x, rung, start)
        if self.noted:
            result["metrics"]["note"] = 1
        return result


def test_a_log_is_rewritten_when_a_new_metric_appears(tmp_path: Path) -> None:
    """Lines already written have no column for it, so the file is rewritten with one."""
    problem = Noted(n_dim=5)
    strategy = NSGA2(problem, 8, np.random.default_rng(1))
    s = Search(tmp_path / "run", problem, strategy, SerialExecutor(problem))
    s.run(4)
    problem.noted = True
    s.run(12)
    header = (tmp_path / "run" / PARETO).read_text().splitlines()[0]
    assert header.endswith(",note")
    (tmp_path / "again").mkdir()
    Logs(tmp_path / "again", problem).update(s.records(), 12)
    assert texts(tmp_path / "again") == texts(tmp_path / "run")
