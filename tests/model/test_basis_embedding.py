"""Harmonic basis functions and the embeddings built from them.

The seeds' spectral embedding sat beside a full table (so it saved nothing) and its fixed basis
had effective rank ~10 at B=16. Here: each family samples its formula, the default basis is
well-conditioned, frequencies and phases learn, and parameter counts are those of the modules.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable

import numpy as np
import pytest
import torch

from model import FAMILIES, BasisSpec, ModelConfig, SpectralLM, default_basis
from model.embedding import SpectralEmbedding, TableEmbedding, build_embedding

Formula = Callable[[np.ndarray, float, float, float, float], np.ndarray]
TWO_PI = 2 * math.pi

# The formula each family's docstring or comment states, with u = d / D.
FORMULAS: dict[str, Formula] = {
    "sine": lambda u, f, p, s, c: np.sin(TWO_PI * f * u + p),
    "cosine": lambda u, f, p, s, c: np.cos(TWO_PI * f * u + p),
    "gabor": lambda u, f, p, s, c: np.exp(-0.5 * ((u - c) / s) ** 2) * np.cos(TWO_PI * f * u + p),
    "chirp": lambda u, f, p, s, c: np.sin(TWO_PI * (f * u + 0.5 * s * u**2) + p),
    "damped": lambda u, f, p, s, c: np.exp(-s * u) * np.sin(TWO_PI * f * u + p),
}


def config(**kw: object) -> ModelConfig:
    base: dict[str, object] = dict(
        vocab_size=50, seq_len=16, d_model=64, n_layers=1, mixer="fourier", harmonic_bases=8
    )
    base.update(kw)
    return ModelConfig(**base)  # type: ignore[arg-type]


def test_every_family_has_a_reference_formula() -> None:
    assert set(FAMILIES) == set(FORMULAS)


@pytest.mark.parametrize("family", sorted(FORMULAS))
def test_family_samples_its_formula(family: str) -> None:
    D = 64
    spec = BasisSpec(family=family, frequency=3.5, phase=0.7, shape=0.3, center=0.4).canonical()
    emb = SpectralEmbedding(config(d_model=D, harmonic_bases=[spec]))
    expected = FORMULAS[family](np.arange(D) / D, 3.5, 0.7, spec.shape, spec.center)
    expected /= np.sqrt(np.mean(expected**2))  # basis() scales each row to unit RMS
    np.testing.assert_allclose(emb.basis()[0].detach().numpy(), expected, atol=1e-5)


def condition_number(phi: torch.Tensor) -> float:
    s = torch.linalg.svdvals(phi.double())
    return (s[0] / s[-1]).item()


@pytest.mark.parametrize("B", [8, 16, 64])
@pytest.mark.parametrize("D", [64, 128, 768])
def test_default_basis_is_well_conditioned(B: int, D: int) -> None:
    phi = SpectralEmbedding(config(d_model=D, harmonic_bases=B)).basis().detach()
    assert phi.shape == (B, D)
    assert torch.linalg.matrix_rank(phi.double()).item() == B
    assert condition_number(phi) < 1.5


@pytest.mark.parametrize("D", [2, 7, 64])
def test_default_basis_full_width(D: int) -> None:
    """B = D is allowed by ModelConfig, so the default basis must stay full rank there too."""
    phi = SpectralEmbedding(config(d_model=D, harmonic_bases=D)).basis().detach()
    assert condition_number(phi) < 1.5


def test_default_basis_specs_are_valid_and_distinct() -> None:
    specs = default_basis(16, 768)
    assert len(set(specs)) == 16
    assert all(s.problem(768) is None for s in specs)


def test_default_basis_spans_the_band() -> None:
    """Spread from the lowest frequency to Nyquist, not bunched at the low end (the seeds')."""
    freqs = sorted(s.frequency for s in default_basis(16, 768))
    assert freqs[0] <= 1.0 and freqs[-1] == 384.0
    gaps = [b - a for a, b in itertools.pairwise(freqs)]
    assert max(gaps) - min(gaps) <= 1.0  # evenly spaced, up to rounding to the grid


def test_low_frequency_basis_is_what_we_avoid() -> None:
    """Contrast: a seeds-like fixed basis, sin(k·u) for k = 1..16 rad over the axis, conditions
    badly, which is why the default basis spreads its frequencies over the whole band."""
    seeds = [BasisSpec(family="sine", frequency=k / TWO_PI) for k in range(1, 17)]
    phi = SpectralEmbedding(config(d_model=768, harmonic_bases=seeds)).basis().detach()
    assert condition_number(phi) > 1e6


def test_gradients_reach_frequency_and_phase() -> None:
    emb = SpectralEmbedding(config())
    idx = torch.randint(0, 50, (2, 5))
    (emb(idx) * torch.randn(2, 5, 64)).sum().backward()
    for p in (emb.frequency, emb.phase, emb.coeffs):
        assert p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0


def test_fixed_basis_does_not_learn() -> None:
    emb = SpectralEmbedding(config(learn_basis=False))
    assert not emb.frequency.requires_grad and not emb.phase.requires_grad
    before = emb.basis().detach().clone()
    opt = torch.optim.SGD([p for p in emb.parameters() if p.requires_grad], lr=1.0)
    emb(torch.randint(0, 50, (2, 5))).pow(2).sum().backward()
    opt.step()
    assert emb.frequency.grad is None
    torch.testing.assert_close(emb.basis(), before)


def n_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


@pytest.mark.parametrize(("V", "B", "D"), [(50, 8, 64), (1000, 16, 128)])
def test_embedding_parameter_counts(V: int, B: int, D: int) -> None:
    cfg = dict(vocab_size=V, d_model=D, harmonic_bases=B)
    assert n_params(build_embedding(config(**cfg, embedding="spectral"))) == V * B + 2 * B
    assert n_params(build_embedding(config(**cfg, embedding="hybrid"))) == V * B + 2 * B + V * D
    assert n_params(build_embedding(config(**cfg, embedding="table"))) == V * D
    fixed = config(**cfg, embedding="spectral", learn_basis=False)
    assert n_params(build_embedding(fixed)) == V * B


@pytest.mark.parametrize("embedding", ["spectral", "hybrid", "table"])
def test_tied_head_is_the_embedding_transposed(embedding: str) -> None:
    """logits = h · Eᵀ with E the embedding of every token (for the spectral one, E = C·Φ)."""
    emb = build_embedding(config(embedding=embedding))
    if isinstance(emb, SpectralEmbedding) and emb.table is not None:
        torch.nn.init.normal_(emb.table.weight)  # the hybrid table starts at zero
    E = emb(torch.arange(50)[None])[0]  # (V, D)
    h = torch.randn(3, 4, 64)
    torch.testing.assert_close(emb.logits(h), h @ E.t())


def test_table_embedding_is_a_lookup() -> None:
    emb = TableEmbedding(config(embedding="table"))
    idx = torch.tensor([[3, 1, 4]])
    torch.testing.assert_close(emb(idx)[0], emb.table.weight[[3, 1, 4]])


def test_explicit_basis_specs_are_used() -> None:
    def embeddings(freq: float) -> torch.Tensor:
        specs = [BasisSpec(family="cosine", frequency=freq), BasisSpec("gabor", 5.0, shape=0.2)]
        torch.manual_seed(0)
        emb = SpectralEmbedding(config(harmonic_bases=specs))
        assert emb.frequency.tolist() == [freq, 5.0]
        return emb(torch.arange(50)[None]).detach()

    assert not torch.allclose(embeddings(2.0), embeddings(3.0))


def test_basis_specs_accept_dicts() -> None:
    cfg = config(harmonic_bases=[{"family": "chirp", "frequency": 2.0, "shape": 1.0}])
    assert cfg.basis == [BasisSpec(family="chirp", frequency=2.0, shape=1.0)]


def test_canonical_drops_ignored_genes() -> None:
    a = BasisSpec(family="sine", frequency=2.0, phase=7.0, shape=0.3, center=0.1).canonical()
    assert a == BasisSpec(family="sine", frequency=2.0, phase=7.0 - TWO_PI)


# Specs that are sines in disguise, each with the sine it is.
SINES = [
    (BasisSpec("cosine", 3.0, 0.4), BasisSpec("sine", 3.0, 0.4 + math.pi / 2)),
    (BasisSpec("cosine", 3.0, 5.5), BasisSpec("sine", 3.0, 5.5 + math.pi / 2 - TWO_PI)),
    (BasisSpec("cosine", 2.5, -math.pi / 2, 0.3, 0.2), BasisSpec("sine", 2.5, 0.0)),
    (BasisSpec("damped", 4.0, 1.0, shape=0.0), BasisSpec("sine", 4.0, 1.0)),
    (BasisSpec("chirp", 4.0, 7.0, shape=0.0, center=0.1), BasisSpec("sine", 4.0, 7.0 - TWO_PI)),
    (BasisSpec("chirp", 4.0, 1.0, shape=-0.0), BasisSpec("sine", 4.0, 1.0)),
]


@pytest.mark.parametrize(("spec", "sine"), SINES)
def test_sine_like_functions_canonicalise_to_the_sine(spec: BasisSpec, sine: BasisSpec) -> None:
    canon = spec.canonical()
    assert canon.family == "sine" and canon.frequency == sine.frequency
    assert 0 <= canon.phase < TWO_PI and math.isclose(canon.phase, sine.phase, abs_tol=1e-12)
    torch.testing.assert_close(spec.sample(32), canon.sample(32), rtol=0, atol=1e-12)


@pytest.mark.parametrize("spec", [s for s, _ in SINES])
def test_sine_like_functions_build_the_same_embedding(spec: BasisSpec) -> None:
    """Shape and centre are fixed buffers, frequency and phase learn alike in every family: the
    embeddings are the same function of the same parameters, before training and after."""
    other = BasisSpec("gabor", 5.0, 1.0, shape=0.2, center=0.3)
    a, b = (SpectralEmbedding(config(harmonic_bases=[s, other])) for s in (spec, spec.canonical()))
    torch.testing.assert_close(a.basis(), b.basis(), rtol=0, atol=1e-5)
    torch.testing.assert_close(a.frequency, b.frequency)
    torch.testing.assert_close(a.shape, b.shape)
    with torch.no_grad():  # the same learned parameters give the same basis anywhere
        for emb in (a, b):
            emb.frequency.add_(torch.tensor([0.3, -0.2]))
            emb.phase.add_(torch.tensor([1.1, 0.4]))
    torch.testing.assert_close(a.basis(), b.basis(), rtol=0, atol=1e-5)


def test_shaped_functions_stay_themselves() -> None:
    for spec in (BasisSpec("damped", 4.0, 1.0, 0.5), BasisSpec("chirp", 4.0, 1.0, -2.0)):
        assert spec.canonical().family == spec.family


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_canonical_is_idempotent_and_keeps_the_function(family: str) -> None:
    rng = np.random.default_rng(0)
    lo_hi = FAMILIES[family].shape_range or (0.0, 0.0)
    for phase in [*rng.uniform(-20, 20, 50), -1e-17, TWO_PI, 2 * TWO_PI, -math.pi / 2]:
        for shape in (0.0, *rng.uniform(*lo_hi, 2)):
            spec = BasisSpec(family, 3.25, float(phase), float(shape), 0.3)
            canon = spec.canonical()
            assert canon.canonical() == canon and 0 <= canon.phase < TWO_PI
            if spec.problem(32) is None:
                torch.testing.assert_close(spec.sample(32), canon.sample(32), rtol=0, atol=1e-9)


def hand_count(V: int, D: int, H: int, tie_head: bool) -> int:
    """Parameters of a model with layers [wavelet db2 J=2 gate, attention] and B=8, by hand."""
    B = 8
    embedding = V * B + 2 * B  # coefficients, learned frequencies and phases
    norms = 2 * 2 * (2 * D) + 2 * D  # two LayerNorms (weight, bias) per block, and the final one
    # in_proj 2D², out_proj D², taps 3 bands × D × 4, skip D, band gate (D+1)·3
    wavelet = 2 * D * D + D * D + 3 * D * 4 + D + (D + 1) * 3
    attention = 3 * D * D + D * D  # qkv and out_proj, no biases; RoPE has no parameters
    # MLP D→H→D with biases, and D/2+1 complex spectral weights stored as real pairs
    ffn = (D * H + H + H * D + D) + 2 * (D // 2 + 1)
    head = 0 if tie_head else V * D
    return embedding + norms + wavelet + attention + 2 * ffn + head


@pytest.mark.parametrize("tie_head", [True, False])
def test_lm_parameter_count_by_hand(tie_head: bool) -> None:
    cfg = config(
        vocab_size=40,
        seq_len=32,
        d_model=16,
        n_layers=2,
        mixer=["wavelet", "attention"],
        wavelet="db2",
        wavelet_levels=2,
        band_mixing="gate",
        ffn_mult=3.0,
        tie_head=tie_head,
    )
    model = SpectralLM(cfg)
    assert model.num_parameters() == hand_count(40, 16, 48, tie_head)


def test_fourier_parameters_grow_with_context() -> None:
    """The Fourier mixer's explicit filter has D·T taps (its documented cost)."""
    counts = [n_params(SpectralLM(config(seq_len=T, mixer="fourier"))) for T in (16, 32)]
    assert counts[1] - counts[0] == 64 * 16
