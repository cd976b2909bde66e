"""The analytic FLOP count against hand-derived numbers and against PyTorch's FLOP counter.

`SpectralLM.flops_breakdown()` counts forward FLOPs per token at seq_len: matrix products
(2 per multiply-add), FFTs (2.5·N·log2 N per real transform, N the padded length), complex
products in the frequency domain (6 FLOPs each) and the gated band sum. Per-sequence work (a
filter's FFT, the wavelet filter synthesis) is divided by T, i.e. counted for a batch of one.

`torch.utils.flop_counter.FlopCounterMode` differs from that count in three known ways, which
`counter()` below corrects, each with one formula:
1. It scores FFTs as zero: we add 2.5·N·log2 N per transform for aten._fft_r2c/_fft_c2r
   (and 5·N·log2 N per complex transform for _fft_c2c).
2. Its attention formula counts the full T×T score and value products, and on the CPU it does
   not know the kernel SDPA dispatches to (_scaled_dot_product_flash_attention_for_cpu). We
   count that kernel with torch's own `sdpa_flop_count` (the full square) times (T+1)/(2T):
   with is_causal, query t only meets t+1 keys.
3. It ignores every elementwise op. The analytic count ignores the real ones too (norms,
   activations, gates, RoPE, residuals), as nanoGPT's and Kaplan et al.'s estimates do, but it
   does count complex products (6 real FLOPs per element) and the gated wavelet band sum
   Σ_b w_b ⊙ band_b (J+1 products and J sums per element). We add formulas for complex `mul`
   and for `addcmul` (a multiply-add per element); the sum's first product is a real `mul`,
   which no formula can tell from the real elementwise ops both counts leave out, so
   `leading_products` adds its one FLOP per element by hand.
With the corrections the two counts agree per component to 1e-4 (the counter rounds each FFT to
an integer). Without correction 3 the analytic count is higher by a few percent of a spectral
mixer (`test_uncorrected_gap_is_only_elementwise_work` states the bound).
"""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode, sdpa_flop_count

from model import ModelConfig, SpectralLM
from model.mixers.wavelet import BAND_TAPS

aten = torch.ops.aten


def _fft(n: int) -> float:
    return 2.5 * n * math.log2(n)


