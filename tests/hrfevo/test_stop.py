"""Stopping rules (`hrfevo.stop`): a run stops between generations at its first limit reached,
a resumed run goes on to the same limits (or raised ones), and the CPU clock is the journal's."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

import hrfevo.problems.spectral as spectral
from hrfevo import run
from hrfevo.cli import main
from hrfevo.config import resolve
from hrfevo.stop import Spent, Stop, cpu_seconds
from hrfevo.storage import Journal
from model import ConfigError
from tests.hrfevo.clitools import determined, invoke, run_cli, tree_digest

LIMIT = 5  # evaluations: the smoke preset's generation 0 holds 4, so generation 1 passes it
ENOUGH = "50"  # generations: far more than the evaluation limit lets the run reach


def smoke(out: Path, data: Path, *flags: str) -> list[str]:
    """`hrfevo run` of the smoke preset (serial, seed 3) into `out`, with `flags`."""
    where = ["--data", str(data), "--out", str(out)]
    return ["run", "--preset", "smoke", *where, "--seed", "3", *flags]


def journal(out: Path) -> list[tuple[Any, ...]]:
    """What must match between two runs of one search: every record's key, rung, generation,
    status and metrics (not its timings)."""
    records = Journal(out / "journal.jsonl").records.values()
    return sorted(
        (r["key"], r["rung"], r["generation"], r["status"], json.dumps(determined(r["metrics"])))
        for r in records
    )


def checkpoint(out: Path) -> dict[str, Any]:
    return dict(json.loads((out / "checkpoint.json").read_text()))


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory, text_file: Path) -> Path:
    """A smoke run stopped by `--max-evaluations LIMIT` long before its generations."""
    out = tmp_path_factory.mktemp("limited") / "run"
    limits = ["--generations", ENOUGH, "--max-evaluations", str(LIMIT)]
    assert main(smoke(out, text_file, *limits)) == 0
    return out


def test_a_run_stops_at_the_evaluation_limit_between_generations(limited: Path) -> None:
    state = checkpoint(limited)
    records = Journal(limited / "journal.jsonl").records.values()
    done = state["generation"]
    assert state["target"] == int(ENOUGH) and state["stop"]["evaluations"] == LIMIT
    assert all(r["generation"] < done for r in records)  # its last generation finished
    before = [r for r in records if r["generation"] < done - 1]
    assert len(before) < LIMIT <= len(records)  # it stopped at the first boundary past it
    why = f"the evaluation limit of {LIMIT} evaluations ({len(records)} done)"
    assert run.stopped_by(limited) == why


@pytest.mark.parametrize("how", ["killed mid-generation", "stopped at generation 1"])
def test_a_resumed_run_ends_with_the_uninterrupted_journal(
    how: str, limited: Path, tmp_path: Path, text_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Killed with its journal already past the limit, the run must still finish generation 1:
    the limits count only finished generations, so it stops where the uninterrupted run did."""
    cfg = resolve("smoke", None, {"data": str(text_file), "seed": 3, "generations": int(ENOUGH)})
    out = tmp_path / "run"
    if how.startswith("killed"):
        real_train, calls = spectral.train, []

        def killed_at_the_sixth(*args: Any, **kwargs: Any) -> Any:
            calls.append(1)
            if len(calls) == LIMIT + 1:  # generation 1's second evaluation
                raise KeyboardInterrupt
            return real_train(*args, **kwargs)

        monkeypatch.setattr(spectral, "train", killed_at_the_sixth)
        with pytest.raises(KeyboardInterrupt):
            run.start(cfg, out, stop=Stop(int(ENOUGH), evaluations=LIMIT))
        monkeypatch.setattr(spectral, "train", real_train)
        assert checkpoint(out)["generation"] == 1
        assert len(Journal(out / "journal.jsonl").records) >= LIMIT  # past it, unfinished
        run.resume(out)
    else:
        early = dataclasses.replace(cfg, generations=1)
        run.start(early, out, stop=Stop(1, evaluations=LIMIT))
        assert checkpoint(out)["generation"] == 1
        run.resume(out, generations=int(ENOUGH))
    assert journal(out) == journal(limited)
    assert checkpoint(out)["generation"] == checkpoint(limited)["generation"]
    assert checkpoint(out)["strategy"] == checkpoint(limited)["strategy"]


