"""`hrfevo calibrate`: the proxy numbers are the search's, the reference is a from-scratch run at
M× the steps with the cosine schedule, and bad input is one line, exit 2, nothing written."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from hrfevo.calibrate import CALIBRATION_JSON, CALIBRATION_MD, Calibration
from hrfevo.cli import main
from hrfevo.config import RunConfig
from hrfevo.genome import Genome, to_model_config
from hrfevo.run import make_problem
from model.data import load_corpus
from model.train import train
from model.train_config import TrainConfig

LADDER = "fidelity: {rungs: [4, 8], promote: 0.5}\nbudget: {schedule: wsd, warmup_steps: 1}\n"


def calibrate(out: Path, data: Path, *extra: str, genomes: int = 4) -> dict[str, Any]:
    argv = ["calibrate", "--preset", "smoke", "--executor", "serial", "--data", str(data)]
    argv += ["--genomes", str(genomes), "--mult", "2", "--out", str(out), *extra]
    assert main(argv) == 0
    assert (out / CALIBRATION_MD).is_file()
    result: dict[str, Any] = json.loads((out / CALIBRATION_JSON).read_text())
    return result


@pytest.fixture(scope="module")
def plain(tmp_path_factory: pytest.TempPathFactory, text_file: Path) -> dict[str, Any]:
    """A smoke calibration: no ladder, 4 genomes, the reference at 2×."""
    return calibrate(tmp_path_factory.mktemp("cal") / "plain", text_file)


@pytest.fixture(scope="module")
def laddered(tmp_path_factory: pytest.TempPathFactory, text_file: Path) -> dict[str, Any]:
    """The same with a two-rung ladder whose rung 1 continues from rung 0."""
    tmp = tmp_path_factory.mktemp("cal")
    (tmp / "ladder.yaml").write_text(LADDER)
    return calibrate(tmp / "ladder", text_file, "--config", str(tmp / "ladder.yaml"), genomes=3)


def _between(v: float | None) -> bool:
    return v is not None and -1 <= v <= 1


def test_a_smoke_calibration_ranks_the_baseline_among_its_genomes(
    plain: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    assert plain["genomes"] == len(plain["rows"]) == 4
    assert len({row["key"] for row in plain["rows"]}) == 4
    assert [row["baseline"] for row in plain["rows"]].count(True) == 1
    assert plain["reference_steps"] == 2 * plain["config"]["budget"]["steps"]
    (rung,) = plain["rungs"]
    assert rung["rung"] == 0 and rung["steps"] == plain["config"]["budget"]["steps"]
    assert _between(rung["kendall_tau"]) and _between(rung["spearman"])
    assert plain["kendall_tau"] == rung["kendall_tau"] and rung["n"] == 4
    assert 1 <= plain["baseline_rank_proxy"] <= 4 and 1 <= plain["baseline_rank_reference"] <= 4
    assert plain["seconds"]["reference"] > 0 and plain["seconds"]["proxy"] > 0
    assert len(plain["evaluations"]) == 8 and plain["data"]["sha256"]


def test_every_rung_reports_what_a_from_scratch_run_at_that_rung_gives(
    laddered: dict[str, Any],
) -> None:
    cfg = RunConfig.from_dict(laddered["config"])
    assert [r["steps"] for r in laddered["rungs"]] == [4, 8]
    assert all(len(row["proxy"]) == 2 and None not in row["proxy"] for row in laddered["rows"])
    assert laddered["kendall_tau"] == laddered["rungs"][1]["kendall_tau"]
    continued = [e for e in laddered["evaluations"] if e["rung"] == 1]
    assert all(e["timings"]["continued_from"] for e in continued)  # the ladder continued
    row = laddered["rows"][1]
    scratch = make_problem(cfg, laddered["data"]["sha256"]).evaluate(row["genome"], rung=1)
    assert scratch["metrics"]["val_loss"] == row["proxy"][1]


def test_the_reference_is_a_cosine_run_at_mult_times_the_steps(plain: dict[str, Any]) -> None:
    cfg = RunConfig.from_dict(plain["config"])
    budget = cfg.budget | {
        "steps": 2 * cfg.budget["steps"],
        "schedule": "cosine",
        "warmup_steps": None,
    }
    train_cfg = TrainConfig.from_dict(budget | {"seed": cfg.seed, "threads": 1, "device": "cpu"})
    row = plain["rows"][0]
    model_cfg = to_model_config(Genome.from_dict(row["genome"]), 256, cfg.space.seq_len)
    corpus = load_corpus(cfg.data, min_tokens=cfg.space.seq_len + 1)
    _, result = train(model_cfg, train_cfg, corpus, progress=False)
    assert result.val_loss == row["reference"]
    assert plain["reference_budget"] == train_cfg.to_dict()


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


SMALL_SPACE = (  # two distinct genomes: attention only, every other expressed gene pinned
    "space: {seq_len: 32, d_model: [16], n_layers: [1, 1], mixers: [attention], "
    "embeddings: [table], ffn_mult: [2.0, 2.0], spectral_share: [0.5, 0.5], n_bases: [2, 8], "
    "n_heads: [1, 2]}\n"
)


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--genomes", "1"], "--genomes 1"),
        (["--genomes", "1001"], "--genomes 1001"),
        (["--mult", "1"], "--mult 1"),
        (["--mult", "2.5"], "--mult"),
        (["--preset", "huge"], "invalid choice: 'huge'"),
        (["--data", "{tmp}/missing.txt"], "missing.txt"),
        (["--out", "{tmp}/full"], "not empty"),
        (["--out", "{tmp}/file"], "not a directory"),
        (["--config", "{tmp}/small.yaml", "--genomes", "5"], "distinct genomes"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_nothing_written(
    flags: list[str],
    message: str,
    tmp_path: Path,
    text_file: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep").write_text("x")
    _write(tmp_path / "file", "x")
    _write(tmp_path / "small.yaml", SMALL_SPACE)
    argv = ["calibrate", "--preset", "smoke", "--executor", "serial", "--data", str(text_file)]
    argv += ["--genomes", "4", "--mult", "2", "--out", str(tmp_path / "new")]
    argv += [f.format(tmp=tmp_path) for f in flags]  # a later flag overrides an earlier one
    before = sorted(p.name for p in tmp_path.iterdir())
    try:
        code = main(argv)
    except SystemExit as e:  # argparse's own errors
        code = int(e.code or 0)
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and message in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert [p.name for p in (tmp_path / "full").iterdir()] == ["keep"]


def test_a_machine_fault_is_exit_3_and_writes_nothing(
    tmp_path: Path,
    text_file: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def out_of_memory(self: Calibration, *args: object) -> dict[str, Any]:
        raise MemoryError

    monkeypatch.setattr(Calibration, "evaluate", out_of_memory)
    argv = ["calibrate", "--preset", "smoke", "--executor", "serial", "--data", str(text_file)]
    argv += ["--genomes", "2", "--mult", "2", "--out", str(tmp_path / "out")]
    assert main(argv) == 3
    assert "out of memory" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_on_ray_the_numbers_are_the_serial_ones(
    plain: dict[str, Any], tmp_path: Path, text_file: Path
) -> None:
    """Calibrate runs on Ray like a search, and where an evaluation runs changes nothing."""
    argv = ["calibrate", "--preset", "smoke", "--executor", "ray", "--data", str(text_file)]
    argv += ["--genomes", "4", "--mult", "2", "--out", str(tmp_path / "ray")]
    assert main(argv) == 0
    on_ray = json.loads((tmp_path / "ray" / CALIBRATION_JSON).read_text())
    assert [row["proxy"] for row in on_ray["rows"]] == [row["proxy"] for row in plain["rows"]]
    assert [row["reference"] for row in on_ray["rows"]] == [r["reference"] for r in plain["rows"]]
