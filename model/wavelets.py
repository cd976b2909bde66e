"""Causal, undecimated (à trous) wavelet analysis with PyWavelets filter banks.

Level j of the stationary wavelet transform filters the previous approximation with the
decomposition filters upsampled by 2^(j-1):

    a_j = (g ↑ 2^(j-1)) * a_(j-1),   d_j = (h ↑ 2^(j-1)) * a_(j-1),   a_0 = x

where g = dec_lo, h = dec_hi of `pywt.Wavelet(name)` and * is a *causal* convolution
(y[t] = Σ_k f[k] x[t-k], zero left padding), so no coefficient reads ahead. Compared with
`pywt.swt(x, name, J)` (periodic extension), our level-j coefficient at position t equals
PyWavelets' at position t - shift_j (mod n) once t has a full filter history, where
shift_j = (2^j - 1) · dec_len / 2 (see `swt_shift`; tests/model/test_wavelets.py checks it).

By linearity each band is one fixed causal filter of x: `band_filters` returns those
equivalent impulse responses [d_1, ..., d_J, a_J], which the wavelet mixer uses directly.

Some PyWavelets names share one filter bank (haar = db1 = bior1.1 = rbio1.1, db2 = sym2,
db3 = sym3); `canonical_wavelet` names each such class by one representative.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pywt
import torch
import torch.nn.functional as F
from torch import Tensor


def filter_bank(name: str) -> tuple[np.ndarray, np.ndarray]:
    """The decomposition (lowpass, highpass) taps of `pywt.Wavelet(name)`, as float64."""
    w = pywt.Wavelet(name)
    return np.asarray(w.dec_lo, dtype=np.float64), np.asarray(w.dec_hi, dtype=np.float64)


def upsample(f: np.ndarray, factor: int) -> np.ndarray:
    """Insert factor-1 zeros between taps (the 'holes' of à trous)."""
    out = np.zeros((len(f) - 1) * factor + 1)
    out[::factor] = f
    return out


def band_filters(name: str, levels: int) -> list[np.ndarray]:
    """Impulse responses of the J+1 analysis bands [d_1, ..., d_J, a_J] (causal, float64)."""
    lo, hi = filter_bank(name)
    approx = np.ones(1)  # the identity filter: a_0 = x
    bands = []
    for j in range(levels):
        bands.append(np.convolve(approx, upsample(hi, 2**j)))
        approx = np.convolve(approx, upsample(lo, 2**j))
    return [*bands, approx]


def swt_shift(name: str, level: int) -> int:
    """Delay of our causal level-`level` coefficients relative to `pywt.swt`'s."""
    return (2**level - 1) * pywt.Wavelet(name).dec_len // 2


def causal_swt(x: Tensor, name: str, levels: int) -> Tensor:
    """Causal à trous analysis of x (..., T) by the filter cascade: returns (..., J+1, T).

    Bands are ordered [d_1, ..., d_J, a_J]. This is the reference form (one dilated causal
    convolution per level and filter); the mixer applies the same bands in the frequency domain.
    """
    lo, hi = (torch.tensor(f, dtype=x.dtype, device=x.device).flip(0) for f in filter_bank(name))
    lead, T = x.shape[:-1], x.shape[-1]
    a = x.reshape(-1, 1, T)
    bands = []
    for j in range(levels):
        dil = 2**j
        pad = F.pad(a, ((len(lo) - 1) * dil, 0))  # left padding only: causal
        # conv1d is a correlation, hence the flipped taps above.
        bands.append(F.conv1d(pad, hi.view(1, 1, -1), dilation=dil))
        a = F.conv1d(pad, lo.view(1, 1, -1), dilation=dil)
    return torch.cat([*bands, a], dim=1).reshape(*lead, levels + 1, T)


# Filter banks whose taps agree to this (absolute) tolerance are one bank: PyWavelets tabulates
# db3 and sym3, mathematically equal, with taps 3.6e-12 apart.
ALIAS_TOLERANCE = 1e-10


def _same_bank(a: list[np.ndarray], b: list[np.ndarray]) -> bool:
    return all(
        x.shape == y.shape and np.allclose(x, y, rtol=0, atol=ALIAS_TOLERANCE)
        for x, y in zip(a, b, strict=True)
    )


@cache
def _alias_classes() -> dict[str, tuple[str, ...]]:
    """Each discrete wavelet -> every name of its filter bank, in `canonical_wavelet` order."""
    discrete = set(pywt.wavelist(kind="discrete"))  # wavelist(family) ignores `kind`
    order = [n for fam in pywt.families(short=True) for n in pywt.wavelist(fam) if n in discrete]
    classes: list[tuple[list[str], list[np.ndarray]]] = []  # (names, their four filters)
    for name in order:
        bank = [np.asarray(f, dtype=np.float64) for f in pywt.Wavelet(name).filter_bank]
        same = next((names for names, rep in classes if _same_bank(bank, rep)), None)
        if same is None:
            classes.append(([name], bank))
        else:
            same.append(name)
    return {n: tuple(names) for names, _ in classes for n in names}


def wavelet_aliases(name: str) -> tuple[str, ...]:
    """Every discrete wavelet with the same four filters as `name`, canonical name first.

    A name that is not a discrete PyWavelets wavelet is its own (only) alias.
    """
    return _alias_classes().get(name, (name,))


def canonical_wavelet(name: str) -> str:
    """The one name of `name`'s filter bank: 'db1', 'bior1.1', 'rbio1.1' -> 'haar'.

    The rule is fixed: the first of its aliases in `pywt.families()` order (haar, db, sym, coif,
    bior, rbio, dmey), then in `pywt.wavelist` order within a family. Two wavelets build the same
    model exactly when they have the same canonical name.
    """
    return wavelet_aliases(name)[0]