def test_resume_keeps_the_limits_and_may_raise_them_not_lower_them(
    limited: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(limited, copy)
    done = len(Journal(copy / "journal.jsonl").records)
    code, out, err = invoke(["resume", str(copy)], capsys)  # at its limit: nothing to run
    assert code == 0 and "at the evaluation limit" in out, err
    assert journal(copy) == journal(limited)
    before = tree_digest(copy)
    code, err = run_cli(["resume", str(copy), "--max-evaluations", str(done - 1)], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert f"--max-evaluations {done - 1}: the run has already used {done} evaluations" in err
    assert tree_digest(copy) == before
    assert main(["resume", str(copy), "--max-evaluations", str(done + 1)]) == 0
    assert len(Journal(copy / "journal.jsonl").records) > done
    state = checkpoint(copy)
    assert state["stop"]["evaluations"] == done + 1 and state["target"] == int(ENOUGH)
    assert state["wall_seconds"] > checkpoint(limited)["wall_seconds"]  # the clocks add up


def test_a_checkpoint_from_before_the_limits_resumes_to_its_generations(
    run_dir: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(run_dir, copy)
    state = checkpoint(copy)
    for key in ("stop", "wall_seconds"):
        state.pop(key)
    (copy / "checkpoint.json").write_text(json.dumps(state))
    assert run.recorded_stop(run.RunView(copy)) == Stop(state["target"])
    run.resume(copy, generations=state["target"] + 1)
    assert checkpoint(copy)["generation"] == state["target"] + 1


BAD = {
    "--max-evaluations": ["0", "-3", "four", str(10**30)],
    "--time-limit": ["0", "3x", "inf", "1e30"],
    "--cpu-limit": ["0s", "nan", "2 weeks", str(10**30)],
}


@pytest.mark.parametrize(
    ("flag", "value"), [(flag, value) for flag, values in BAD.items() for value in values]
)
@pytest.mark.parametrize("command", ["run", "resume"])
def test_a_bad_limit_is_one_line_naming_the_flag_and_exit_2(
    command: str,
    flag: str,
    value: str,
    run_dir: Path,
    tmp_path: Path,
    text_file: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    start = smoke(tmp_path / "new", text_file) if command == "run" else ["resume", str(run_dir)]
    before = tree_digest(run_dir)
    code, err = run_cli([*start, f"{flag}={value}"], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1 and flag in err, err
    assert not (tmp_path / "new").exists() and tree_digest(run_dir) == before


def test_the_cpu_clock_is_the_sum_of_the_journals_seconds(run_dir: Path) -> None:
    lines = (run_dir / "journal.jsonl").read_text().splitlines()
    seconds = [json.loads(line)["timings"]["seconds"] for line in lines]
    records = Journal(run_dir / "journal.jsonl").records.values()
    assert cpu_seconds(records) == pytest.approx(sum(seconds)) and sum(seconds) > 0
    assert run.spent(run.RunView(run_dir)).cpu_seconds == pytest.approx(sum(seconds))


def test_a_cpu_limit_stops_the_run_once_the_journal_reaches_it(
    tmp_path: Path, text_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    code, printed, err = invoke(smoke(out, text_file, "--cpu-limit", "0.001"), capsys)
    assert code == 0 and "at the CPU limit of 0.001 CPU-seconds" in printed, err
    assert checkpoint(out)["generation"] == 1  # generation 0 spent more than that
    assert checkpoint(out)["stop"]["cpu_seconds"] == 0.001


def test_a_dry_run_takes_the_limits_and_writes_nothing(
    tmp_path: Path, text_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = smoke(tmp_path / "run", text_file, "--dry-run", "--time-limit", "30m")
    code, printed, err = invoke([*args, "--max-evaluations", "20"], capsys)
    assert code == 0, err
    limits = "--max-evaluations 20, --time-limit 1800"
    assert f"# the run stops at 2 generations, or earlier at {limits}" in printed
    assert not any(tmp_path.iterdir())


def test_stop_reaches_its_first_limit_and_continues_only_upwards() -> None:
    stop = Stop(10, evaluations=40, wall_seconds=60)
    assert stop.reached(Spent(3, 39, 500.0, 59.0)) is None
    assert (
        stop.reached(Spent(3, 44, 500.0, 61.0))
        == "the evaluation limit of 40 evaluations (44 done)"
    )
    assert (
        stop.reached(Spent(10, 44, 0.0, 0.0)) == "the generation limit of 10 generations (10 done)"
    )
    spent = Spent(3, 44, 500.0, 61.0)
    assert stop.continued(spent, evaluations=None, cpu_seconds=500) == Stop(10, 40, 500, 60)
    with pytest.raises(ConfigError, match="evaluations=43: the run has already used 44"):
        stop.continued(spent, evaluations=43)
    with pytest.raises(ConfigError, match="wall_seconds=-1"):
        Stop(1, wall_seconds=-1)
