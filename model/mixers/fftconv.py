"""Causal long convolution by FFT, shared by the Fourier and wavelet mixers.

A product of FFTs is a *circular* convolution: with no padding, the first outputs would wrap
around and read the last inputs, i.e. the future. Zero-padding to n_fft >= T + K - 1 (for a
filter of K taps) makes the circular convolution equal the linear one on the first T outputs,
which are exactly the causal ones: y[t] = Σ_{k<=t} h[k] u[t-k].
"""

from __future__ import annotations

import math

import torch
from torch import Tensor


def fft_flops(n: int) -> float:
    """FLOPs of one real FFT (or inverse) of length n: the standard 2.5·n·log2(n) estimate."""
    return 2.5 * n * math.log2(n)


def fft_dtype(t: Tensor) -> torch.dtype:
    """fp32 for half-precision inputs (bf16 FFTs lose too much precision), else t's own dtype."""
    return torch.promote_types(t.dtype, torch.float32)


def causal_fft_conv(u: Tensor, h_freq: Tensor, n_fft: int) -> Tensor:
    """Causal convolution along the last axis. u: (..., T); h_freq: rfft of the filter at n_fft.

    The FFTs run in fp32 (fp64 for fp64 inputs) even under bf16 autocast.
    """
    with torch.autocast(u.device.type, enabled=False):
        return causal_inverse(padded_rfft(u, n_fft) * h_freq, n_fft, u.shape[-1])


def padded_rfft(u: Tensor, n_fft: int) -> Tensor:
    """rfft of u (..., T) zero-padded to n_fft, in fp32 or wider: (..., n_fft/2 + 1)."""
    with torch.autocast(u.device.type, enabled=False):
        return torch.fft.rfft(u.to(fft_dtype(u)), n=n_fft)


def causal_inverse(spectrum: Tensor, n_fft: int, T: int) -> Tensor:
    """Inverse of a padded product spectrum, keeping the T causal outputs: (..., T)."""
    with torch.autocast(spectrum.device.type, enabled=False):
        return torch.fft.irfft(spectrum, n=n_fft)[..., :T]
