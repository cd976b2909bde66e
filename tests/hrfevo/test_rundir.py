"""Run directories as untrusted input (issue 24, items 2 and 3): every journal record and the
checkpoint are checked on read, files that disagree are refused rather than "repaired" by
running more, and a finished run's resume changes nothing.

Each refusal is exit status 2, one line on stderr naming the file (and the journal's line and
field), no traceback, and the run directory unchanged.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from hrfevo.config import resolve
from hrfevo.errors import UsageError
from hrfevo.problem import Record
from hrfevo.rundir import CHECKPOINT, JOURNAL, RUN_FILE
from tests.hrfevo.clitools import invoke, tree_digest

# Every command that reads a run directory, as the arguments after its name.
READERS: dict[str, Callable[[Path, Path], list[str]]] = {
    "status": lambda run, tmp: ["status", str(run)],
    "resume": lambda run, tmp: ["resume", str(run)],
    "report": lambda run, tmp: ["report", str(run), "--out", str(tmp / "report")],
    "export": lambda run, tmp: ["export", str(run), "--out", str(tmp / "model")],
    "export-optuna": lambda run, tmp: [
        *("export-optuna", str(run), "--storage", f"sqlite:///{tmp / 'o.db'}"),
    ],
}


def _copy(run_dir: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    return copy


def _edit_line(run: Path, edit: Callable[[Record], None], index: int = 0) -> int:
    """Edit journal line `index` (an "ok" result's) in place; returns its line number."""
    lines = (run / JOURNAL).read_text().splitlines(keepends=True)
    ok = [i for i, line in enumerate(lines) if json.loads(line)["status"] == "ok"]
    record = json.loads(lines[ok[index]])
    edit(record)
    lines[ok[index]] = json.dumps(record) + "\n"  # json.dumps writes NaN as NaN, as a hand might
    (run / JOURNAL).write_text("".join(lines))
    return ok[index] + 1


def _duplicate(run: Path) -> int:
    lines = (run / JOURNAL).read_text().splitlines(keepends=True)
    (run / JOURNAL).write_text("".join([*lines, lines[0]]))
    return len(lines) + 1


def _set_metric(name: str, value: Any) -> Callable[[Record], None]:
    return lambda r: r["metrics"].update({name: value})


CORRUPTIONS: dict[str, tuple[Callable[[Path], int], str]] = {
    "NaN perplexity": (
        lambda r: _edit_line(r, _set_metric("perplexity", float("nan"))),
        "perplexity",
    ),
    "negative perplexity": (lambda r: _edit_line(r, _set_metric("perplexity", -3.0)), "perplexity"),
    "perplexity below 1": (lambda r: _edit_line(r, _set_metric("perplexity", 0.5)), ">= 1"),
    "string metric": (lambda r: _edit_line(r, _set_metric("val_loss", "low")), "val_loss"),
    "zero FLOPs": (lambda r: _edit_line(r, _set_metric("flops_per_token", 0)), "> 0"),
    "unknown metric": (lambda r: _edit_line(r, _set_metric("accuracy", 0.9)), "accuracy"),
    "unknown field": (lambda r: _edit_line(r, lambda x: x.update(note="hi")), "'note'"),
    "unknown status": (lambda r: _edit_line(r, lambda x: x.update(status="great")), "status"),
    "string generation": (
        lambda r: _edit_line(r, lambda x: x.update(generation="0")),
        "generation",
    ),
    "rung out of range": (lambda r: _edit_line(r, lambda x: x.update(rung=3)), "field rung 3"),
    "rung not a number": (lambda r: _edit_line(r, lambda x: x.update(rung="0")), "field rung"),
    "duplicate (key, rung)": (_duplicate, "repeats line 1's"),
    "not an object": (lambda r: _append_line(r, "[1, 2]"), "not a record"),
}


def _append_line(run: Path, text: str) -> int:
    with open(run / JOURNAL, "a") as f:
        f.write(text + "\n")
    return len((run / JOURNAL).read_text().splitlines())


def _refused(argv: list[str], run: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """Run the command; assert exit 2, one line, no traceback, the run unchanged; the line."""
    before = tree_digest(run)
    code, _, err = invoke(argv, capsys)
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert tree_digest(run) == before
    return err


@pytest.mark.parametrize("name", sorted(CORRUPTIONS))
def test_a_corrupted_journal_record_is_refused_by_status(
    name: str, run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = _copy(run_dir, tmp_path)
    damage, field = CORRUPTIONS[name]
    line = damage(run)
    err = _refused(["status", str(run)], run, capsys)
    assert f"{run / JOURNAL}: line {line}" in err and field in err, err


@pytest.mark.parametrize("command", sorted(READERS))
def test_every_reader_refuses_a_nan_in_the_journal(
    command: str, run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = _copy(run_dir, tmp_path)
    line = _edit_line(run, _set_metric("perplexity", float("nan")))
    err = _refused(READERS[command](run, tmp_path), run, capsys)
    assert f"line {line}: field metrics.perplexity nan" in err, err
    assert not (tmp_path / "report").exists() and not (tmp_path / "model").exists()


def test_runs_lists_a_corrupted_run_as_unreadable(
    run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = _copy(run_dir, tmp_path)
    _edit_line(run, _set_metric("perplexity", -1.0))
    code, out, err = invoke(["runs", str(tmp_path)], capsys)
    assert code == 0 and "Traceback" not in err, err
    row = next(line for line in out.splitlines() if line.startswith(str(run)))
    assert "unreadable" in row and "metrics.perplexity -1.0" in row, row


def test_a_torn_last_line_is_still_ignored(
    run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = _copy(run_dir, tmp_path)
    with open(run / JOURNAL, "a") as f:
        f.write('{"key": "abc", "metrics": {"perplexity": Na')  # a kill in mid-write
    before = tree_digest(run)
    code, _, err = invoke(["status", str(run)], capsys)
    assert code == 0, err
    assert tree_digest(run) == before


def test_a_corrupted_checkpoint_field_is_refused(
    run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = _copy(run_dir, tmp_path)
    state = json.loads((run / CHECKPOINT).read_text())
    (run / CHECKPOINT).write_text(json.dumps(state | {"generation": "two"}))
    err = _refused(["status", str(run)], run, capsys)
    assert f"{run / CHECKPOINT} is corrupted (field generation: 'two')" in err, err


# ---- run directories whose files disagree ------------------------------------------------------


def test_resume_refuses_a_full_journal_without_its_checkpoint(
    run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = _copy(run_dir, tmp_path)
    (run / CHECKPOINT).unlink()
    lines = len((run / JOURNAL).read_text().splitlines())
    err = _refused(["resume", str(run)], run, capsys)
    assert f"{run / CHECKPOINT} is missing but its journal holds {lines} results" in err, err


def test_resume_refuses_an_edited_run_json_without_a_checkpoint(
    run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = _copy(run_dir, tmp_path)
    (run / CHECKPOINT).unlink()
    info = json.loads((run / RUN_FILE).read_text())
    info["config"]["seed"] = 7
    (run / RUN_FILE).write_text(json.dumps(info))
    err = _refused(["resume", str(run), "--generations", "3"], run, capsys)
    assert "checkpoint.json is missing but its journal holds" in err, err


@pytest.mark.parametrize("command", ["status", "export-optuna"])
def test_a_run_whose_journal_is_missing_is_refused(
    command: str, run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = _copy(run_dir, tmp_path)
    lines = len((run / JOURNAL).read_text().splitlines())
    (run / JOURNAL).unlink()
    err = _refused(READERS[command](run, tmp_path), run, capsys)
    assert f"journal.jsonl has 0 lines, fewer than the {lines}" in err, err


def test_resuming_a_finished_run_changes_no_byte(
    run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = _copy(run_dir, tmp_path)
    before = tree_digest(run)
    stamps = {p: p.stat().st_mtime_ns for p in run.rglob("*")}
    code, _, err = invoke(["resume", str(run)], capsys)
    assert code == 0, err
    assert tree_digest(run) == before
    assert {p: p.stat().st_mtime_ns for p in run.rglob("*")} == stamps


def test_resume_still_repairs_stale_logs_of_a_finished_run(
    run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A kill between the last checkpoint and its logs: resume rebuilds them, as before."""
    run = _copy(run_dir, tmp_path)
    hv = run / "hypervolume.csv"
    rows = hv.read_text().splitlines(keepends=True)
    hv.write_text("".join(rows[:-1]))
    code, _, err = invoke(["resume", str(run)], capsys)
    assert code == 0, err
    assert hv.read_text() == (run_dir / "hypervolume.csv").read_text()


def _unreadable(path: Path) -> None:
    """chmod 000 `path`, or skip where that does not stop this process reading it (root)."""
    path.chmod(0)
    if os.access(path, os.R_OK):
        path.chmod(0o755)
        pytest.skip("this user reads files whatever their mode (root)")


@pytest.mark.parametrize("command", sorted(READERS))
@pytest.mark.parametrize("name", [JOURNAL, CHECKPOINT, RUN_FILE, "."])
def test_an_unreadable_file_is_one_line_and_exit_2(
    command: str, name: str, run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = _copy(run_dir, tmp_path)
    target = run / name
    _unreadable(target)
    try:
        code, _, err = invoke(READERS[command](run, tmp_path), capsys)
    finally:
        target.chmod(0o755 if target.is_dir() else 0o644)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert "cannot be read" in err or "in use" in err or "not a run directory" in err, err


def test_runs_lists_an_unreadable_run_as_unreadable(
    run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = _copy(run_dir, tmp_path)
    _unreadable(run)
    try:
        code, out, err = invoke(["runs", str(tmp_path)], capsys)
    finally:
        run.chmod(0o755)
    assert code == 0 and "Traceback" not in err, err
    assert "unreadable" in out and "cannot be read" in out, out


@pytest.mark.parametrize("command", sorted(READERS))
@pytest.mark.parametrize("name", [JOURNAL, CHECKPOINT, RUN_FILE])
def test_a_permission_error_while_reading_is_one_line(
    command: str,
    name: str,
    run_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Where chmod cannot take reading away (root, as in CI), the error the kernel would give
    is made here, for every reading command and every file a run directory needs."""
    run = _copy(run_dir, tmp_path)
    target = run / name
    real_bytes, real_text, real_open = Path.read_bytes, Path.read_text, Path.open

    def guard(self: Path) -> None:
        if self == target:
            raise PermissionError(13, "Permission denied", str(self))

    def read_bytes(self: Path) -> bytes:
        guard(self)
        return real_bytes(self)

    def read_text(self: Path, *args: Any, **kwargs: Any) -> str:
        guard(self)
        return real_text(self, *args, **kwargs)

    def open_(self: Path, *args: Any, **kwargs: Any) -> Any:
        guard(self)
        return real_open(self, *args, **kwargs)

    before = tree_digest(run)
    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    monkeypatch.setattr(Path, "read_text", read_text)
    monkeypatch.setattr(Path, "open", open_)
    code, _, err = invoke(READERS[command](run, tmp_path), capsys)
    monkeypatch.undo()
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert tree_digest(run) == before
    assert f"{target} cannot be read (Permission denied)" in err, err


# ---- values once accepted silently -------------------------------------------------------------


def test_export_optuna_refuses_an_empty_study_name(
    run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    storage = f"sqlite:///{tmp_path / 'o.db'}"
    err = _refused(
        ["export-optuna", str(run_dir), "--storage", storage, "--study-name", ""], run_dir, capsys
    )
    assert "--study-name '': must not be empty" in err, err
    assert not (tmp_path / "o.db").exists()


def test_calibrate_refuses_gpus_on_a_machine_without_one(
    tmp_path: Path, text_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    flags = ["--preset", "smoke", "--data", str(text_file), "--genomes", "2", "--mult", "2"]
    argv = ["calibrate", *flags, "--gpus-per-eval", "1", "--out", str(tmp_path / "cal")]
    err = _refused(argv, tmp_path, capsys)
    assert "--gpus-per-eval 1 asks for GPUs, but this machine has none" in err, err


def test_a_serial_run_refuses_gpus_on_a_machine_without_one(
    tmp_path: Path, text_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The serial executor once trained on the CPU without a word when asked for a GPU."""
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    flags = ["--preset", "smoke", "--data", str(text_file), "--executor", "serial"]
    argv = ["run", *flags, "--gpus-per-eval", "1", "--out", str(tmp_path / "run")]
    err = _refused(argv, tmp_path, capsys)
    assert "--gpus-per-eval 1 asks for GPUs, but this machine has none" in err, err
    assert not (tmp_path / "run").exists()


def test_a_state_read_back_from_states_is_checked_before_a_worker_continues_from_it(
    text_file: Path, tmp_path: Path
) -> None:
    """A training state in states/ that is cut short, of another genome, or not a state at all
    is refused in the driver with one line naming the file, instead of being journaled as the
    promoted genome's failure."""
    from hrfevo.fidelity import Fidelity
    from hrfevo.genome import transformer_genome
    from hrfevo.run import make_problem
    from hrfevo.search import Search

    ladder = Fidelity((4, 8), promote=0.5)
    flags = {"data": str(text_file), "executor": "serial", "fidelity": ladder.to_dict()}
    cfg = resolve("smoke", None, flags | {"budget": {"schedule": "wsd", "warmup_steps": 1}})
    problem = make_problem(cfg)
    x, other = transformer_genome(16, 1, 2).to_dict(), transformer_genome(32, 1, 2).to_dict()
    state = problem.evaluate(x, 0)["state"]
    problem.check_start(x, state)  # its own state passes
    bad = {
        "cut short": (state[:-100], "bytes where its header describes"),
        "another genome's": (problem.evaluate(other, 0)["state"], "the model has|another model"),
        "not a state": (b"\x08" + bytes(64), "not a training state"),
    }
    search = Search.__new__(Search)  # only the check, without a run around it
    search.problem = problem
    for name, (blob, why) in bad.items():
        with pytest.raises(ValueError, match=why):
            problem.check_start(x, blob)
        with pytest.raises(UsageError, match=r"^\S+/states/k@0\.safetensors: .*delete it") as e:
            search._check_start(tmp_path / "states" / "k@0.safetensors", x, blob)
        assert "\n" not in str(e.value), name
