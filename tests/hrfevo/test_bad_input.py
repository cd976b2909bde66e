"""Bad input to every subcommand, by class (issue 15): each is one line on stderr naming the
problem, exit status 2, no traceback, and nothing written; and a run cannot be corrupted on
resume without a word.

The classes: sizes and seeds past their bounds (memory is estimated before anything is
allocated, and the estimate is given), an output path under a file, empty or misdirected
arguments, config errors that must name the config key (and a YAML error its line), choices
that must be in order, settings that the chosen executor would ignore, and run directories
whose run.json or journal changed since the last checkpoint.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from model import MAX_SEED, ModelConfig, SpectralLM
from tests.hrfevo.clitools import run_cli, tree_digest

HUGE = str(10**30)  # a seed, a size or a count with far too many digits
TINY = ModelConfig(vocab_size=256, seq_len=32, d_model=32, n_layers=1, mixer="attention")


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model directory as `hrfevo train` writes it (untrained weights: only loading matters)."""
    out = tmp_path_factory.mktemp("model") / "tiny"
    SpectralLM(TINY).save_pretrained(out)
    return out


class Paths:
    """What a case may refer to: a scratch directory, a finished run, data, a model."""

    def __init__(self, tmp: Path, run: Path, data: Path, model: Path) -> None:
        self.tmp, self.run, self.data, self.model = tmp, run, data, model

    def write(self, name: str, text: str) -> str:
        (self.tmp / name).write_text(text)
        return str(self.tmp / name)

    def config(self, text: str) -> list[str]:
        """`--config FILE` holding `text`, with the smoke preset and real data."""
        return [
            "--preset",
            "smoke",
            "--data",
            str(self.data),
            "--config",
            self.write("c.yaml", text),
        ]

    def train(self, *flags: str) -> list[str]:
        """`hrfevo train` of the tiny model on real data, with `flags` last (they win)."""
        model = self.write("model.json", json.dumps(TINY.to_dict()))
        base = ["--model", model, "--data", str(self.data), "--steps", "2", "--batch-size", "2"]
        return ["train", *base, "--out", str(self.tmp / "out"), *flags]

    def generate(self, *flags: str) -> list[str]:
        return ["generate", str(self.model), "--prompt", "x", "--max-new-tokens", "3", *flags]

    def file_parent(self) -> str:
        """An output path whose parent is a file."""
        return str(Path(self.write("a_file", "x")) / "sub")


Case = Callable[[Paths], list[str]]

