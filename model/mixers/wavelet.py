"""Wavelet mixer: causal multi-level wavelet analysis, per-band filters, causal recombination.

    v, g   = x·W_in                              (B, T, D) each
    band_b = k_b ⊛ (f_b ∗ v)   b = d_1..d_J, a_J
    y      = Σ_b w_b ⊙ band_b + d ⊙ v
    out    = (y ⊙ silu(g))·W_out

f_b is the fixed causal à trous filter of band b for the genome's PyWavelets bank (wavelets.py);
k_b is a learned per-channel causal kernel of BAND_TAPS taps dilated by 2^b, the band's scale.
band_mixing "sum" takes w_b = 1; "gate" takes w = softmax(x·W_gate), a per-token choice of
resolution (the seeds' "per-level attention", made causal).

Everything before the gate is linear and shift-invariant, so each band's whole path is one
causal filter k_b ⊛ f_b = Σ_m k_b[m]·f_b delayed by m·2^b taps. The delayed copies of f_b are
precomputed (`band_kernels`), so building every channel's filters is one small matmul over a
few dozen taps, and applying them is one causal FFT convolution ("sum": the bands add up to a
single filter) or one shared rfft plus J+1 inverse FFTs ("gate"): about the cost of the
Fourier mixer, however deep the cascade.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from model.mixers.base import Mixer
from model.mixers.fftconv import (
    causal_conv,
    fft_flops,
    fft_size,
    filter_spectrum_floats,
    gated_causal_conv,
)
from model.wavelets import band_filters

if TYPE_CHECKING:  # at run time the config imports the mixers (MIXERS), not the reverse
    from model.config import ModelConfig

BAND_TAPS = 4  # taps of each band's learned kernel (at the band's dilation)


def band_kernels(wavelet: str, levels: int, seq_len: int) -> Tensor:
    """(J+1, BAND_TAPS, K) float64: band b's filter f_b delayed by m·2^b taps, for m < BAND_TAPS.

    Bands are ordered [d_1, ..., d_J, a_J] as in `band_filters`. Filters are cut at seq_len taps
    (longer lags never reach an output) and zero-padded on the right to a common length K.
    """
    delayed = [
        np.concatenate([np.zeros(m * 2**b), f])[:seq_len]
        for b, f in enumerate(band_filters(wavelet, levels))
        for m in range(BAND_TAPS)
    ]
    K = max(len(f) for f in delayed)
    out = np.stack([np.pad(f, (0, K - len(f))) for f in delayed])
    return torch.from_numpy(out).view(levels + 1, BAND_TAPS, K)


def filter_taps(wavelet: str, levels: int, seq_len: int) -> int:
    """K: the taps of the longest band's whole filter, as `band_kernels` builds it."""
    longest = max(
        len(f) + (BAND_TAPS - 1) * 2**b for b, f in enumerate(band_filters(wavelet, levels))
    )
    return min(longest, seq_len)


class WaveletMixer(Mixer):
    spectral = True
    kernels: Tensor  # (J+1, BAND_TAPS, K) buffer, from band_kernels

    def __init__(self, cfg: ModelConfig, layer: int) -> None:
        super().__init__()
        D, J = cfg.d_model, cfg.wavelet_levels
        self.seq_len, self.n_bands, self.gated = cfg.seq_len, J + 1, cfg.band_mixing == "gate"
        self.in_proj = nn.Linear(D, 2 * D, bias=False)
        self.out_proj = nn.Linear(D, D, bias=False)
        kernels = band_kernels(cfg.wavelet, J, cfg.seq_len).float()
        self.register_buffer("kernels", kernels, persistent=False)
        # Unit gain at init: J+1 bands of orthonormal filters, BAND_TAPS taps each.
        self.taps = nn.Parameter(torch.randn(J + 1, D, BAND_TAPS) / math.sqrt((J + 1) * BAND_TAPS))
        self.skip = nn.Parameter(torch.ones(D))
        # SpectralLM's N(0, 0.02) init makes the gate's logits small: near-equal band weights.
        self.band_gate = nn.Linear(D, J + 1) if self.gated else None

    def band_responses(self) -> Tensor:
        """Each band's whole causal filter k_b ⊛ f_b for every channel: (J+1, D, K) taps."""
        return torch.bmm(self.taps, self.kernels.to(self.taps.dtype))

    def forward(self, x: Tensor) -> Tensor:
        v, g = self.in_proj(x).chunk(2, dim=-1)  # (B, T, D) each
        h = self.band_responses()  # (J+1, D, K)
        u = v.transpose(1, 2)  # (B, D, T)
        if self.band_gate is None:
            y = causal_conv(u, h.sum(0))  # the bands add up to one filter: (B, D, T)
        else:
            w = F.softmax(self.band_gate(x).float(), dim=-1)  # (B, T, J+1)
            y = gated_causal_conv(u, h, w.transpose(1, 2))  # (B, D, T)
        y = y.transpose(1, 2).to(v.dtype) + self.skip * v
        return self.out_proj(y * F.silu(g))

    def flops_per_token(self) -> float:
        D, T, nb = self.skip.shape[0], self.seq_len, self.n_bands
        K = self.kernels.shape[-1]
        n_fft = fft_size(T + K - 1)  # as in causal_conv
        n_freq, n_out = n_fft // 2 + 1, nb if self.gated else 1
        proj = 2 * D * (2 * D) + 2 * D * D + (2 * D * nb if self.gated else 0)
        # Per sequence (filters count as once per sequence, a batch of one): filter synthesis
        # (J+1 bands × BAND_TAPS taps × K lags), the rfft of the n_out filters and of v, one
        # inverse FFT per output band, 6 FLOPs per complex product bin, and the gated sum.
        synth = 2 * nb * D * BAND_TAPS * K
        spectral = D * ((1 + 2 * n_out) * fft_flops(n_fft) + 6 * n_out * n_freq)
        recombine = (2 * nb - 1) * D * T if self.gated else 0  # nb products, nb-1 sums
        return proj + (synth + spectral + recombine) / T

    @classmethod
    def parameter_count(cls, cfg: ModelConfig, layer: int) -> int:
        D, nb = cfg.d_model, cfg.wavelet_levels + 1
        gate = (D + 1) * nb if cfg.band_mixing == "gate" else 0  # band_gate
        return 3 * D * D + nb * D * BAND_TAPS + D + gate  # projections, band taps, skip

    @classmethod
    def floats_per_step(cls, cfg: ModelConfig, layer: int) -> int:
        # The band filters' spectrum (K <= seq_len taps); the kernels buffer is not counted.
        return filter_spectrum_floats(cfg.d_model, cfg.seq_len)

    @classmethod
    def activations_per_token(cls, cfg: ModelConfig, layer: int) -> int:
        # Gated, each of the J+1 bands is kept for backward (measured: 2·D floats per band).
        return 2 * cfg.d_model * (cfg.wavelet_levels + 1) if cfg.band_mixing == "gate" else 0

    @classmethod
    def state_floats(cls, cfg: ModelConfig, layer: int) -> int:
        # v of the K-1 earlier tokens that the longest band's whole filter reaches (K taps, at
        # most seq_len): the cascade's receptive field, finite however long the context.
        return (filter_taps(cfg.wavelet, cfg.wavelet_levels, cfg.seq_len) - 1) * cfg.d_model
