"""Spectral FFN: (1-α)·MLP(x) + α·iFFT(W ⊙ FFT(x)), the FFT taken over the feature axis.

An FFT inside one token's feature vector never mixes positions, so this path is causal by
construction. W holds one learned complex weight per frequency bin (D/2 + 1 of them), which
makes the spectral path a learned circular convolution over features with D + 2 parameters.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from model.config import ModelConfig
from model.mixers.fftconv import fft_dtype, fft_flops


def hidden_width(d_model: int, ffn_mult: float) -> int:
    """The MLP's hidden width: nearby multipliers round to the same width (the same model)."""
    return max(1, round(ffn_mult * d_model))


class SpectralFFN(nn.Module):
    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        D, alpha = cfg.d_model, cfg.spectral_share
        self.d_model, self.alpha = D, alpha
        self.hidden = hidden_width(D, cfg.ffn_mult)
        # A path whose share is zero is not built, so it costs neither parameters nor FLOPs.
        self.mlp = (
            nn.Sequential(nn.Linear(D, self.hidden), nn.GELU(), nn.Linear(self.hidden, D))
            if alpha < 1
            else None
        )
        # W as (D/2+1, 2) real pairs, initialised to 1 + 0i (the identity) plus a little noise.
        w = torch.zeros(D // 2 + 1, 2)
        w[:, 0] = 1.0
        self.freq_weight = nn.Parameter(w + 0.02 * torch.randn_like(w)) if alpha > 0 else None

    @classmethod
    def parameter_count(cls, cfg: ModelConfig) -> int:
        """Parameters of `SpectralFFN(cfg)`, counted without building it (`model.memory`)."""
        D, H = cfg.d_model, hidden_width(cfg.d_model, cfg.ffn_mult)
        mlp = 2 * D * H + H + D if cfg.spectral_share < 1 else 0
        spectral = 2 * (D // 2 + 1) if cfg.spectral_share > 0 else 0
        return mlp + spectral

    @classmethod
    def activations_per_token(cls, cfg: ModelConfig) -> int:
        """Floats per token that the backward pass keeps (measured, see `model.memory`)."""
        return 2 * hidden_width(cfg.d_model, cfg.ffn_mult)

    def spectral(self, x: Tensor) -> Tensor:
        """iFFT(W ⊙ FFT(x)) over the feature axis, in fp32 even under autocast."""
        assert self.freq_weight is not None
        with torch.autocast(x.device.type, enabled=False):
            X = torch.fft.rfft(x.to(fft_dtype(x)), dim=-1)  # (B, T, D/2+1)
            s = torch.fft.irfft(
                X * torch.view_as_complex(self.freq_weight.to(X.real.dtype)), n=self.d_model
            )
        return s.to(x.dtype)

    def forward(self, x: Tensor) -> Tensor:
        if self.mlp is None:  # α = 1
            return self.spectral(x)
        if self.freq_weight is None:  # α = 0
            return self.mlp(x)
        return (1 - self.alpha) * self.mlp(x) + self.alpha * self.spectral(x)

    def flops_per_token(self) -> float:
        D = self.d_model
        mlp = 2 * 2 * D * self.hidden if self.mlp is not None else 0
        spectral = 2 * fft_flops(D) + 6 * (D // 2 + 1) if self.freq_weight is not None else 0
        return mlp + spectral
