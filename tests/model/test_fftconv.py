"""The causal FFT convolutions (and the Fourier mixer built on them) against naive O(T²) sums."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor

from model import ModelConfig
from model.mixers.fftconv import causal_conv, fft_size, gated_causal_conv
from model.mixers.fourier import FourierMixer


def naive_causal_conv(u: Tensor, h: Tensor) -> Tensor:
    """y[..., c, t] = Σ_{k <= t} h[c, k] u[..., c, t-k], one lag at a time."""
    y = torch.zeros_like(u)
    T = u.shape[-1]
    for k in range(min(h.shape[-1], T)):
        y[..., k:] += h[:, k, None] * u[..., : T - k]
    return y


@pytest.mark.parametrize(("T", "K"), [(16, 5), (16, 16), (7, 30), (33, 33), (1, 4)])
def test_causal_conv_equals_naive(T: int, K: int) -> None:
    u = torch.randn(3, 4, T, dtype=torch.float64)
    h = torch.randn(4, K, dtype=torch.float64)
    torch.testing.assert_close(causal_conv(u, h), naive_causal_conv(u, h))


def test_gated_causal_conv_equals_naive() -> None:
    u = torch.randn(2, 3, 20, dtype=torch.float64)
    h = torch.randn(4, 3, 9, dtype=torch.float64)
    w = torch.rand(2, 4, 20, dtype=torch.float64)
    expected = sum(w[:, b, None] * naive_causal_conv(u, h[b]) for b in range(4))
    torch.testing.assert_close(gated_causal_conv(u, h, w), expected)


def test_gradients_match_autograd_of_naive() -> None:
    """The hand-written backward passes, checked by finite differences (float64)."""
    u = torch.randn(2, 3, 10, dtype=torch.float64, requires_grad=True)
    h = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)
    hb = torch.randn(3, 3, 4, dtype=torch.float64, requires_grad=True)
    w = torch.rand(2, 3, 10, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(causal_conv, (u, h))
    assert torch.autograd.gradcheck(gated_causal_conv, (u, hb, w))


def test_fp32_under_bf16_autocast() -> None:
    """Under bf16 autocast the FFTs still run in fp32 (bf16 FFTs lose too much precision)."""
    u, h = torch.randn(2, 3, 64), torch.randn(3, 64)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = causal_conv(u.bfloat16(), h)
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, naive_causal_conv(u.bfloat16().float(), h))


def is_5_smooth(n: int) -> bool:
    for p in (2, 3, 5):
        while n % p == 0:
            n //= p
    return n == 1


def test_fft_size_is_the_smallest_5_smooth_length() -> None:
    for n in [*range(1, 400), 4169, 8191, 16457]:
        m = fft_size(n)
        assert m >= n and is_5_smooth(m)
        assert not any(is_5_smooth(k) for k in range(n, m))


def naive_fourier_mixer(mixer: FourierMixer, x: Tensor) -> Tensor:
    """The module docstring's maths: y = h ∗ v + d ⊙ v, out = (y ⊙ silu(g))·W_out."""
    T = x.shape[1]
    v, g = mixer.in_proj(x).chunk(2, dim=-1)
    h = mixer.filter[:, :T] * mixer.window[:, :T]
    y = naive_causal_conv(v.transpose(1, 2), h).transpose(1, 2) + mixer.skip * v
    return mixer.out_proj(y * F.silu(g))


def test_fourier_mixer_equals_naive() -> None:
    cfg = ModelConfig(
        vocab_size=8, seq_len=32, d_model=8, n_layers=1, mixer="fourier", harmonic_bases=4
    )
    mixer = FourierMixer(cfg, 0).double()
    for T in (32, 13):
        x = torch.randn(2, T, 8, dtype=torch.float64)
        with torch.no_grad():
            torch.testing.assert_close(mixer(x), naive_fourier_mixer(mixer, x))


def test_fourier_window_spans_every_time_scale() -> None:
    """Half-lives go from 1 token (first channel) to the whole context (last channel)."""
    cfg = ModelConfig(
        vocab_size=8, seq_len=64, d_model=8, n_layers=1, mixer="fourier", harmonic_bases=4
    )
    w = FourierMixer(cfg, 0).window  # (D, T)
    assert w[0, 1].item() == pytest.approx(0.5)
    assert w[-1, 63].item() == pytest.approx(2 ** (-63 / 64), rel=1e-5)  # half-life 64