def _r2c(x: tuple[int, ...], dim: list[int], *args: Any, out_shape: Any = None) -> int:
    n = x[dim[-1]]  # the input is already zero-padded to the transform length
    return round(math.prod(x) // n * _fft(n))


def _c2r(x: tuple[int, ...], dim: list[int], norm: int, last: int, out_shape: Any = None) -> int:
    return round(math.prod(out_shape) // last * _fft(last))


def _c2c(x: tuple[int, ...], dim: list[int], *args: Any, out_shape: Any = None) -> int:
    n = x[dim[-1]]
    return round(math.prod(x) // n * 2 * _fft(n))  # a complex FFT does two real ones' work


def _causal_sdpa(
    q: Any,
    k: Any,
    v: Any,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    *args: Any,
    out_shape: Any = None,
    **kwargs: Any,
) -> int:
    full = sdpa_flop_count(q, k, v)  # torch's formula: the whole T×S square
    T = q[2]
    return round(full * (T + 1) / (2 * T)) if is_causal else full


def _raw(f: Any) -> Any:
    f._get_raw = True  # FlopCounterMode then passes tensors, not shapes
    return f


@_raw
def _complex_mul(a: Any, b: Any, out_val: torch.Tensor) -> int:
    return 6 * out_val.numel() if out_val.is_complex() else 0


@_raw
def _addcmul(*args: Any, out_val: torch.Tensor, **kwargs: Any) -> int:
    return 2 * out_val.numel()


FFT_FORMULAS = {aten._fft_r2c: _r2c, aten._fft_c2r: _c2r, aten._fft_c2c: _c2c}
ATTENTION = {aten._scaled_dot_product_flash_attention_for_cpu: _causal_sdpa}
ELEMENTWISE = {aten.mul: _complex_mul, aten.addcmul: _addcmul, aten.addcmul_: _addcmul}


def counter(model: SpectralLM, mapping: dict[Any, Any]) -> dict[str, float]:
    """FlopCounterMode's count of one forward (batch 1, T = seq_len), per token and component."""
    T, root = model.cfg.seq_len, type(model).__name__
    idx = torch.randint(0, model.cfg.vocab_size, (1, T), generator=torch.Generator().manual_seed(0))
    with FlopCounterMode(display=False, custom_mapping=mapping) as fc, torch.no_grad():
        model(idx)
    per_module = {name: sum(ops.values()) for name, ops in fc.get_flop_counts().items()}
    out = {"embedding": per_module.get(f"{root}.embed", 0)}
    for i, mixer in enumerate(model.cfg.layer_mixers):
        out[f"layer{i}.{mixer}"] = per_module.get(f"{root}.blocks.{i}.mixer", 0)
        out[f"layer{i}.ffn"] = per_module.get(f"{root}.blocks.{i}.ffn", 0)
    # The tied head runs inside SpectralLM.forward (embed.logits is not a module call), and an
    # untied head is a child module: either way it is what the children leave of the total.
    out["head"] = per_module[root] - sum(out.values())
    return {k: v / T for k, v in out.items()}


def leading_products(model: SpectralLM) -> dict[str, float]:
    """The gated band sum's first product w_0 ⊙ band_0: one FLOP per channel per token."""
    cfg = model.cfg
    return {
        f"layer{i}.wavelet": float(cfg.d_model)
        for i, mixer in enumerate(cfg.layer_mixers)
        if mixer == "wavelet" and cfg.band_mixing == "gate"
    }


BASE = {"vocab_size": 256, "seq_len": 64, "d_model": 32, "n_layers": 1, "n_heads": 4}
CONFIGS = {
    "wavelet-sum": {"mixer": "wavelet", "wavelet": "db4", "wavelet_levels": 3},
    "wavelet-gate": {
        "mixer": "wavelet",
        "wavelet": "sym3",
        "band_mixing": "gate",
        "embedding": "hybrid",
        "seq_len": 48,
    },
    "fourier": {"mixer": "fourier", "embedding": "table", "tie_head": False, "spectral_share": 1},
    "attention": {"mixer": "attention", "spectral_share": 0.0, "harmonic_bases": 12},
    "mixed": {
        "mixer": ["attention", "wavelet", "fourier"],
        "n_layers": 3,
        "wavelet": "haar",
        "wavelet_levels": 4,
        "seq_len": 40,
    },
}


def _model(name: str) -> SpectralLM:
    torch.manual_seed(0)
    return SpectralLM(ModelConfig(**(BASE | CONFIGS[name]))).eval()


@pytest.mark.parametrize("name", CONFIGS)
def test_analytic_count_matches_the_corrected_flop_counter(name: str) -> None:
    model = _model(name)
    analytic = model.flops_breakdown()
    counted = counter(model, FFT_FORMULAS | ATTENTION | ELEMENTWISE)
    for key, flops in leading_products(model).items():
        counted[key] += flops
    assert counted.keys() == analytic.keys()
    for key, value in analytic.items():
        assert counted[key] == pytest.approx(value, rel=1e-4, abs=1e-6), key


@pytest.mark.parametrize("name", CONFIGS)
def test_uncorrected_gap_is_only_elementwise_work(name: str) -> None:
    """Without the elementwise formulas the counter is lower, never higher. The gap is the
    complex products and the gated band sum: at most 12% of a component at this small width
    (D = 32; a spectral FFN at α = 1 is mostly its D/2+1 complex products) and at most 2% of
    the whole model. Attention and the dense paths match exactly."""
    model = _model(name)
    analytic = model.flops_breakdown()
    counted = counter(model, FFT_FORMULAS | ATTENTION)
    for key, value in analytic.items():
        assert 0.88 * value <= counted[key] <= value * (1 + 1e-4), key
    assert sum(counted.values()) >= 0.98 * sum(analytic.values())


def test_stock_counter_misses_ffts_and_causal_attention() -> None:
    """Why the corrections exist: the stock counter scores FFTs and CPU attention as zero."""
    model = _model("mixed")
    stock = counter(model, {})
    fixed = counter(model, FFT_FORMULAS | ATTENTION)
    assert stock["layer2.fourier"] < fixed["layer2.fourier"]
    assert stock["layer0.attention"] < fixed["layer0.attention"]


# --- hand-derived numbers for a tiny model: D = 8, T = 16, V = 256, B = 4, FFN hidden 32 ------

D, T, V, NB = 8, 16, 256, 4
TINY = {
    "vocab_size": V,
    "seq_len": T,
    "d_model": D,
    "n_layers": 1,
    "harmonic_bases": NB,
    "n_heads": 2,
}


def _breakdown(**kw: Any) -> dict[str, float]:
    return SpectralLM(ModelConfig(**(TINY | kw))).flops_breakdown()


def test_hand_derived_embeddings_and_heads() -> None:
    spectral = _breakdown(mixer="attention")
    assert spectral["embedding"] == 2 * NB * D  # (1×B)·(B×D) = 64
    assert spectral["head"] == 2 * (D * NB + NB * V)  # tied through Φ: 2(D·B + B·V) = 2112
    table = _breakdown(mixer="attention", embedding="table")
    assert table["embedding"] == 0 and table["head"] == 2 * D * V  # lookup; tied V×D = 4096
    hybrid = _breakdown(mixer="attention", embedding="hybrid")
    assert hybrid["head"] == 2 * (D * NB + NB * V) + 2 * D * V  # both paths: 6208
    untied = _breakdown(mixer="attention", tie_head=False)
    assert untied["head"] == 2 * D * V


def test_hand_derived_ffn() -> None:
    assert _breakdown(mixer="attention", spectral_share=0.0)["layer0.ffn"] == 4 * D * 32  # 1024
    # α = 1: rfft + irfft of length 8 (2.5·8·3 = 60 each) and 5 complex products: 150.
    assert _breakdown(mixer="attention", spectral_share=1.0)["layer0.ffn"] == 2 * 60 + 6 * 5
    assert _breakdown(mixer="attention")["layer0.ffn"] == 1024 + 150  # α = 0.25: both paths


def test_hand_derived_attention() -> None:
    # qkv: a Linear D->3D is 6·D² per token, out_proj 2·D²; causal scores and sums over
    # (T+1)/2 keys on average: 2 · 2·D·(T+1)/2 = 272.
    assert _breakdown(mixer="attention")["layer0.attention"] == 6 * D * D + 2 * D * D + 272


def test_hand_derived_fourier() -> None:
    # in_proj (D->2D: 4·D²) + out_proj (2·D²) = 384. The T-tap filter needs n >= 2T-1 = 31:
    # n = 32, 2.5·32·5 = 400 per FFT. Per sequence and channel: rfft(v), rfft(filter),
    # irfft, and 17 complex products: (3·400 + 6·17)·D / T = 651 per token.
    assert _breakdown(mixer="fourier")["layer0.fourier"] == 384 + (3 * 400 + 6 * 17) * D / T


def test_hand_derived_wavelet_per_level_and_tap() -> None:
    # haar, J = 1: bands d_1 (2 taps, dilation 1) and a_1 (2 taps, dilation 2). Band b's learned
    # kernel has BAND_TAPS taps at dilation 2^b, so its filter spans 2 + (BAND_TAPS-1)·2^b taps:
    # K = 2 + 3·2 = 8 at BAND_TAPS = 4. Synthesis: per band, per tap, per lag, per channel, a
    # multiply-add: 2·2·BAND_TAPS·K·D. The "sum" mixing adds the bands into one filter, then
    # rfft(v), rfft(filter), irfft at n >= T+K-1 = 23: n = 24 (2^3·3), 13 complex products.
    K = 2 + (BAND_TAPS - 1) * 2
    assert K == 8
    synth = 2 * 2 * BAND_TAPS * K * D
    spectral = D * (3 * _fft(24) + 6 * 13)
    expected = 384 + (synth + spectral) / T
    got = _breakdown(mixer="wavelet", wavelet="haar", wavelet_levels=1)["layer0.wavelet"]
    assert got == pytest.approx(expected, rel=1e-12)
    # "gate": the band gate Linear D->J+1 per token, J+1 filters and inverse FFTs, and the
    # per-token weighted band sum: J+1 products and J sums per channel and position.
    gated = 384 + 2 * D * 2 + (synth + D * (5 * _fft(24) + 6 * 2 * 13) + 3 * D * T) / T
    got = _breakdown(mixer="wavelet", wavelet="haar", wavelet_levels=1, band_mixing="gate")
    assert got["layer0.wavelet"] == pytest.approx(gated, rel=1e-12)
