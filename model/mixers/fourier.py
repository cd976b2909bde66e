"""Fourier mixer: a data-dependent gated causal long convolution, by FFT in O(T log T).

    v, g = x·W_in                         (B, T, D) each
    y    = h ∗ v + d ⊙ v                  per channel, h: (D, T) causal taps
    out  = (y ⊙ silu(g))·W_out

The gate g makes the mixer data-dependent (as in H3 and Hyena); the filter h is explicit,
times a fixed exponential decay window whose half-life is spread log-uniformly over channels
from 1 token to the whole context, so every time scale is covered from the start.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from model.mixers.base import Mixer
from model.mixers.fftconv import causal_conv, fft_flops, fft_size, filter_spectrum_floats

if TYPE_CHECKING:  # at run time the config imports the mixers (MIXERS), not the reverse
    from model.config import ModelConfig


class FourierMixer(Mixer):
    spectral = True
    window: Tensor  # (D, T) buffer

    def __init__(self, cfg: ModelConfig, layer: int) -> None:
        super().__init__()
        D, T = cfg.d_model, cfg.seq_len
        self.seq_len = T
        self.in_proj = nn.Linear(D, 2 * D, bias=False)
        self.out_proj = nn.Linear(D, D, bias=False)
        half_life = torch.logspace(0, math.log10(T), D)  # (D,) tokens
        t = torch.arange(T, dtype=torch.float32)
        window = torch.exp(-math.log(2) * t / half_life[:, None])  # (D, T)
        self.register_buffer("window", window, persistent=False)
        # Unit gain at init: Σ_k (window_k · N(0, σ²)) has variance 1 when σ = 1/||window||.
        self.filter = nn.Parameter(torch.randn(D, T) / window.norm(dim=1, keepdim=True))
        self.skip = nn.Parameter(torch.ones(D))

    def forward(self, x: Tensor) -> Tensor:
        T = x.shape[1]
        v, g = self.in_proj(x).chunk(2, dim=-1)  # (B, T, D) each
        h = self.filter[:, :T] * self.window[:, :T]  # (D, T): taps beyond T never reach an output
        y = causal_conv(v.transpose(1, 2), h).transpose(1, 2)  # (B, T, D)
        y = y.to(v.dtype) + self.skip * v
        return self.out_proj(y * F.silu(g))

    def flops_per_token(self) -> float:
        D, T = self.skip.shape[0], self.seq_len
        n_fft = fft_size(2 * T - 1)  # as in causal_conv: T + K - 1 for a filter of K = T taps
        proj = 2 * D * (2 * D) + 2 * D * D  # in_proj and out_proj
        # Per sequence: rfft of v, irfft of the product, and the filter's rfft; 6 FLOPs per
        # complex product bin. The filter transform is once per sequence (batch of one).
        spectral = D * (3 * fft_flops(n_fft) + 6 * (n_fft // 2 + 1)) / T
        return proj + spectral

    @classmethod
    def parameter_count(cls, cfg: ModelConfig, layer: int) -> int:
        D = cfg.d_model
        return 3 * D * D + D * cfg.seq_len + D  # in/out projections, filter, skip

    @classmethod
    def floats_per_step(cls, cfg: ModelConfig, layer: int) -> int:
        D, T = cfg.d_model, cfg.seq_len
        return D * T + filter_spectrum_floats(D, T)  # the window, the filter's spectrum

    @classmethod
    def activations_per_token(cls, cfg: ModelConfig, layer: int) -> int:
        return 0

    @classmethod
    def state_floats(cls, cfg: ModelConfig, layer: int) -> int:
        return (cfg.seq_len - 1) * cfg.d_model  # v of every earlier token: the filter spans T