CASES: dict[str, tuple[Case, str]] = {
    # -- sizes and seeds past their bounds ------------------------------------------------------
    "run seed": (lambda p: ["run", "--seed", HUGE], f"from 0 to {MAX_SEED}"),
    "train seed": (lambda p: p.train("--seed", HUGE), f"--seed {HUGE}: must be an integer"),
    "generate seed": (lambda p: p.generate("--seed", HUGE), f"--seed {HUGE}: must be from 0"),
    "run population": (lambda p: ["run", "--population", str(10**12)], "population=10000000"),
    "run generations": (lambda p: ["run", "--generations", str(10**6)], "generations=1000000"),
    "run cores": (lambda p: ["run", "--cpus-per-eval", str(10**6)], "cpus_per_eval=1000000"),
    "train batch": (
        lambda p: p.train("--batch-size", str(10**8)),
        "--batch-size 100000000: training needs about",
    ),
    "train model too big": (
        lambda p: p.train(
            "--model",
            p.write("big.json", json.dumps(TINY.to_dict() | {"d_model": 2**14, "n_layers": 256})),
        ),
        "one sequence at a time: training needs about",
    ),
    "train model past its limits": (
        lambda p: p.train(
            "--model", p.write("big.json", json.dumps(TINY.to_dict() | {"d_model": 2**22}))
        ),
        "d_model=4194304: must be an integer from 1 to 16384",
    ),
    "train steps": (lambda p: p.train("--steps", str(10**12)), "--steps 1000000000000"),
    "train threads": (lambda p: p.train("--threads", str(10**6)), "--threads 1000000"),
    "space too wide": (
        lambda p: ["run", *p.config("space: {d_model: [16, 16384], n_layers: [1, 256]}\n")],
        "the largest",
    ),
    "space past a model's limits": (
        lambda p: ["run", *p.config("space: {d_model: [16, 4194304]}\n")],
        "space.d_model=[16, 4194304]: a model's d_model is at most 16384",
    ),
    "budget batch": (
        lambda p: ["run", *p.config("budget: {batch_size: 100000000}\n")],
        "budget.batch_size 100000000): training needs about",
    ),
    "ladder rung": (
        lambda p: ["run", *p.config("fidelity: {rungs: [6, 1000000000000], promote: 0.5}\n")],
        "fidelity.rungs=",
    ),
    "generate tokens": (
        lambda p: p.generate("--max-new-tokens", str(10**11)),
        "--max-new-tokens 100000000000: must be from 0",
    ),
    "generate top-k": (lambda p: p.generate("--top-k", "1000"), "the model has 256 tokens"),
    "export steps": (
        lambda p: ["export", str(p.run), "--out", str(p.tmp / "e"), "--retrain-steps", HUGE],
        "--retrain-steps",
    ),
    "resume generations": (
        lambda p: ["resume", str(p.run), "--generations", str(10**6)],
        "--generations 1000000",
    ),
    "infinite time-out": (
        lambda p: ["run", *p.config("executor: ray\neval_timeout: .inf\n")],
        "eval_timeout=inf",
    ),
    "gpus not a number": (lambda p: ["run", *p.config("gpus_per_eval: .nan\n")], "gpus_per_eval"),
    # -- an output path under a file ------------------------------------------------------------
    "run out under a file": (
        lambda p: ["run", "--preset", "smoke", "--data", str(p.data), "--out", p.file_parent()],
        "a_file is a file, not a directory",
    ),
    "train out under a file": (
        lambda p: p.train("--out", p.file_parent()),
        "a_file is a file, not a directory",
    ),
    "export out under a file": (
        lambda p: ["export", str(p.run), "--out", p.file_parent()],
        "a_file is a file, not a directory",
    ),
    # -- empty and misdirected arguments --------------------------------------------------------
    "empty preset": (lambda p: ["run", "--preset", ""], "invalid choice: ''"),
    "empty preset in a file": (
        lambda p: ["run", "--config", p.write("c.yaml", "preset: ''\n")],
        "unknown preset ''",
    ),
    "config is a directory": (lambda p: ["run", "--config", str(p.tmp)], "is a directory"),
    "run empty data": (lambda p: ["run", "--data", ""], "data='': name a corpus"),
    "train empty data": (lambda p: p.train("--data", ""), "no corpus given"),
    "generate unknown device": (lambda p: p.generate("--device", "npu"), "--device npu: choose"),
    "train unknown device": (lambda p: p.train("--device", "npu"), "--device npu: choose"),
    "export unknown device": (
        lambda p: ["export", str(p.run), "--out", str(p.tmp / "e"), "--device", "npu"],
        "--device npu: choose",
    ),
    # -- config errors name the config key ------------------------------------------------------
    "unknown budget key": (
        lambda p: ["run", *p.config("budget: {step: 5}\n")],
        "budget: unknown field(s) step",
    ),
    "bad budget value": (
        lambda p: ["run", *p.config("budget: {batch_size: 0}\n")],
        "budget.batch_size=0",
    ),
    "yaml error has a line": (
        lambda p: ["run", *p.config("population: 4\nspace: {d_model: [16, 32]\n")],
        "line 3, column 1",
    ),
    "gene bound of the wrong type": (
        lambda p: ["run", *p.config("space: {n_layers: [1, '4']}\n")],
        "space.n_layers=[1, '4']: must be [min, max]: two integers",
    ),
    "gene choice of the wrong type": (
        lambda p: ["run", *p.config("space: {d_model: '64'}\n")],
        "space.d_model='64'",
    ),
    "float setting of the wrong type": (
        lambda p: ["run", *p.config("crossover_prob: '0.9'\n")],
        "crossover_prob='0.9'",
    ),
    "seeds not a list": (lambda p: ["run", *p.config("seeds: transformer\n")], "seeds="),
    "budget not a mapping": (lambda p: ["run", *p.config("budget: 5\n")], "budget: expected"),
    # -- choices in order, each once --------------------------------------------------------------
    "widths out of order": (
        lambda p: ["run", *p.config("space: {d_model: [64, 16]}\n")],
        "space.d_model=[64, 16]: must be strictly increasing",
    ),
    "heads out of order": (
        lambda p: ["run", *p.config("space: {n_heads: [4, 2]}\n")],
        "space.n_heads=[4, 2]: must be strictly increasing",
    ),
    "mixer twice": (
        lambda p: ["run", *p.config("space: {mixers: [wavelet, wavelet]}\n")],
        "names a choice twice",
    ),
    "more seeds than the population": (  # smoke's population is 4
        lambda p: [
            "run",
            *p.config("{}"),
            "--out",
            str(p.tmp / "o"),
            "--seeds",
            *["transformer"] * 5,
        ],
        "the seeds give 5 genomes",
    ),
    # -- settings the executor would ignore -----------------------------------------------------
    "ray address on serial": (
        lambda p: ["run", "--executor", "serial", "--ray-address", "auto"],
        "ray_address='auto': needs the ray executor",
    ),
    "dashboard on serial": (
        lambda p: ["run", "--executor", "serial", "--ray-dashboard"],
        "ray_dashboard=True: needs the ray executor",
    ),
    "dashboard of a cluster": (
        lambda p: ["run", "--ray-address", "auto", "--ray-dashboard"],
        "ray_dashboard=True: serves a local Ray's dashboard",
    ),
    "resume joins a cluster on serial": (  # the smoke run is serial
        lambda p: ["resume", str(p.run), "--ray-address", "auto"],
        "needs the ray executor",
    ),
    # -- resume may not rewind a run ---------------------------------------------------------------
    "resume below the generations done": (
        lambda p: ["resume", str(p.run), "--generations", "1"],
        "has already finished 2 generations",
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input_is_one_line_exit_2_and_writes_nothing(
    name: str,
    tmp_path: Path,
    run_dir: Path,
    text_file: Path,
    model_dir: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)  # a default output directory would land here, and be seen
    build, needle = CASES[name]
    args = build(Paths(tmp_path, run_dir, text_file, model_dir))
    before = [tree_digest(d) for d in (tmp_path, run_dir, model_dir)]
    code, err = run_cli(args, capsys)
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert needle in err, err
    assert [tree_digest(d) for d in (tmp_path, run_dir, model_dir)] == before


# ---- a run cannot be corrupted on resume -------------------------------------------------------


def _copy(run_dir: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    return copy


def _edit_run_json(run: Path, edit: Callable[[dict], None]) -> None:
    info = json.loads((run / "run.json").read_text())
    edit(info)
    (run / "run.json").write_text(json.dumps(info))


EDITS: dict[str, Callable[[dict], None]] = {
    "population": lambda i: i["config"].update(population=6),
    "strategy": lambda i: i["config"].update(strategy="random"),
    "budget": lambda i: i["config"]["budget"].update(lr=0.1),
    "space": lambda i: i["config"]["space"].update(d_model=[16]),
    "seed": lambda i: i["config"].update(seed=7),
    "seed_genomes": lambda i: i.update(seed_genomes=[]),
}


@pytest.mark.parametrize("setting", sorted(EDITS))
def test_resume_refuses_a_run_json_whose_search_settings_changed(
    setting: str, run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = _copy(run_dir, tmp_path)
    _edit_run_json(run, EDITS[setting])
    before = tree_digest(run)
    code, err = run_cli(["resume", str(run), "--generations", "3"], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert f"search settings changed since the last checkpoint ({setting})" in err, err
    assert tree_digest(run) == before


@pytest.mark.parametrize("damage", ["deleted", "truncated"])
def test_resume_refuses_a_journal_that_lost_lines(
    damage: str, run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = _copy(run_dir, tmp_path)
    journal = run / "journal.jsonl"
    lines = journal.read_text().splitlines(keepends=True)
    if damage == "deleted":
        journal.unlink()
    else:
        journal.write_text("".join(lines[:-1]))
    before = tree_digest(run)
    code, err = run_cli(["resume", str(run), "--generations", "3"], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    kept = 0 if damage == "deleted" else len(lines) - 1
    assert f"journal.jsonl has {kept} lines, fewer than the {len(lines)}" in err, err
    assert tree_digest(run) == before


def test_resume_may_change_where_evaluations_run_and_lines_after_the_checkpoint(
    run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Execution settings are not search settings; journal lines written after the last
    checkpoint (evaluations that finished before a kill) are the normal case."""
    from tests.hrfevo.damage import copy_with_failure

    run = copy_with_failure(run_dir, tmp_path / "run")  # one line more than checkpointed
    _edit_run_json(run, lambda i: i["config"].update(cpus_per_eval=2))
    code, err = run_cli(["resume", str(run), "--cpus-per-eval", "1"], capsys)
    assert code == 0, err
    status = json.loads((run / "checkpoint.json").read_text())
    assert status["generation"] == 2 and status["journal_lines"] == len(
        (run / "journal.jsonl").read_text().splitlines()
    )


def test_a_run_whose_every_evaluation_failed_exits_1_with_a_summary(
    tmp_path: Path, text_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A cap no genome fits: each evaluation is the genome's own failure, so the run finishes,
    but with no front. `run` and `resume` both say so, on one line, and exit 1."""
    config = tmp_path / "c.yaml"
    config.write_text("space: {max_params: 1}\n")
    out = tmp_path / "run"
    flags = ["--preset", "smoke", "--data", str(text_file), "--generations", "1"]
    code, err = run_cli(["run", *flags, "--config", str(config), "--out", str(out)], capsys)
    last = err.strip().splitlines()[-1]
    assert code == 1 and "Traceback" not in err, err
    assert last.startswith("hrfevo run: every one of the 4 evaluations failed"), last
    assert "OverCapError x4 (e.g. params " in last, last
    code, err = run_cli(["resume", str(out)], capsys)
    assert code == 1 and err.strip().splitlines()[-1].startswith("hrfevo resume: every one of")


def test_resume_on_the_serial_executor_drops_the_recorded_ray_settings() -> None:
    """A setting that serial would ignore is refused when given, and dropped when it was only
    recorded: moving a Ray run to one process must not need the Ray flags unset one by one."""
    from hrfevo.config import RunConfig
    from hrfevo.errors import UsageError
    from hrfevo.run import with_execution

    ray = RunConfig(executor="ray", ray_address="auto", eval_timeout=60.0)
    serial = with_execution(ray, {"executor": "serial"})
    assert (serial.ray_address, serial.ray_dashboard, serial.eval_timeout) == (None, False, None)
    local = RunConfig(executor="ray", ray_dashboard=True)
    assert with_execution(local, {"ray_address": "auto"}).ray_dashboard is False
    with pytest.raises(UsageError, match="ray_address='auto': needs the ray executor"):
        with_execution(ray, {"executor": "serial", "ray_address": "auto"})
