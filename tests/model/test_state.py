"""Inference state: each mixer's `state_floats` is what its measured receptive field needs.

The receptive field is measured, not read from the code: the gradient of one layer's last
output with respect to every input position, in float64, is nonzero exactly at the positions
that output reads. Generating one more token then needs the inputs of every earlier position
in that field (a convolution keeps them as its input history), or for attention a key and a
value of each (the KV cache): the state each mixer states it keeps.
"""

from __future__ import annotations

import pytest
import torch

from model import MIXERS, ModelConfig, state_bytes
from model.mixers.wavelet import filter_taps

CASES = [
    ("attention", {}),
    ("fourier", {}),
    ("wavelet", {"wavelet": "haar", "wavelet_levels": 1}),  # a short cascade: K = 8 taps
    ("wavelet", {"wavelet": "db4", "wavelet_levels": 3, "band_mixing": "gate"}),  # K = 74
    ("wavelet", {"wavelet": "haar", "wavelet_levels": 6}),  # reaches the whole context: K = T
]


def receptive_field(cfg: ModelConfig, mixer: str) -> int:
    """How many positions, ending at the last, the last position's output depends on."""
    torch.manual_seed(0)
    layer = MIXERS[mixer](cfg, 0).double()
    x = torch.randn(1, cfg.seq_len, cfg.d_model, dtype=torch.float64, requires_grad=True)
    layer(x)[0, -1].square().sum().backward()
    assert x.grad is not None
    reach = x.grad[0].abs().amax(dim=1)  # (T,)
    read = torch.nonzero(reach > 1e-12 * reach.max()).flatten()
    return cfg.seq_len - int(read.min())


@pytest.mark.parametrize(("mixer", "genes"), CASES)
def test_the_stated_state_is_what_the_measured_receptive_field_needs(
    mixer: str, genes: dict
) -> None:
    cfg = ModelConfig(
        vocab_size=256, seq_len=96, d_model=8, n_layers=1, harmonic_bases=4, mixer=mixer, **genes
    )
    field = receptive_field(cfg, mixer)
    per_token = 2 * cfg.d_model if mixer == "attention" else cfg.d_model  # K and V, or v
    assert MIXERS[mixer].state_floats(cfg, 0) == (field - 1) * per_token
    if mixer == "wavelet":
        assert field == filter_taps(cfg.wavelet, cfg.wavelet_levels, cfg.seq_len)


def test_a_short_cascade_keeps_less_than_the_context_and_attention_keeps_it_all() -> None:
    def cfg(mixer: str, **genes: object) -> ModelConfig:
        return ModelConfig(
            vocab_size=256, seq_len=256, d_model=64, n_layers=2, mixer=mixer, **genes
        )

    attention, fourier = state_bytes(cfg("attention")), state_bytes(cfg("fourier"))
    haar = state_bytes(cfg("wavelet", wavelet="haar", wavelet_levels=2))
    assert attention == 4 * 2 * 2 * 255 * 64  # fp32 · layers · K and V · earlier tokens · D
    assert fourier == attention // 2
    assert 0 < haar < fourier // 10  # haar at 2 levels reaches 10 taps, not 256
