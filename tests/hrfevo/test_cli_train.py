"""`hrfevo train` and `hrfevo generate`: end to end, and every bad input exits 2 cleanly."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from hrfevo.cli import main
from model import ModelConfig, SpectralLM
from model.data import load_corpus
from model.train import evaluate

TINY = ModelConfig(
    vocab_size=256,
    seq_len=32,
    d_model=32,
    n_layers=2,
    mixer=["wavelet", "attention"],
    wavelet_levels=2,
)
FLAGS = ["--steps", "4", "--batch-size", "4", "--eval-tokens", "512", "--seed", "1"]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cli")


@pytest.fixture(scope="module")
def model_file(workdir: Path) -> Path:
    path = workdir / "model.json"
    path.write_text(json.dumps(TINY.to_dict()))
    return path


@pytest.fixture(scope="module")
def trained(workdir: Path, model_file: Path, text_file: Path) -> Path:
    out = workdir / "run"
    argv = ["train", "--model", str(model_file), "--data", str(text_file), "--out", str(out)]
    assert main([*argv, *FLAGS, "--threads", "1"]) == 0
    return out


def test_train_writes_metrics_and_loadable_weights(trained: Path, text_file: Path) -> None:
    assert sorted(p.name for p in trained.iterdir()) == [
        "README.md",
        "config.json",
        "metrics.json",
        "model.safetensors",
    ]
    metrics = json.loads((trained / "metrics.json").read_text())
    for key in (
        "val_loss",
        "perplexity",
        "bits_per_byte",
        "train_tokens",
        "tokens_per_second",
        "flops_per_token",
        "params",
        "seconds",
        "status",
        "split",
    ):
        assert key in metrics, key
    assert metrics["status"] == "ok" and metrics["steps_done"] == 4
    assert metrics["model"] == TINY.to_dict()
    assert metrics["train"]["seed"] == 1 and metrics["train"]["batch_size"] == 4
    assert metrics["split"]["corpus"] == str(text_file)
    model = SpectralLM.from_pretrained(trained).to(metrics["device"])  # "auto": CUDA if any
    corpus = load_corpus(str(text_file))
    again = evaluate(model, corpus.val, 512, 4)  # the weights saved
    if metrics["device"] == "cpu":
        assert again == metrics["val_loss"]
    else:  # the same bf16 forward, but CUDA kernels need not sum in one order
        assert again == pytest.approx(metrics["val_loss"], rel=1e-3)


def test_generate_prints_prompt_and_continuation(
    trained: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["generate", str(trained), "--prompt", "ROMEO:", "--max-new-tokens", "20"]
    assert main([*argv, "--seed", "3", "--top-k", "5"]) == 0
    first = capsys.readouterr().out
    assert first.startswith("ROMEO:")
    assert main([*argv, "--seed", "3", "--top-k", "5"]) == 0
    assert capsys.readouterr().out == first  # seeded
    assert main([*argv, "--temperature", "0"]) == 0
    assert capsys.readouterr().out.startswith("ROMEO:")


def test_a_diverged_run_exits_1_with_strict_json_metrics_and_no_weights(
    workdir: Path, model_file: Path, text_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = workdir / "diverged"
    argv = ["train", "--model", str(model_file), "--data", str(text_file), "--out", str(out)]
    assert main([*argv, "--steps", "40", "--batch-size", "2", "--lr", "1e4", "--threads", "1"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "diverged after" in err and "no weights written" in err, err
    assert sorted(p.name for p in out.iterdir()) == ["metrics.json"]
    text = (out / "metrics.json").read_text()
    assert "Infinity" not in text and "NaN" not in text
    metrics = json.loads(text)
    assert metrics["status"] == "diverged"
    assert metrics["val_loss"] is None and metrics["perplexity"] is None


def _tree(path: Path) -> dict[str, bytes]:
    return {str(p.relative_to(path)): p.read_bytes() for p in path.rglob("*") if p.is_file()}


def _expect_usage_error(argv: list[str], capsys: pytest.CaptureFixture[str], match: str) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert match in err, err


BAD_TRAIN = {
    "missing model file": (["--model", "{w}/nope.json"], "not found"),
    "malformed model JSON": (["--model", "{w}/broken.json"], "not valid JSON"),
    "unknown model field": (["--model", "{w}/unknown.json"], "unknown field(s) colour"),
    "unknown wavelet": (["--model", "{w}/badwavelet.json"], "ModelConfig.wavelet='db99'"),
    "missing data": (["--data", "{w}/nothing.txt"], "not found"),
    "empty data": (["--data", "{w}/empty.txt"], "is empty"),
    "data shorter than a window": (["--data", "{w}/short.txt"], "shorter than one context"),
    "undecodable data": (["--data", "{w}/binary.txt"], "not UTF-8"),
    "zero steps": (["--steps", "0"], "--steps 0"),
    "negative batch size": (["--batch-size", "-2"], "--batch-size -2"),
    "zero learning rate": (["--lr", "0"], "--lr 0.0"),
    "non-empty out": (["--out", "{w}/occupied"], "is not empty"),
    "out is a file": (["--out", "{w}/empty.txt"], "not a directory"),
    "cuda device not there": (  # one past the last visible device, GPUs or none
        ["--device", f"cuda:{torch.cuda.device_count()}"],
        f"--device cuda:{torch.cuda.device_count()}: {torch.cuda.device_count()} CUDA device(s)",
    ),
}


@pytest.fixture(scope="module")
def bad_inputs(workdir: Path) -> Path:
    bad = workdir / "bad"
    bad.mkdir()
    (bad / "broken.json").write_text('{"vocab_size": 256,')
    (bad / "unknown.json").write_text(json.dumps(TINY.to_dict() | {"colour": "red"}))
    (bad / "badwavelet.json").write_text(json.dumps(TINY.to_dict() | {"wavelet": "db99"}))
    (bad / "empty.txt").write_bytes(b"")
    (bad / "short.txt").write_text("too short for a 32-token window")
    (bad / "binary.txt").write_bytes(b"text then \xff\xfe\x00 bytes" * 100)
    (bad / "occupied").mkdir()
    (bad / "occupied" / "keep.txt").write_text("precious")
    return bad


@pytest.mark.parametrize("case", BAD_TRAIN)
def test_bad_train_input_exits_2_and_touches_nothing(
    case: str,
    bad_inputs: Path,
    model_file: Path,
    text_file: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    override, match = BAD_TRAIN[case]
    flags = dict(zip(FLAGS[::2], FLAGS[1::2], strict=True))
    flags |= {"--model": str(model_file), "--data": str(text_file), "--out": "{w}/out"}
    flags |= dict(zip(override[::2], override[1::2], strict=True))
    argv = ["train", *[x.format(w=bad_inputs) for pair in flags.items() for x in pair]]
    before = _tree(bad_inputs)
    _expect_usage_error(argv, capsys, match)
    assert _tree(bad_inputs) == before
    assert not (bad_inputs / "out").exists()


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        (["--prompt", ""], "--prompt must not be empty"),
        (["--max-new-tokens", "-1"], "--max-new-tokens -1"),
        (["--temperature", "-0.5"], "--temperature -0.5"),
        (["--top-k", "0"], "--top-k 0"),
    ],
)
def test_bad_generate_flags_exit_2(
    trained: Path, extra: list[str], match: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["generate", str(trained), "--prompt", "x", "--max-new-tokens", "3", *extra]
    _expect_usage_error(argv, capsys, match)


def test_generate_from_a_missing_or_broken_dir_exits_2(
    workdir: Path, trained: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flags = ["--prompt", "x", "--max-new-tokens", "3"]
    _expect_usage_error(["generate", str(workdir / "none"), *flags], capsys, "not found")
    broken = workdir / "broken_model"
    broken.mkdir()
    (broken / "config.json").write_text((trained / "config.json").read_text())
    _expect_usage_error(["generate", str(broken), *flags], capsys, "has no model.safetensors")
    (broken / "model.safetensors").write_bytes(b"not safetensors")
    _expect_usage_error(["generate", str(broken), *flags], capsys, "cannot be loaded")
    (broken / "config.json").write_text("{")
    _expect_usage_error(["generate", str(broken), *flags], capsys, "cannot be loaded")


def test_the_console_entry_point_exits_2_without_a_traceback(model_file: Path) -> None:
    argv = ["train", "--model", str(model_file), "--data", "/nonexistent/corpus.txt"]
    proc = subprocess.run(
        [sys.executable, "-m", "hrfevo", *argv, "--steps", "1", "--out", "/nonexistent/out"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert "not found" in proc.stderr
