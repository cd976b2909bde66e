"""`model.speed`: a token's generation latency is one full-context forward pass, timed."""

from __future__ import annotations

import pytest
import torch

from model import ModelConfig, SpectralLM
from model.speed import generation_latency


def test_latency_is_positive_and_leaves_the_model_as_it_was(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    model = SpectralLM(
        ModelConfig(vocab_size=256, seq_len=32, d_model=16, n_layers=1, mixer="fourier")
    )
    model.train()
    seen: list[tuple[int, ...]] = []
    forward = model.forward
    monkeypatch.setattr(model, "forward", lambda x: seen.append(tuple(x.shape)) or forward(x))
    median, spread = generation_latency(model, threads=1, warmup=2, repeats=5)
    assert median > 0 and spread >= 0
    assert seen == [(1, 32)] * 7  # batch 1, the full context, warm-up included
    assert model.training and torch.get_num_threads() >= 1
