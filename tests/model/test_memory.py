"""`model.memory`: the parameter count is the built model's, and the estimate refuses what
cannot fit without allocating it."""

from __future__ import annotations

import itertools

import pytest
import torch

from model import MIXERS, ModelConfig, SpectralLM, memory_problem, training_bytes
from model.memory import describe_bytes, parameters


@pytest.mark.parametrize(
    ("mixer", "embedding", "band_mixing", "spectral_share", "tie_head"),
    list(
        itertools.product(
            [*MIXERS, list(MIXERS)],  # each mixer alone, and one layer of each
            ["table", "spectral", "hybrid"],
            ["sum", "gate"],
            [0.0, 0.3, 1.0],
            [True, False],
        )
    ),
)
def test_parameters_match_the_model_as_built(
    mixer: str | list[str], embedding: str, band_mixing: str, spectral_share: float, tie_head: bool
) -> None:
    cfg = ModelConfig(
        vocab_size=256,
        seq_len=48,
        d_model=32,
        n_layers=len(mixer) if isinstance(mixer, list) else 2,
        mixer=mixer,
        embedding=embedding,
        band_mixing=band_mixing,
        spectral_share=spectral_share,
        tie_head=tie_head,
        harmonic_bases=8,
        wavelet_levels=2,
        ffn_mult=2.5,
    )
    assert parameters(cfg) == SpectralLM(cfg).num_parameters()


def test_the_estimate_grows_with_the_batch_and_refuses_what_cannot_fit() -> None:
    cfg = ModelConfig(vocab_size=256, seq_len=64, d_model=64, n_layers=2)
    small, large = training_bytes(cfg, 1), training_bytes(cfg, 64)
    assert 0 < small < large
    # 64 sequences of 64 tokens hold about 64·64·(30·64·2 + 4·256) floats: tens of megabytes
    assert 10e6 < large < 200e6
    cpu = torch.device("cpu")
    assert memory_problem(cfg, 16, cpu) is None
    why = memory_problem(cfg, 10**9, cpu)
    assert why is not None and why.startswith("training needs about ") and "TB" in why
    widest = ModelConfig(vocab_size=256, seq_len=64, d_model=2**14, n_layers=256)  # never built
    assert memory_problem(widest, 1, cpu) is not None  # about 13 TB


def test_bytes_read_as_people_write_them() -> None:
    assert describe_bytes(512) == "512 B"
    assert describe_bytes(3.1e9) == "3.1 GB"
    assert describe_bytes(4.3e13) == "43 TB"
