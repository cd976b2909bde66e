"""SpectralAnalyzer: shares that add up to the model as built, from its structure."""

from __future__ import annotations

from typing import Any

import pytest

from model import ModelConfig, SpectralLM
from model.analysis import SpectralAnalyzer

BASE = {
    "vocab_size": 256,
    "seq_len": 32,
    "d_model": 32,
    "n_layers": 2,
    "n_heads": 4,
    "wavelet_levels": 2,
}


def analyze(**kw: Any) -> tuple[SpectralLM, dict[str, Any]]:
    model = SpectralLM(ModelConfig(**(BASE | kw)))
    return model, SpectralAnalyzer(model).analyze()


@pytest.mark.parametrize(
    "kw",
    [
        {"mixer": "attention", "embedding": "table", "spectral_share": 0.0},
        {"mixer": ["wavelet", "fourier"], "embedding": "hybrid", "band_mixing": "gate"},
        {"mixer": "fourier", "tie_head": False, "spectral_share": 1.0},
        {"mixer": ["attention", "wavelet"], "learn_basis": False},
    ],
)
def test_components_add_up_to_the_model(kw: dict[str, Any]) -> None:
    model, a = analyze(**kw)
    assert a["params"]["total"] == model.num_parameters()
    assert a["flops"]["total"] == pytest.approx(model.flops_per_token(), rel=1e-12)
    names = [c["name"] for c in a["components"]]
    assert len(names) == len(set(names))
    for measure in ("params", "flops"):
        spectral = sum(c[measure] for c in a["components"] if c["spectral"])
        assert a[measure]["spectral"] == pytest.approx(spectral)
        assert 0.0 <= a[measure]["share"] <= 1.0


def test_the_transformer_baseline_has_nothing_spectral() -> None:
    _, a = analyze(mixer="attention", embedding="table", spectral_share=0.0)
    assert a["params"]["share"] == 0.0 and a["flops"]["share"] == 0.0


def test_spectral_paths_are_found_by_structure() -> None:
    model, a = analyze(mixer=["wavelet", "fourier"], embedding="hybrid")
    parts = {c["name"]: c for c in a["components"]}
    assert parts["layer0.wavelet"]["spectral"] and parts["layer1.fourier"]["spectral"]
    assert parts["layer0.wavelet"]["params"] == sum(
        p.numel() for p in model.layers[0].mixer.parameters()
    )
    # The FFN splits into its MLP (dense) and its frequency-domain path (spectral).
    assert not parts["layer0.ffn.mlp"]["spectral"] and parts["layer0.ffn.spectral"]["spectral"]
    assert parts["layer0.ffn.spectral"]["params"] == 32 // 2 + 1 + 32 // 2 + 1  # D/2+1 complex
    assert parts["layer0.ffn.mlp"]["flops"] == 2 * 2 * 32 * 128
    # The hybrid embedding: C·Φ is spectral, the table and its share of the head are not.
    assert parts["embedding.spectral"]["params"] == 256 * 16 + 2 * 16  # C, frequencies, phases
    assert (
        parts["embedding.table"]["params"] == 256 * 32 and not parts["embedding.table"]["spectral"]
    )
    assert parts["head.spectral"]["flops"] == 2 * (32 * 16 + 16 * 256)
    assert parts["head.table"]["flops"] == 2 * 32 * 256


def test_an_all_spectral_model_is_mostly_spectral() -> None:
    _, a = analyze(mixer="fourier", spectral_share=1.0)
    assert a["flops"]["share"] > 0.99  # only LayerNorms (no FLOPs counted) are left
    assert a["params"]["share"] > 0.95


def test_report_is_a_markdown_table_with_every_component() -> None:
    model = SpectralLM(ModelConfig(**BASE, mixer="wavelet"))
    analyzer = SpectralAnalyzer(model)
    report = analyzer.report()
    lines = report.splitlines()
    assert lines[0].startswith("| component |") and set(lines[1]) <= set("|-:")
    assert len(lines) == 2 + len(analyzer.components()) + 1
    assert "spectral total" in lines[-1]
