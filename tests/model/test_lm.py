"""SpectralLM: shapes, save/load without pickle, generation, heads, FFN paths, FLOP accounting."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
from huggingface_hub import ModelCard
from safetensors.torch import load_file, save_file

from model import ModelConfig, SpectralLM
from model.ffn import SpectralFFN

V = 48


def small(**kw: Any) -> SpectralLM:
    base: dict[str, Any] = dict(
        vocab_size=V,
        seq_len=32,
        d_model=16,
        n_layers=2,
        wavelet="db2",
        wavelet_levels=2,
        harmonic_bases=8,
    )
    torch.manual_seed(0)
    return SpectralLM(ModelConfig(**(base | kw))).eval()


KINDS: list[dict[str, Any]] = [
    dict(mixer="wavelet", embedding="spectral"),
    dict(mixer="wavelet", band_mixing="gate", embedding="hybrid"),
    dict(mixer="fourier", embedding="table"),
    dict(mixer="attention", embedding="spectral", tie_head=False),
    dict(mixer=["fourier", "attention"], embedding="spectral", learn_basis=False),
    dict(mixer="wavelet", harmonic_bases=[{"family": "gabor", "frequency": 3.0, "shape": 0.1}]),
]


@pytest.mark.parametrize("kw", KINDS, ids=str)
def test_forward_shapes(kw: dict[str, Any]) -> None:
    model = small(**kw)
    for T in (32, 5, 1):
        logits = model(torch.randint(0, V, (3, T)))
        assert logits.shape == (3, T, V) and torch.isfinite(logits).all()


def test_forward_rejects_long_input() -> None:
    with pytest.raises(ValueError, match="33 tokens exceeds seq_len=32"):
        small()(torch.zeros(1, 33, dtype=torch.long))


def perturb(model: SpectralLM) -> None:
    """Move every parameter off its init (e.g. the hybrid table starts at zero)."""
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.01 * torch.randn_like(p))


@pytest.mark.parametrize("kw", KINDS, ids=str)
def test_save_and_load(kw: dict[str, Any], tmp_path: Path) -> None:
    model = small(**kw)
    perturb(model)
    model.save_pretrained(tmp_path)
    names = ["README.md", "config.json", "model.safetensors"]
    assert sorted(p.name for p in tmp_path.iterdir()) == names
    weights = load_file(str(tmp_path / "model.safetensors"))  # safetensors: no pickle
    assert set(weights) == set(model.state_dict())
    assert ModelConfig.from_dict(json.loads((tmp_path / "config.json").read_text())) == model.cfg
    loaded = SpectralLM.from_pretrained(tmp_path)
    idx = torch.randint(0, V, (2, 32))
    with torch.no_grad():
        torch.testing.assert_close(loaded(idx), model(idx), rtol=0, atol=0)
    assert loaded.num_parameters() == model.num_parameters()


def continuations(model: SpectralLM) -> list[list[int]]:
    """A greedy and a seeded sampled continuation of a fixed prompt."""
    prompt = torch.tensor([[1, 2, 3, 4, 5]])
    sampled = model.generate(prompt, 24, 0.8, 8, generator=torch.Generator().manual_seed(3))
    return [model.generate(prompt, 24, temperature=0)[0].tolist(), sampled[0].tolist()]


GENERATE = """
import json, sys, torch
from model import SpectralLM
from tests.model.test_lm import continuations
print(json.dumps(continuations(SpectralLM.from_pretrained(sys.argv[1]))))
"""


@pytest.mark.parametrize("kw", KINDS[:4], ids=str)
def test_a_saved_model_generates_the_same_text_in_a_fresh_process(
    kw: dict[str, Any], tmp_path: Path
) -> None:
    model = small(**kw)
    perturb(model)
    model.save_pretrained(tmp_path)
    argv = [sys.executable, "-c", GENERATE, str(tmp_path)]
    repo = Path(__file__).parents[2]
    out = subprocess.run(argv, capture_output=True, text=True, check=True, cwd=repo).stdout
    assert json.loads(out) == continuations(model)


def test_a_directory_written_before_the_hub_mixin_still_loads(tmp_path: Path) -> None:
    """What save_pretrained wrote before it came from huggingface_hub's mixin: config.json and
    model.safetensors alone, without the mixin's metadata or a README.md."""
    model = small(mixer="fourier")
    perturb(model)
    (tmp_path / "config.json").write_text(json.dumps(model.cfg.to_dict(), indent=2) + "\n")
    save_file(
        {k: v.contiguous() for k, v in model.state_dict().items()}, tmp_path / "model.safetensors"
    )
    assert continuations(SpectralLM.from_pretrained(tmp_path)) == continuations(model)


def test_save_pretrained_writes_a_hub_model_card(tmp_path: Path) -> None:
    small().save_pretrained(tmp_path)
    data = ModelCard.load(tmp_path / "README.md").data
    assert (data.library_name, data.license, data.pipeline_tag) == (
        "hrfevo",
        "mit",
        "text-generation",
    )
    assert {"hrfevo", "spectral-lm", "pytorch_model_hub_mixin"} <= set(data.tags or [])


def test_generate_crops_a_long_context() -> None:
    model = small()
    seen: list[int] = []
    model.register_forward_pre_hook(lambda mod, args: seen.append(args[0].shape[1]))
    prompt = torch.randint(0, V, (2, 50))  # longer than seq_len=32
    out = model.generate(prompt, 10, temperature=0)
    assert seen == [32] * 10  # every step sees exactly the last seq_len tokens
    assert out.shape == (2, 60)
    assert torch.equal(out[:, :50], prompt)
    # The first new token is the greedy choice given the last seq_len tokens only.
    expected = model(prompt[:, -32:])[:, -1].argmax(-1)
    assert torch.equal(out[:, 50], expected)


