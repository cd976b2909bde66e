"""Every token mixer, and the whole LM, is strictly causal: output t reads only inputs <= t.

Two checks, each able to fail: perturbing the inputs from position p on must leave every output
before p unchanged yet change the output at p (so the check is not vacuous), and in float64 the
Jacobian d out[t] / d in[s] must vanish for s > t while being nonzero for some s <= t.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import pywt
import torch
from torch import Tensor

from model import ModelConfig, SpectralLM
from model.mixers import MIXERS
from tests.model.banks import WAVELETS

# (mixer, band_mixing): the wavelet mixer has two ways of combining its bands.
KINDS = [("wavelet", "sum"), ("wavelet", "gate"), ("fourier", "sum"), ("attention", "sum")]


def fitting_seq_len(wavelet: str, levels: int) -> int:
    """The smallest power of two (>= 32) whose context holds `levels` levels of `wavelet`."""
    n = 32
    while pywt.dwt_max_level(n, pywt.Wavelet(wavelet).dec_len) < levels:
        n *= 2
    return n


def mixer_config(mixer: str, band_mixing: str = "sum", **kw: object) -> ModelConfig:
    base: dict[str, object] = dict(
        vocab_size=16, seq_len=32, d_model=8, n_layers=1, n_heads=2, harmonic_bases=4
    )
    base.update(kw)
    return ModelConfig(mixer=mixer, band_mixing=band_mixing, **base)  # type: ignore[arg-type]


def randomize(module: torch.nn.Module, seed: int = 0) -> None:
    """Give every parameter O(1) random values, so no path is silenced by a zero init."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=g, dtype=p.dtype) / p.shape[-1] ** 0.5)


def assert_prefix_causal(f: Callable[[Tensor], Tensor], x: Tensor, x_changed: Tensor, p: int):
    """Outputs before p agree and the output at p differs, relative to the output scale."""
    with torch.no_grad():
        a, b = f(x), f(x_changed)
    scale = a.abs().max().item()
    leak = (a[:, :p] - b[:, :p]).abs().max().item() if p > 0 else 0.0
    assert leak <= 1e-5 * scale, f"outputs before {p} moved by {leak:.3g} (scale {scale:.3g})"
    change = (a[:, p] - b[:, p]).abs().max().item()
    assert change > 1e-3 * scale, f"output at {p} did not change: the check would be vacuous"


def perturb_from(x: Tensor, p: int, seed: int) -> Tensor:
    g = torch.Generator().manual_seed(seed)
    out = x.clone()
    out[:, p:] = torch.randn(out[:, p:].shape, generator=g, dtype=x.dtype)
    return out


