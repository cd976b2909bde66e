"""The benchmark scripts still run, in their smallest mode, so they do not rot between reports."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch

from benchmarks import embeddings, frontier, mixers, strategies


def test_mixers_benchmark_quick(tmp_path: Path) -> None:
    out = tmp_path / "mixers.md"
    threads = torch.get_num_threads()
    try:
        args = ["--quick", "--tokens", "512", "--threads", "1", "--out", str(out)]
        assert mixers.main(args) == out
    finally:
        torch.set_num_threads(threads)
    text = out.read_text()
    assert "## Targets" in text and "- CPU: " in text
    for name in ("attention", "fourier", "wavelet-sum", "wavelet-gate"):
        assert name in text
    assert "| 1024 |" in text and "not measured" in text  # --quick skips 4096


def test_embeddings_benchmark_quick(tmp_path: Path) -> None:
    out = tmp_path / "embeddings.md"
    assert embeddings.main(["--quick", "--out", str(out)]) == out
    text = out.read_text()
    assert "| 1,000 | 16 | spectral | 16,032 |" in text  # V·B + 2·B
    assert "| 1,000 | - | table | 768,000 |" in text  # V·D


def test_strategies_benchmark_quick(tmp_path: Path) -> None:
    out = tmp_path / "strategies.md"
    arms = ["random", "nsga2", "tpe", "optuna-nsga2", "nsga2+ladder"]
    argv = ["--quick", "--seeds", "0", "--arms", *arms, "--workers", "1"]
    strategies.main([*argv, "--work", str(tmp_path / "runs"), "--out", str(out)])
    text = out.read_text()
    for arm in arms[:-1]:
        assert f"| {arm} | " in text
    assert "through the ladder" in text and out.with_suffix(".png").stat().st_size > 0


def test_frontier_benchmark_quick(
    tmp_path: Path, text_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "frontier.md"
    argv = ["--quick", "--data", str(text_file), "--workers", "1", "--executor", "serial"]
    argv += ["--out", str(out)]
    assert frontier.main(argv) == out
    text = out.read_text()
    for part in ("## Verdict", "## Context 64", "## Context 128", "## The seeds' claims"):
        assert part in text
    for row in ("| **F1** | front |", "| ladder |", "| **SpectralLLM** |", "| **SignalLLM** |"):
        assert row in text
    assert "beyond seed noise" in text or "within seed noise" in text  # second seeds trained
    # every model's recall, state and latency, and whether the winners lose on recall
    assert "| state/sequence | recall | latency (ms) |" in text
    measured = r"\| [\d.]+ [KM]?B \| \d\.\d\d \| \d+\.\d\d \|"  # state, recall, latency
    assert re.search(r"\| \*\*SpectralLLM\*\* \|[^\n]* " + measured, text)
    assert "- Recall at context 64 (MQAR, 2 pairs, T 64;" in text
    assert "the ladder's transformers 0." in text
    assert out.with_suffix(".png").stat().st_size > 0
    assert "## Scale" not in text  # the scale stage runs when asked, not by default
    assert frontier.main([*argv, "--stage", "scale"]) == out  # at its default points
    scaled = out.read_text()
    for part in ("## Scale", "### Context 64", "### Context 128", "**Cost.**", "**Larger.**"):
        assert part in scaled
    for point in ("×2 width, ×2 tokens", "×1 width, ×2 tokens", "×1 width, ×4 tokens"):
        assert f"| gap, {point} (2 seeds) |" in scaled
    assert "| inference state, study → ×2 width, ×2 tokens |" in scaled
    verdicts = "held|flipped|fell into noise|rose out of noise|stayed in noise"
    assert re.search(rf"\| [+-]\d\.\d{{4}} \(\d\.\d{{4}}\), ({verdicts})", scaled)
    assert re.search(r"\| ×2 width, ×2 tokens \| all \| \d+ \| ([+-]\d|—)", scaled)  # τ, ρ
    assert "one GPU: not measured" in scaled
    assert "--scale-width 2 --scale-tokens 2 --token-factors 2 4 --scale-seeds 2" in scaled
    cached = out.with_suffix(".json").read_text()
    probed = frontier.frontier_recall.cache_of(out).path.read_text()

    def untrained(*args: object, **kwargs: object) -> None:
        raise AssertionError("a rerun retrained a model its cache holds")

    # resumed: every result comes from the cache, the scale stage's too
    monkeypatch.setattr(frontier.frontier_train, "train", untrained)
    monkeypatch.setattr(frontier.frontier_recall, "recall_accuracy", untrained)
    assert frontier.main([*argv, "--scale-width", "2"]) == out
    assert out.with_suffix(".json").read_text() == cached
    assert frontier.frontier_recall.cache_of(out).path.read_text() == probed
    with pytest.raises(SystemExit) as bad:  # the seeds' db4 cascade needs 56 tokens
        frontier.main([*argv[:-1], str(tmp_path / "bad.md"), "--contexts", "32"])
    assert bad.value.code == 2 and not (tmp_path / "bad.md").exists()
