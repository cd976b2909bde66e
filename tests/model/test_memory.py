"""`model.memory`: the parameter count is the built model's, the estimate refuses what cannot
fit without allocating it, and every per-mixer fact in it comes from the mixer itself."""

from __future__ import annotations

import inspect
import itertools

import pytest
import torch

import model.memory
from model import MIXERS, ModelConfig, SpectralLM, memory_problem, training_bytes
from model.memory import activations_per_token, describe_bytes, parameters


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


# What each mixer fact is shifted by, per unit of layer index, to see it reach the estimate.
SHIFTS = {"parameter_count": 1000, "floats_per_step": 100, "activations_per_token": 1}


def small(mixer: str | list[str], band_mixing: str = "sum") -> ModelConfig:
    return ModelConfig(
        vocab_size=256,
        seq_len=48,
        d_model=32,
        n_layers=3,
        mixer=mixer,
        wavelet_levels=2,
        band_mixing=band_mixing,
        harmonic_bases=8,
    )


@pytest.mark.parametrize("band_mixing", ["sum", "gate"])
@pytest.mark.parametrize("name", list(MIXERS))
def test_each_mixer_counts_its_own_parameters(name: str, band_mixing: str) -> None:
    cfg, mixer = small(name, band_mixing), MIXERS[name]
    built = sum(p.numel() for p in mixer(cfg, 1).parameters())
    assert mixer.parameter_count(cfg, 1) == built


@pytest.mark.parametrize("name", list(MIXERS))
def test_the_estimate_takes_each_mixer_s_share_from_the_mixer(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Shifting what one mixer reports shifts the estimate by exactly that, layer by layer: a
    formula for that mixer kept in model.memory instead would not move."""
    other = next(m for m in MIXERS if m != name)
    cfg = small([other, name, name])  # layers 1 and 2 hold the mixer: shifts of 1 + 2 steps
    before = parameters(cfg), activations_per_token(cfg), training_bytes(cfg, 5)
    cls = MIXERS[name]
    for fact, step in SHIFTS.items():
        reported = getattr(cls, fact)
        shifted = classmethod(lambda c, cfg, layer, f=reported, d=step: f(cfg, layer) + d * layer)
        monkeypatch.setattr(cls, fact, shifted)
    dP, dS, dA = (3 * step for step in SHIFTS.values())
    assert parameters(cfg) == before[0] + dP
    assert activations_per_token(cfg) == before[1] + dA
    tokens = 5 * cfg.seq_len
    assert training_bytes(cfg, 5) == before[2] + 16 * dP + 4 * dS + tokens * 4 * dA


def test_model_memory_names_no_mixer() -> None:
    """Adding a mixer is its file and a MIXERS line: model.memory has no line to add."""
    source = inspect.getsource(model.memory).lower()
    for name, cls in MIXERS.items():
        assert name.lower() not in source and cls.__name__.lower() not in source


@pytest.mark.parametrize("name", list(MIXERS))
def test_each_mixer_states_every_fact_it_owes(name: str) -> None:
    """The base's abstract methods are overridden, and `spectral` is set, in the mixer itself."""
    cls = MIXERS[name]
    assert not inspect.isabstract(cls)
    assert isinstance(cls.__dict__.get("spectral"), bool)
