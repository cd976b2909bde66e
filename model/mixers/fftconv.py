"""Causal long convolution by FFT, shared by the Fourier and wavelet mixers.

A product of FFTs is a *circular* convolution: with no padding, the first outputs would wrap
around and read the last inputs, i.e. the future. Zero-padding to n_fft >= T + K - 1 (for a
filter of K taps) makes the circular convolution equal the linear one on the first T outputs,
which are exactly the causal ones: y[t] = Σ_{k<=t} h[k] u[t-k].

Filters are given as taps in the time domain, so they are one-sided whatever the precision:
causality never rests on a spectrum that rounding has made slightly two-sided.

The backward passes are written out (autograd.Function) because autograd differentiates a
padded rfft through a full-length complex FFT plus zero fills, which made the mixers 2-5x
slower on CPU. Written out, every gradient is again a causal (or anti-causal) real FFT
convolution: for y = h ∗ u, dL/du = h ⋆ g and dL/dh = u ⋆ g (⋆: correlation, i.e. the
product with the conjugate spectrum), both exact on the same n_fft grid.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.fft import irfft


def fft_flops(n: int) -> float:
    """FLOPs of one real FFT (or inverse) of length n: the standard 2.5·n·log2(n) estimate."""
    return 2.5 * n * math.log2(n)


def fft_dtype(t: Tensor) -> torch.dtype:
    """fp32 for half-precision inputs (bf16 FFTs lose too much precision), else t's own dtype."""
    return torch.promote_types(t.dtype, torch.float32)


def fft_size(n: int) -> int:
    """The smallest 5-smooth length (2^a·3^b·5^c) >= n.

    pocketfft is fast on these, and they sit much closer to n than the next power of two:
    a 4096-token context with a 74-tap filter needs n >= 4169, i.e. 4320 rather than 8192.
    """
    best = 1 << (n - 1).bit_length()
    p5 = 1
    while p5 < best:
        p35 = p5
        while p35 < best:
            best = min(best, p35 << max(0, (math.ceil(n / p35) - 1).bit_length()))
            p35 *= 3
        p5 *= 5
    return best


def filter_spectrum_floats(channels: int, seq_len: int) -> int:
    """Floats of the spectrum of `channels` causal filters as long as the context, and of its
    gradient, held once per training step: complex bins (2 floats) on the n_fft grid of
    `causal_conv` for K = seq_len taps, which bounds every shorter filter's grid."""
    return 2 * channels * (fft_size(2 * seq_len - 1) // 2 + 1) * 2


def rfft(x: Tensor, n: int) -> Tensor:
    """rfft of x (..., T) zero-padded to n. Padding first is up to 2x faster on CPU than
    `torch.fft.rfft(x, n=n)`, most of all for the transposed (strided) inputs the mixers pass."""
    return torch.fft.rfft(F.pad(x, (0, n - x.shape[-1])))


class _CausalConv(torch.autograd.Function):
    """y = h ∗ u along the last axis; u (B, C, T), h (C, K) -> y (B, C, T)."""

    @staticmethod
    def forward(ctx: Any, u: Tensor, h: Tensor, n_fft: int) -> Tensor:
        U, H = rfft(u, n=n_fft), rfft(h, n=n_fft)  # (B, C, F), (C, F)
        ctx.save_for_backward(U, H)
        ctx.sizes = (n_fft, u.shape[-1], h.shape[-1])
        return irfft(U * H, n=n_fft)[..., : u.shape[-1]]

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, Tensor | None, None]:
        U, H = ctx.saved_tensors
        n_fft, T, K = ctx.sizes
        G = rfft(grad, n=n_fft)  # (B, C, F)
        du = irfft(G * H.conj().resolve_conj(), n=n_fft)[..., :T]
        # vecdot(U, G) = Σ_batch conj(U)·G, without materialising conj(U) (2-3x faster).
        dh = irfft(torch.linalg.vecdot(U, G, dim=0), n=n_fft)[..., :K]
        return du, dh, None


class _GatedCausalConv(torch.autograd.Function):
    """y = Σ_b w_b ⊙ (h_b ∗ u); u (B, C, T), h (NB, C, K), w (B, NB, T) -> y (B, C, T)."""

    @staticmethod
    def forward(ctx: Any, u: Tensor, h: Tensor, w: Tensor, n_fft: int) -> Tensor:
        T = u.shape[-1]
        U, H = rfft(u, n=n_fft), rfft(h, n=n_fft)  # (B, C, F), (NB, C, F)
        # One band at a time: a (B, NB, C, F) broadcast product is several times slower on CPU.
        bands = [irfft(U * H_b, n=n_fft)[..., :T] for H_b in H]  # NB × (B, C, T)
        ctx.save_for_backward(U, H, w, *bands)
        ctx.sizes = (n_fft, T, h.shape[-1])
        return sum_bands(bands, w)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, Tensor, Tensor, None]:
        U, H, w, *bands = ctx.saved_tensors
        n_fft, T, K = ctx.sizes
        dw = torch.stack([torch.linalg.vecdot(grad, band, dim=1) for band in bands], dim=1)
        H_conj = H.conj().resolve_conj()  # (NB, C, F): small, so conjugated once
        dU, dH = torch.zeros_like(U), torch.empty_like(H)
        for b in range(len(bands)):
            G = rfft(grad * w[:, b, None, :], n=n_fft)  # (B, C, F): the gradient reaching band b
            dU.addcmul_(G, H_conj[b])
            dH[b] = torch.linalg.vecdot(U, G, dim=0)  # Σ_batch conj(U)·G
        du = irfft(dU, n=n_fft)[..., :T]  # (B, C, T)
        return du, irfft(dH, n=n_fft)[..., :K], dw, None


def sum_bands(bands: list[Tensor], w: Tensor) -> Tensor:
    """Σ_b w[:, b] ⊙ bands[b] for bands (B, C, T) each and per-token weights w (B, NB, T)."""
    out = bands[0] * w[:, 0, None, :]
    for b in range(1, len(bands)):
        out.addcmul_(bands[b], w[:, b, None, :])
    return out


def causal_conv(u: Tensor, h: Tensor) -> Tensor:
    """Causal convolution of u (B, C, T) with per-channel taps h (C, K), by FFT: (B, C, T).

    Runs in fp32 (fp64 for fp64 inputs) even under bf16 autocast; returns that dtype.
    """
    T, K = u.shape[-1], min(h.shape[-1], u.shape[-1])  # taps beyond T never reach an output
    dt = fft_dtype(u)
    with torch.autocast(u.device.type, enabled=False):
        out: Tensor = _CausalConv.apply(u.to(dt), h[..., :K].to(dt), fft_size(T + K - 1))
    return out


def gated_causal_conv(u: Tensor, h: Tensor, w: Tensor) -> Tensor:
    """Σ_b w_b ⊙ (h_b ∗ u): u (B, C, T), band taps h (NB, C, K), gates w (B, NB, T): (B, C, T).

    Equal to summing `causal_conv(u, h[b]) * w[:, b, None]` over b, with one shared rfft of u.
    """
    T, K = u.shape[-1], min(h.shape[-1], u.shape[-1])
    dt = fft_dtype(u)
    with torch.autocast(u.device.type, enabled=False):
        out: Tensor = _GatedCausalConv.apply(
            u.to(dt), h[..., :K].to(dt), w.to(dt), fft_size(T + K - 1)
        )
    return out
