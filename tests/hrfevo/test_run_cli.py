"""`hrfevo run / resume / status`: bad input is one line, exit status 2, and no file changed."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from hrfevo.cli import main
from hrfevo.presets import PRESETS
from tests.hrfevo.clitools import run_cli, tree_digest


def test_status_reports_the_run(run_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["status", str(run_dir)]) == 0
    out = capsys.readouterr().out
    generations = PRESETS["smoke"]["generations"]
    assert f"generations  {generations} of {generations} finished (0–{generations - 1})" in out
    assert "evaluations  " in out and "hypervolume  " in out and "front  " in out


def test_resume_of_a_finished_run_runs_nothing_and_can_extend(
    run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = tmp_path / "copy"
    subprocess.run(["cp", "-r", str(run_dir), str(copy)], check=True)
    before = (copy / "journal.jsonl").read_bytes()
    assert main(["resume", str(copy)]) == 0
    assert (copy / "journal.jsonl").read_bytes() == before
    assert main(["resume", str(copy), "--generations", "3"]) == 0
    checkpoint = json.loads((copy / "checkpoint.json").read_text())
    assert checkpoint["generation"] == checkpoint["target"] == 3
    assert len((copy / "journal.jsonl").read_bytes()) > len(before)


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


Case = Callable[[Path, Path, Path], list[str]]  # (tmp, run_dir, data) -> argv


def _mistyped_genome() -> dict[str, Any]:
    from hrfevo.genome import transformer_genome

    g = transformer_genome(d_model=64, n_layers=2, n_heads=4).to_dict()
    return g | {"arch": g["arch"] | {"n_layers": "2"}}


def _big_genome() -> dict[str, Any]:
    from hrfevo.genome import transformer_genome

    return transformer_genome(d_model=1024, n_layers=2, n_heads=4).to_dict()


def _config(text: str, name: str = "c.yaml") -> Case:
    """`hrfevo run --config FILE`, FILE holding `text`."""
    return lambda t, r, d: ["run", "--config", str(_write(t / name, text))]


def _seeds(genome: str) -> Case:
    """`hrfevo run --seeds FILE` on real data into a fresh --out, FILE holding `genome`."""
    return lambda t, r, d: [
        "run", "--data", str(d), "--out", str(t / "o"), "--seeds", str(_write(t / "g.json", genome))
    ]  # fmt: skip


CASES: dict[str, tuple[Case, str]] = {
    "unknown preset": (lambda t, r, d: ["run", "--preset", "huge"], "invalid choice: 'huge'"),
    "unknown config key": (
        _config("populaton: 4\n"),
        "config: unknown field(s) populaton",
    ),
    "malformed yaml": (
        _config("space: [1, 2\n"),
        "is not valid YAML/JSON",
    ),
    "malformed json": (
        _config('{"population": 4,,}', "c.json"),
        "is not valid YAML/JSON",
    ),
    "missing config": (lambda t, r, d: ["run", "--config", str(t / "nope.yaml")], "does not exist"),
    "population 1": (lambda t, r, d: ["run", "--population", "1"], "population=1"),
    "negative generations": (lambda t, r, d: ["run", "--generations", "-1"], "generations=-1"),
    "non-integer flag": (lambda t, r, d: ["run", "--population", "four"], "invalid int value"),
    "unknown wavelet family": (
        _config("space: {wavelet_families: [db, morlet]}\n"),
        "space.wavelet_families",
    ),
    "unknown strategy": (lambda t, r, d: ["run", "--strategy", "cmaes"], "invalid choice: 'cmaes'"),
    "missing data file": (
        lambda t, r, d: ["run", "--data", str(t / "absent.txt"), "--out", str(t / "o")],
        "absent.txt",
    ),
    "out is an existing run": (
        lambda t, r, d: ["run", "--data", str(d), "--out", str(r)],
        "already holds a run",
    ),
    "genome file outside the space": (
        _seeds(json.dumps(_big_genome())),
        "does not fit the space",
    ),
    "genome file not a genome": (
        _seeds("{}"),
        "is not a valid genome",
    ),
    "transformer seed outside the space": (
        lambda t, r, d: [
            "run",
            "--data",
            str(d),
            "--out",
            str(t / "o"),
            "--seeds",
            "transformer",
            "--config",
            str(_write(t / "c.yaml", "space: {mixers: [wavelet, fourier]}\n")),
        ],
        "seed 'transformer' needs 'attention'",
    ),
    "out is a file": (
        lambda t, r, d: ["run", "--data", str(d), "--out", str(_write(t / "f", "x"))],
        "exists and is not a directory",
    ),
    "space with zero heads": (
        _config("space: {n_heads: [0]}\n"),
        "space.n_heads=[0]",
    ),
    "space below byte tokens": (
        _config("space: {vocab_size: 100}\n"),
        "space.vocab_size=100",
    ),
    "budget below one batch": (
        _config("budget: {steps: null, tokens: 10}\n"),
        "less than one batch",
    ),
    "time-out on the serial executor": (
        lambda t, r, d: ["run", "--executor", "serial", "--eval-timeout", "5"],
        "needs the ray executor",
    ),
    "genome file with a mistyped gene": (
        _seeds(json.dumps(_mistyped_genome())),
        "genome.arch.n_layers: expected an integer, got '2'",
    ),
    "resume missing dir": (
        lambda t, r, d: ["resume", str(t / "nothing")],
        "is not a run directory",
    ),
    "resume negative generations": (
        lambda t, r, d: ["resume", str(r), "--generations", "-2"],
        "--generations",
    ),
    "cap not positive": (
        _config("space: {max_params: 0}\n"),
        "space.max_params=0",
    ),
    "duplicate objectives": (
        _config("objectives: [perplexity, flops_per_token, flops_per_token]\n"),
        "objectives=",
    ),
    "resume with a time-out on the serial executor": (
        lambda t, r, d: ["resume", str(r), "--eval-timeout", "5"],  # the smoke run is serial
        "needs the ray executor",
    ),
    "resume with no cores": (
        lambda t, r, d: ["resume", str(r), "--cpus-per-eval", "0"],
        "cpus_per_eval=0",
    ),
    "resume unknown executor": (
        lambda t, r, d: ["resume", str(r), "--executor", "dask"],
        "invalid choice: 'dask'",
    ),
    "status missing dir": (
        lambda t, r, d: ["status", str(t / "nothing")],
        "is not a run directory",
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input_is_one_line_exit_2_and_changes_nothing(
    name: str,
    tmp_path: Path,
    run_dir: Path,
    text_file: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    build, needle = CASES[name]
    args = build(tmp_path, run_dir, text_file)
    before_tmp, before_run = tree_digest(tmp_path), tree_digest(run_dir)
    code, err = run_cli(args, capsys)
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert needle in err
    assert tree_digest(tmp_path) == before_tmp and tree_digest(run_dir) == before_run


@pytest.mark.parametrize(
    ("damage", "needle"),
    [
        (lambda r: (r / "run.json").write_text("{not json"), "run.json is corrupted"),
        (lambda r: (r / "checkpoint.json").write_text("[]"), "checkpoint.json is corrupted"),
        (
            lambda r: (r / "journal.jsonl").write_text('{"key": "a"}\ngarbage\n{"key": "b"}\n'),
            "corrupted journal",
        ),
        (
            lambda r: (r / "run.json").write_text(
                json.dumps(json.loads((r / "run.json").read_text()) | {"format": 99})
            ),
            "has run format 99; this hrfevo reads 4",
        ),
        (
            lambda r: (r / "run.json").write_text(
                json.dumps(json.loads((r / "run.json").read_text()) | {"format": 3})
            ),
            "has run format 3; this hrfevo reads 4",
        ),
        (
            lambda r: (r / "run.json").write_text(
                json.dumps(_with_corpus_hash(json.loads((r / "run.json").read_text()), "0" * 64))
            ),
            "is not the run's",
        ),
    ],
    ids=["run.json", "checkpoint", "journal", "version", "older version", "corpus"],
)
def test_resuming_a_damaged_run_is_exit_2(
    damage: Callable[[Path], object],
    needle: str,
    run_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    copy = tmp_path / "copy"
    subprocess.run(["cp", "-r", str(run_dir), str(copy)], check=True)
    damage(copy)
    before = tree_digest(copy)
    code, err = run_cli(["resume", str(copy)], capsys)
    assert code == 2 and needle in err and len(err.strip().splitlines()) == 1, err
    assert tree_digest(copy) == before


def _with_corpus_hash(info: dict[str, Any], sha256: str) -> dict[str, Any]:
    return info | {"data": info["data"] | {"sha256": sha256}}


def test_a_run_in_use_cannot_be_resumed_twice(
    run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from hrfevo.storage import locked

    copy = tmp_path / "copy"
    subprocess.run(["cp", "-r", str(run_dir), str(copy)], check=True)
    before = tree_digest(copy)
    with locked(copy / "run.json"):  # as a running `hrfevo run` or `resume` holds it
        code, err = run_cli(["resume", str(copy), "--generations", "3"], capsys)
    assert code == 2 and "in use by another hrfevo process" in err, err
    assert tree_digest(copy) == before
    assert main(["resume", str(copy), "--generations", "3"]) == 0  # released: it resumes


def test_a_relative_data_path_is_recorded_absolute(
    tmp_path: Path, text_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """So the run resumes and exports from any working directory."""
    from hrfevo.config import resolve
    from hrfevo.run import RunView, start

    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "text.txt").write_bytes(text_file.read_bytes()[:20000])
    monkeypatch.chdir(tmp_path)
    cfg = resolve("smoke", None, {"data": "data/text.txt", "generations": 0})
    out = start(cfg, tmp_path / "run")
    assert RunView(out).config.data == str(tmp_path / "data" / "text.txt")


def test_bad_input_from_a_real_process_has_no_traceback(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "hrfevo", "run", "--population", "1"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert not any(tmp_path.iterdir())


def test_a_reader_that_leaves_early_gets_no_traceback(run_dir: Path) -> None:
    """`hrfevo status RUN | head -1`: the pipe closes before status has printed everything."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "hrfevo", "status", str(run_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # nothing read: every write of status meets a closed pipe
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 0 and err == "", err


