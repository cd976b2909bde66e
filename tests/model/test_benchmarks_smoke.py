"""The benchmark scripts still run, in their smallest mode, so they do not rot between reports."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import torch

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCHMARKS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_mixers_benchmark_quick(tmp_path: Path) -> None:
    out = tmp_path / "mixers.md"
    threads = torch.get_num_threads()
    try:
        args = ["--quick", "--tokens", "512", "--threads", "1", "--out", str(out)]
        assert load("mixers").main(args) == out
    finally:
        torch.set_num_threads(threads)
    text = out.read_text()
    assert "## Targets" in text and "- CPU: " in text
    for name in ("attention", "fourier", "wavelet-sum", "wavelet-gate"):
        assert name in text
    assert "| 1024 |" in text and "not measured" in text  # --quick skips 4096


def test_embeddings_benchmark_quick(tmp_path: Path) -> None:
    out = tmp_path / "embeddings.md"
    assert load("embeddings").main(["--quick", "--out", str(out)]) == out
    text = out.read_text()
    assert "| 1,000 | 16 | spectral | 16,032 |" in text  # V·B + 2·B
    assert "| 1,000 | - | table | 768,000 |" in text  # V·D