def check_mixer_perturbation(cfg: ModelConfig, T: int) -> None:
    mixer = MIXERS[cfg.layer_mixers[0]](cfg, 0).eval()
    randomize(mixer)
    x = torch.randn(2, T, cfg.d_model, generator=torch.Generator().manual_seed(1))
    for p in (0, 1, T // 2, T - 1):
        assert_prefix_causal(mixer, x, perturb_from(x, p, seed=p), p)


@pytest.mark.parametrize(("mixer", "band_mixing"), KINDS)
@pytest.mark.parametrize("short", [False, True], ids=["T=seq_len", "T<seq_len"])
def test_mixer_perturbation(mixer: str, band_mixing: str, short: bool) -> None:
    cfg = mixer_config(mixer, band_mixing, seq_len=64)
    check_mixer_perturbation(cfg, 64 if not short else 23)


@pytest.mark.parametrize("wavelet", WAVELETS)
@pytest.mark.parametrize("levels", [1, 2, 3, 4])
@pytest.mark.parametrize("band_mixing", ["sum", "gate"])
def test_wavelet_mixer_every_bank(wavelet: str, levels: int, band_mixing: str) -> None:
    n = fitting_seq_len(wavelet, levels)
    cfg = mixer_config("wavelet", band_mixing, wavelet=wavelet, wavelet_levels=levels, seq_len=n)
    check_mixer_perturbation(cfg, n)
    check_mixer_perturbation(cfg, n // 2 + 3)


def jacobian_by_position(f: Callable[[Tensor], Tensor], x: Tensor) -> Tensor:
    """|d (r_t · f(x)[0, t]) / d x[0, s]| maxed over input channels: a (T, T) matrix.

    A random projection r_t of each output row needs T backward passes instead of T·C, and it
    is zero for s > t exactly when every channel's derivative is (almost surely otherwise).
    """
    x = x.detach().requires_grad_(True)
    y = f(x)[0]  # (T, C_out)
    r = torch.randn(y.shape, dtype=y.dtype, generator=torch.Generator().manual_seed(3))
    rows = [
        torch.autograd.grad((y[t] * r[t]).sum(), x, retain_graph=True)[0][0].abs().amax(-1)
        for t in range(y.shape[0])
    ]
    return torch.stack(rows)  # (T_out, T_in)


def assert_lower_triangular(J: Tensor) -> None:
    future = torch.triu(J, diagonal=1).max().item()
    assert future <= 1e-12, f"output depends on a later input (|dy/dx| = {future:.3g})"
    # Nonzero somewhere at or before the diagonal, and every output reads its own input.
    assert torch.diagonal(J).min().item() > 1e-6


JACOBIAN_CASES = [(m, b, "db2", 2) for m, b in KINDS] + [
    ("wavelet", "sum", "haar", 3),
    ("wavelet", "gate", "haar", 3),
    ("wavelet", "sum", "coif1", 1),
    ("wavelet", "gate", "bior2.2", 1),
]


@pytest.mark.parametrize(("mixer", "band_mixing", "wavelet", "levels"), JACOBIAN_CASES)
def test_mixer_jacobian(mixer: str, band_mixing: str, wavelet: str, levels: int) -> None:
    cfg = mixer_config(mixer, band_mixing, wavelet=wavelet, wavelet_levels=levels, seq_len=16)
    module = MIXERS[mixer](cfg, 0).double().eval()
    randomize(module)
    for T in (16, 11):
        x = torch.randn(1, T, cfg.d_model, dtype=torch.float64)
        assert_lower_triangular(jacobian_by_position(module, x))


LM_MIXERS: list[str | list[str]] = [
    "wavelet",
    "fourier",
    "attention",
    ["wavelet", "fourier", "attention"],
    ["attention", "wavelet", "fourier"],
]


def lm(mixer: str | list[str], **kw: object) -> SpectralLM:
    base: dict[str, object] = dict(
        vocab_size=32,
        seq_len=32,
        d_model=16,
        n_layers=3,
        mixer=mixer,
        wavelet="db2",
        wavelet_levels=2,
        harmonic_bases=8,
    )
    base.update(kw)
    torch.manual_seed(0)
    model = SpectralLM(ModelConfig(**base))  # type: ignore[arg-type]
    randomize(model)
    return model.eval()


# Every embedding with every mixer, and both band mixings wherever a wavelet layer is present.
LM_CASES = [
    (mixer, band_mixing, embedding)
    for mixer in LM_MIXERS
    for band_mixing in (["sum", "gate"] if "wavelet" in mixer else ["sum"])
    for embedding in ["spectral", "hybrid", "table"]
]


@pytest.mark.parametrize(("mixer", "band_mixing", "embedding"), LM_CASES, ids=str)
def test_lm_token_perturbation(mixer: str | list[str], band_mixing: str, embedding: str) -> None:
    model = lm(mixer, band_mixing=band_mixing, embedding=embedding)
    g = torch.Generator().manual_seed(2)
    for T in (32, 19):
        idx = torch.randint(0, 32, (2, T), generator=g)
        for p in (0, 5, T - 1):
            changed = idx.clone()
            changed[:, p:] = (idx[:, p:] + torch.randint(1, 32, idx[:, p:].shape, generator=g)) % 32
            assert_prefix_causal(model, idx, changed, p)


def embedded_forward(model: SpectralLM, idx: Tensor) -> Callable[[Tensor], Tensor]:
    """The LM's own forward pass, but with its embedding output replaced by x (1, T, D)."""

    def f(x: Tensor) -> Tensor:
        handle = model.embed.register_forward_hook(lambda mod, inp, out: x)
        try:
            return model(idx)
        finally:
            handle.remove()

    return f


@pytest.mark.parametrize("mixer", LM_MIXERS, ids=str)
def test_lm_jacobian(mixer: str | list[str]) -> None:
    model = lm(mixer, band_mixing="gate", seq_len=16).double()
    for T in (16, 9):
        idx = torch.randint(0, 32, (1, T))
        x = torch.randn(1, T, 16, dtype=torch.float64)
        assert_lower_triangular(jacobian_by_position(embedded_forward(model, idx), x))


def test_check_catches_a_leak() -> None:
    """The checks above fail on a mixer that reads one step ahead (the seeds' bug)."""

    def leaky(x: Tensor) -> Tensor:
        return x + torch.roll(x, -1, dims=1)  # circular: position t reads t + 1

    x = torch.randn(1, 8, 4, dtype=torch.float64)
    with pytest.raises(AssertionError):
        assert_prefix_causal(leaky, x, perturb_from(x, 4, seed=0), 4)
    with pytest.raises(AssertionError):
        assert_lower_triangular(jacobian_by_position(leaky, x))
