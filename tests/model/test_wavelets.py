"""Wavelet filter banks and the causal à trous analysis, against PyWavelets.

The seeds used wrong db4 taps and a centred (non-causal) transform. Here the taps must equal
`pywt.Wavelet(name)` and closed forms, and `causal_swt` must equal `pywt.swt` delayed by the
documented shift, once each coefficient has its full filter history.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import pywt
import torch
import torch.nn.functional as F

from model import ModelConfig
from model.mixers.wavelet import BAND_TAPS, WaveletMixer, band_kernels
from model.wavelets import (
    ALIAS_TOLERANCE,
    band_filters,
    canonical_wavelet,
    causal_swt,
    filter_bank,
    swt_shift,
    upsample,
    wavelet_aliases,
)
from tests.model.banks import WAVELETS

ORTHOGONAL = ["haar", "db2", "db4", "db8", "sym5", "sym8", "coif1", "coif2"]


@pytest.mark.parametrize("name", pywt.wavelist(kind="discrete"))
def test_filter_bank_equals_pywavelets(name: str) -> None:
    lo, hi = filter_bank(name)
    w = pywt.Wavelet(name)
    np.testing.assert_array_equal(lo, w.dec_lo)
    np.testing.assert_array_equal(hi, w.dec_hi)


def test_closed_form_taps() -> None:
    """Independent of PyWavelets: Haar and db2 from their closed forms (Daubechies 1992)."""
    r2, r3 = math.sqrt(2), math.sqrt(3)
    lo, hi = filter_bank("haar")
    np.testing.assert_allclose(lo, [1 / r2, 1 / r2], atol=1e-15)
    np.testing.assert_allclose(hi, [-1 / r2, 1 / r2], atol=1e-15)
    db2 = np.array([1 - r3, 3 - r3, 3 + r3, 1 + r3]) / (4 * r2)  # taps in PyWavelets' order
    np.testing.assert_allclose(filter_bank("db2")[0], db2, atol=1e-12)


@pytest.mark.parametrize("name", ORTHOGONAL)
def test_orthonormal_taps(name: str) -> None:
    """Σg = √2, Σg[k]g[k+2m] = δ_m, and the highpass annihilates constants and, for dbN, the
    first N-1 monomials (N vanishing moments)."""
    lo, hi = filter_bank(name)
    assert lo.sum() == pytest.approx(math.sqrt(2), abs=1e-10)
    for m in range(len(lo) // 2):
        assert np.dot(lo[: len(lo) - 2 * m], lo[2 * m :]) == pytest.approx(float(m == 0), abs=1e-9)
    moments = int(name[2:]) if name.startswith("db") else 1
    k = np.arange(len(hi), dtype=np.float64)
    for p in range(moments):
        assert np.dot(k**p, hi) == pytest.approx(0.0, abs=1e-6 * len(hi) ** p)


def levels_for(name: str, n: int) -> int:
    return min(4, pywt.dwt_max_level(n, pywt.Wavelet(name).dec_len))


@pytest.mark.parametrize("name", WAVELETS)
def test_causal_swt_matches_pywt_swt(name: str) -> None:
    n = 256
    x = np.random.default_rng(0).standard_normal(n)
    J = levels_for(name, n)
    assert J >= 1
    L = pywt.Wavelet(name).dec_len
    # pywt returns [(a_J, d_J), ..., (a_1, d_1)]; norm=False keeps the plain filter bank.
    ref = pywt.swt(x, name, level=J, norm=False, trim_approx=False)
    for j in range(1, J + 1):
        ours = causal_swt(torch.from_numpy(x), name, j).numpy()  # (j+1, n): d_1..d_j, a_j
        a_ref, d_ref = ref[J - j]
        start = (L - 1) * (2**j - 1)  # from here on the level-j filter has its full history
        shift = swt_shift(name, j)
        np.testing.assert_allclose(ours[j - 1, start:], np.roll(d_ref, shift)[start:], atol=1e-12)
        np.testing.assert_allclose(ours[j, start:], np.roll(a_ref, shift)[start:], atol=1e-12)


def test_causal_swt_shape_and_batching() -> None:
    x = torch.randn(2, 3, 64, dtype=torch.float64)
    out = causal_swt(x, "db2", 3)
    assert out.shape == (2, 3, 4, 64)
    torch.testing.assert_close(out[1, 2], causal_swt(x[1, 2], "db2", 3))


@pytest.mark.parametrize("name", WAVELETS)
def test_band_filters_are_the_cascade(name: str) -> None:
    """Band b of causal_swt is x convolved (causally) with band_filters(name, J)[b]."""
    n = 256
    J = levels_for(name, n)
    x = np.random.default_rng(1).standard_normal(n)
    ours = causal_swt(torch.from_numpy(x), name, J).numpy()
    filters = band_filters(name, J)
    assert len(filters) == J + 1
    L = pywt.Wavelet(name).dec_len
    for b, f in enumerate(filters):
        level = min(b + 1, J)
        assert len(f) == (L - 1) * (2**level - 1) + 1  # the span documented in config.py
        np.testing.assert_allclose(np.convolve(x, f)[:n], ours[b], atol=1e-12)


def test_upsample_inserts_holes() -> None:
    np.testing.assert_array_equal(upsample(np.array([1.0, 2.0, 3.0]), 2), [1, 0, 2, 0, 3])


@pytest.mark.parametrize(("name", "levels", "seq_len"), [("db4", 3, 128), ("haar", 4, 64)])
def test_band_kernels_are_delayed_band_filters(name: str, levels: int, seq_len: int) -> None:
    kernels = band_kernels(name, levels, seq_len).numpy()
    assert kernels.shape[:2] == (levels + 1, BAND_TAPS)
    for b, f in enumerate(band_filters(name, levels)):
        for m in range(BAND_TAPS):
            delayed = np.concatenate([np.zeros(m * 2**b), f])[:seq_len]
            np.testing.assert_array_equal(kernels[b, m, : len(delayed)], delayed)
            assert not kernels[b, m, len(delayed) :].any()


def test_band_kernels_cut_at_seq_len() -> None:
    """Lags beyond the context never reach an output, so kernels stop at seq_len taps."""
    assert band_kernels("db4", 2, 16).shape[-1] == 16


def reference_wavelet_mixer(mixer: WaveletMixer, x: torch.Tensor, name: str) -> torch.Tensor:
    """The documented maths, from the reference cascade: band_b = k_b ⊛ (f_b ∗ v), dilated."""
    v, g = mixer.in_proj(x).chunk(2, dim=-1)  # (B, T, D)
    J = mixer.n_bands - 1
    bands = causal_swt(v.transpose(1, 2), name, J)  # (B, D, J+1, T)
    y = torch.zeros_like(v)
    w = F.softmax(mixer.band_gate(x), -1) if mixer.band_gate is not None else None
    for b in range(J + 1):
        band = torch.zeros_like(v)
        for m in range(BAND_TAPS):  # k_b[m] at lag m·2^b, the band's own scale
            lagged = F.pad(bands[:, :, b], (m * 2**b, 0))[..., : x.shape[1]]  # (B, D, T)
            band = band + mixer.taps[b, :, m] * lagged.transpose(1, 2)
        y = y + (band if w is None else w[..., b : b + 1] * band)
    return mixer.out_proj((y + mixer.skip * v) * F.silu(g))


@pytest.mark.parametrize("band_mixing", ["sum", "gate"])
@pytest.mark.parametrize(("name", "levels"), [("db4", 3), ("bior2.2", 2), ("haar", 4)])
def test_wavelet_mixer_equals_reference(band_mixing: str, name: str, levels: int) -> None:
    cfg = ModelConfig(
        vocab_size=8,
        seq_len=128,
        d_model=8,
        n_layers=1,
        mixer="wavelet",
        wavelet=name,
        wavelet_levels=levels,
        band_mixing=band_mixing,
        harmonic_bases=4,
    )
    mixer = WaveletMixer(cfg, 0).double()
    if mixer.band_gate is not None:
        torch.nn.init.normal_(mixer.band_gate.weight)  # a non-trivial gate
    for T in (128, 50):
        x = torch.randn(2, T, 8, dtype=torch.float64)
        with torch.no_grad():
            torch.testing.assert_close(mixer(x), reference_wavelet_mixer(mixer, x, name))


def test_wavelet_changes_the_mixer() -> None:
    """The wavelet gene reaches the forward pass: same weights, another bank, another output."""
    outs = []
    for name in ("db4", "sym4"):  # same length, different taps
        cfg = ModelConfig(vocab_size=8, seq_len=64, d_model=16, n_layers=1, wavelet=name)
        torch.manual_seed(0)
        outs.append(WaveletMixer(cfg, 0)(torch.ones(1, 64, 16).cumsum(1).sin()))
    assert not torch.allclose(outs[0], outs[1])


def _same_bank(a: str, b: str) -> bool:
    wa, wb = pywt.Wavelet(a), pywt.Wavelet(b)
    return all(
        len(x) == len(y) and np.allclose(x, y, rtol=0, atol=ALIAS_TOLERANCE)
        for x, y in zip(wa.filter_bank, wb.filter_bank, strict=True)
    )


def test_canonical_name_iff_same_filter_bank() -> None:
    """Every pair of discrete wavelets: the same canonical name exactly when all four filters
    agree; the classes PyWavelets has are haar = db1 = bior1.1 = rbio1.1, db2 = sym2, db3 = sym3."""
    names = pywt.wavelist(kind="discrete")
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            assert (canonical_wavelet(a) == canonical_wavelet(b)) == _same_bank(a, b), (a, b)
    classes = {wavelet_aliases(n) for n in names if len(wavelet_aliases(n)) > 1}
    assert classes == {("haar", "db1", "bior1.1", "rbio1.1"), ("db2", "sym2"), ("db3", "sym3")}


def test_aliases_build_the_same_mixer() -> None:
    """Same canonical name, same model: the band filters, hence the mixer, are equal."""
    for a, b in (("haar", "bior1.1"), ("db3", "sym3")):
        for fa, fb in zip(band_filters(a, 3), band_filters(b, 3), strict=True):
            np.testing.assert_allclose(fa, fb, rtol=0, atol=1e-10)


def test_canonical_names_are_fixed_and_total() -> None:
    """The rule: the first alias in pywt.families() order (haar, db, sym, ...)."""
    aliases = ["db1", "bior1.1", "rbio1.1", "sym2", "sym3", "db4"]
    assert [canonical_wavelet(n) for n in aliases] == ["haar", "haar", "haar", "db2", "db3", "db4"]
    assert canonical_wavelet("not-a-wavelet") == "not-a-wavelet"  # rejected elsewhere