def test_generate_is_reproducible_with_a_seeded_generator() -> None:
    model = small(mixer="fourier")
    prompt = torch.randint(0, V, (2, 4))

    def sample(seed: int) -> torch.Tensor:
        return model.generate(prompt, 20, generator=torch.Generator().manual_seed(seed))

    assert torch.equal(sample(1), sample(1))
    assert not torch.equal(sample(1), sample(2))


def test_temperature_zero_is_greedy() -> None:
    model = small(mixer="attention")
    idx = torch.randint(0, V, (3, 6))
    out = model.generate(idx, 8, temperature=0)
    for step in range(8):
        ctx = out[:, : 6 + step]
        assert torch.equal(out[:, 6 + step], model(ctx)[:, -1].argmax(-1))


def test_top_k_restricts_choices() -> None:
    model = small()
    perturb(model)
    idx = torch.randint(0, V, (64, 3))
    allowed = torch.topk(model(idx)[:, -1], 3).indices  # (64, 3)
    g = torch.Generator().manual_seed(0)
    nxt = model.generate(idx, 1, temperature=5.0, top_k=3, generator=g)[:, -1]
    assert (allowed == nxt[:, None]).any(-1).all()
    # top_k=1 is greedy whatever the temperature; a wide top_k draws outside the top 3.
    assert torch.equal(model.generate(idx, 1, temperature=5.0, top_k=1)[:, -1], allowed[:, 0])
    wide = model.generate(idx, 1, temperature=5.0, top_k=V, generator=g)[:, -1]
    assert not (allowed == wide[:, None]).any(-1).all()


def test_untied_head_adds_a_vocab_by_width_matrix() -> None:
    tied, untied = small(tie_head=True), small(tie_head=False)
    assert tied.head is None and untied.head is not None
    assert untied.num_parameters() - tied.num_parameters() == V * 16
    assert untied.flops_breakdown()["head"] == 2 * V * 16


@pytest.mark.parametrize(("share", "mlp", "spectral"), [(0.0, True, False), (1.0, False, True)])
def test_ffn_builds_only_the_used_path(share: float, mlp: bool, spectral: bool) -> None:
    cfg = ModelConfig(
        vocab_size=V, seq_len=8, d_model=16, n_layers=1, mixer="fourier", spectral_share=share
    )
    ffn = SpectralFFN(cfg)
    assert (ffn.mlp is not None) == mlp and (ffn.freq_weight is not None) == spectral
    n = sum(p.numel() for p in ffn.parameters())
    assert n == (16 * 64 + 64 + 64 * 16 + 16 if mlp else 2 * (16 // 2 + 1))
    x = torch.randn(2, 8, 16)
    assert ffn(x).shape == x.shape


def test_spectral_ffn_is_a_circular_convolution_over_features() -> None:
    """α = 1: iFFT(W ⊙ FFT(x)); with W = 1 it is the identity, and it never mixes positions."""
    cfg = ModelConfig(
        vocab_size=V, seq_len=8, d_model=16, n_layers=1, mixer="fourier", spectral_share=1.0
    )
    ffn = SpectralFFN(cfg)
    assert ffn.freq_weight is not None
    with torch.no_grad():
        ffn.freq_weight.zero_()
        ffn.freq_weight[:, 0] = 1.0
    x = torch.randn(2, 8, 16)
    torch.testing.assert_close(ffn(x), x)
    with torch.no_grad():
        ffn.freq_weight.normal_()
    x2 = x.clone()
    x2[:, 5:] = 0
    torch.testing.assert_close(ffn(x2)[:, :5], ffn(x)[:, :5])


def test_spectral_ffn_mixes_both_paths() -> None:
    cfg = ModelConfig(
        vocab_size=V, seq_len=8, d_model=16, n_layers=1, mixer="fourier", spectral_share=0.25
    )
    ffn = SpectralFFN(cfg)
    assert ffn.mlp is not None and ffn.freq_weight is not None
    x = torch.randn(2, 8, 16)
    torch.testing.assert_close(ffn(x), 0.75 * ffn.mlp(x) + 0.25 * ffn.spectral(x))


@pytest.mark.parametrize("kw", KINDS, ids=str)
def test_flops_breakdown_has_every_layer(kw: dict[str, Any]) -> None:
    model = small(**kw)
    parts = model.flops_breakdown()
    mixers = model.cfg.layer_mixers
    expected = {f"layer{i}.{m}" for i, m in enumerate(mixers)} | {
        f"layer{i}.ffn" for i in range(len(mixers))
    }
    assert expected | {"embedding", "head"} == set(parts)
    assert all(v >= 0 for v in parts.values())
    assert all(parts[k] > 0 for k in expected | {"head"})
    assert model.flops_per_token() == pytest.approx(sum(parts.values()))


def test_dropout_is_off_in_eval() -> None:
    model = small(dropout=0.5)
    idx = torch.randint(0, V, (2, 16))
    torch.testing.assert_close(model(idx), model(idx))
    model.train()
    assert not torch.allclose(model(idx), model(idx))


def test_gradients_reach_every_parameter() -> None:
    model = small(mixer=["wavelet", "attention"], band_mixing="gate", embedding="hybrid")
    model.train()
    logits = model(torch.randint(0, V, (2, 32)))
    torch.nn.functional.cross_entropy(logits.flatten(0, 1), torch.randint(0, V, (64,))).backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name