def test_the_default_seed_is_the_transformer_where_the_space_allows_it(tmp_path: Path) -> None:
    from hrfevo.config import resolve
    from hrfevo.run import seed_genomes

    [baseline] = seed_genomes(resolve("smoke", None, {}))
    assert (
        set(baseline["arch"]["mixers"]) == {"attention"}
        and baseline["arch"]["embedding"] == "table"
    )
    config = _write(tmp_path / "c.yaml", "space: {mixers: [wavelet, fourier]}\n")
    assert seed_genomes(resolve("smoke", config, {})) == []


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main(["--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    for command in ("run", "resume", "status", "runs", "train", "generate", "calibrate"):
        assert re.search(rf"\n    {command}\b", out), command


def test_run_json_records_contamination_of_the_held_out_splits(run_dir: Path) -> None:
    info = json.loads((run_dir / "run.json").read_text())
    assert set(info["contamination"]) == {"val", "test"}
    assert all(0.0 <= share <= 1.0 for share in info["contamination"].values())
    assert info["data"]["split"]["test_tokens"] > 0


def test_a_corpus_that_repeats_itself_is_warned_about(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every held-out window of a corpus made of one repeated paragraph is in train."""
    paragraph = "To be, or not to be, that is the question: whether 'tis nobler in the mind. "
    data = _write(tmp_path / "echo.txt", paragraph * 2000)
    out = tmp_path / "run"
    args = [
        "run",
        "--preset",
        "smoke",
        "--data",
        str(data),
        "--out",
        str(out),
        "--generations",
        "0",
    ]
    code, err = run_cli(args, capsys)
    assert code == 0, err
    assert json.loads((out / "run.json").read_text())["contamination"] == {"val": 1.0, "test": 1.0}
    warnings = [line for line in err.splitlines() if line.startswith("warning: ")]
    assert warnings == [
        f"warning: 100.0% of the {split} windows of {str(data)!r} also occur verbatim in its "
        "training split (run.json: contamination)"
        for split in ("val", "test")
    ]
