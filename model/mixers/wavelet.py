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
causal filter k_b ⊛ f_b. Its spectrum is Σ_m k_b[m]·G_b[m] with G_b[m] = F_b(ω)·e^{-iω·m·2^b}
precomputed once, so building the filters is a single small matmul, and applying them is one
causal FFT convolution ("sum") or one rfft plus J+1 inverse FFTs ("gate"): about the cost of
the Fourier mixer, however deep the cascade.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from model.config import ModelConfig
from model.mixers.base import Mixer
from model.mixers.fftconv import causal_inverse, fft_dtype, fft_flops, padded_rfft
from model.wavelets import band_filters

BAND_TAPS = 4  # taps of each band's learned kernel (at the band's dilation)


def band_spectra(wavelet: str, levels: int, seq_len: int) -> tuple[Tensor, int]:
    """G: (J+1, BAND_TAPS, n_freq) complex spectra of each band filter delayed by m·2^b taps.

    Filters are cut at seq_len taps (longer lags never reach an output), and n_fft covers
    T + K - 1 so the FFT convolution is linear, i.e. causal, on the first T outputs.
    """
    filters = []
    for b, f in enumerate(band_filters(wavelet, levels)):
        for m in range(BAND_TAPS):
            filters.append(np.concatenate([np.zeros(m * 2**b), f])[:seq_len])
    K = max(len(f) for f in filters)
    n_fft = 1 << math.ceil(math.log2(seq_len + K - 1))
    G = np.stack([np.fft.rfft(f, n=n_fft) for f in filters])
    return torch.from_numpy(G).to(torch.complex64).view(levels + 1, BAND_TAPS, -1), n_fft


class WaveletMixer(Mixer):
    spectra: Tensor  # (J+1, BAND_TAPS, 2·n_freq) buffer

    def __init__(self, cfg: ModelConfig, layer: int) -> None:
        super().__init__()
        D, J = cfg.d_model, cfg.wavelet_levels
        self.seq_len, self.n_bands, self.gated = cfg.seq_len, J + 1, cfg.band_mixing == "gate"
        self.in_proj = nn.Linear(D, 2 * D, bias=False)
        self.out_proj = nn.Linear(D, D, bias=False)
        G, self.n_fft = band_spectra(cfg.wavelet, J, cfg.seq_len)
        # Stored as real (J+1, BAND_TAPS, 2·n_freq) so filter synthesis is one real matmul.
        self.register_buffer("spectra", torch.view_as_real(G).flatten(-2), persistent=False)
        # Unit gain at init: J+1 bands of orthonormal filters, BAND_TAPS taps each.
        self.taps = nn.Parameter(torch.randn(J + 1, D, BAND_TAPS) / math.sqrt((J + 1) * BAND_TAPS))
        self.skip = nn.Parameter(torch.ones(D))
        self.band_gate = nn.Linear(D, J + 1) if self.gated else None
        if self.band_gate is not None:
            nn.init.zeros_(self.band_gate.weight)  # start with equal weight on every band
            nn.init.zeros_(self.band_gate.bias)

    def band_responses(self) -> Tensor:
        """H_b(ω) for every band and channel: (J+1, D, n_freq) complex."""
        with torch.autocast(self.taps.device.type, enabled=False):
            H = torch.bmm(
                self.taps.to(fft_dtype(self.taps)), self.spectra.to(fft_dtype(self.taps))
            )  # (J+1, D, 2·n_freq)
        return torch.view_as_complex(H.view(*H.shape[:2], -1, 2))

    def forward(self, x: Tensor) -> Tensor:
        v, g = self.in_proj(x).chunk(2, dim=-1)  # (B, T, D) each
        T = x.shape[1]
        H = self.band_responses()  # (J+1, D, n_freq)
        U = padded_rfft(v.transpose(1, 2), self.n_fft)  # (B, D, n_freq)
        if self.band_gate is None:
            y = causal_inverse(U * H.sum(0), self.n_fft, T)  # (B, D, T)
        else:
            w = F.softmax(self.band_gate(x).float(), dim=-1)  # (B, T, J+1)
            # One band at a time: a (B, J+1, D, n_freq) broadcast product is ~5x slower on CPU.
            # unbind (not indexing) keeps the backward from zero-filling all of H for each band.
            y = sum(  # type: ignore[assignment]
                causal_inverse(U * H_b, self.n_fft, T) * w_b.unsqueeze(1)  # (B, D, T)
                for H_b, w_b in zip(H.unbind(0), w.unbind(-1), strict=True)
            )
        y = y.transpose(1, 2).to(v.dtype) + self.skip * v
        return self.out_proj(y * F.silu(g))

    def flops_per_token(self) -> float:
        D, T, nb = self.skip.shape[0], self.seq_len, self.n_bands
        n_freq = self.n_fft // 2 + 1
        proj = 2 * D * (2 * D) + 2 * D * D + (2 * D * nb if self.gated else 0)
        # Per sequence: filter synthesis (a real matmul over J+1 bands × BAND_TAPS taps), one
        # rfft of v, one inverse FFT per output band, 6 FLOPs per complex product bin.
        synth = 2 * nb * D * BAND_TAPS * 2 * n_freq
        n_out = nb if self.gated else 1
        spectral = D * ((1 + n_out) * fft_flops(self.n_fft) + 6 * n_out * n_freq)
        recombine = 2 * nb * D * T if self.gated else 0  # Σ_b w_b ⊙ band_b
        return proj + (synth + spectral + recombine) / T
