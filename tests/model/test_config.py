"""ModelConfig: every bad value is a ValueError naming the field and the value; JSON round-trips."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from model import MAX_FFN_MULT, MAX_SIZES, BasisSpec, ModelConfig, SpectralLM
from model.config import max_wavelet_levels

REQUIRED: dict[str, Any] = dict(vocab_size=64, seq_len=64, d_model=32, n_layers=2)


def make(**kw: Any) -> ModelConfig:
    return ModelConfig(**(REQUIRED | kw))


def assert_rejected(field: str, shown: str, **kw: Any) -> None:
    """Building with kw raises a ValueError whose message contains `field` and `shown`."""
    with pytest.raises(ValueError) as info:
        make(**kw)
    message = str(info.value)
    assert field in message, message
    assert shown in message, message


BAD_VALUES: list[tuple[str, str, dict[str, Any]]] = [
    # (field named, value shown, overrides)
    ("wavelet", "'db99'", dict(wavelet="db99")),
    ("wavelet", "'morl'", dict(wavelet="morl")),  # continuous: no filter bank
    ("wavelet_levels", "7", dict(wavelet_levels=7)),  # db4 at 64 tokens allows 3
    ("wavelet_levels", "3", dict(wavelet="dmey", wavelet_levels=3, seq_len=256)),
    ("n_heads", "3", dict(mixer="attention", n_heads=3)),
    ("n_heads", "32", dict(mixer="attention", n_heads=32)),  # head size 1: odd, no RoPE pairs
    ("mixer", "'mamba'", dict(mixer="mamba")),
    ("mixer", "'mamba'", dict(mixer=["wavelet", "mamba"])),
    ("mixer", "['wavelet']", dict(mixer=["wavelet"])),  # n_layers=2
    ("embedding", "'onehot'", dict(embedding="onehot")),
    ("band_mixing", "'max'", dict(band_mixing="max")),
    ("harmonic_bases", "0", dict(harmonic_bases=0)),
    ("harmonic_bases", "33", dict(harmonic_bases=33)),  # more than d_model
    ("harmonic_bases", "[]", dict(harmonic_bases=[])),
    ("harmonic_bases", "True", dict(harmonic_bases=True)),
    ("harmonic_bases", "<33 specs>", dict(harmonic_bases=[BasisSpec("sine", 1.0)] * 33)),
    ("harmonic_bases", "wobble", dict(harmonic_bases=[{"family": "sine", "wobble": 1}])),
    ("harmonic_bases[0]", "'square'", dict(harmonic_bases=[BasisSpec("square", 1.0)])),
    (
        "harmonic_bases[1]",
        "frequency=17.0",
        dict(harmonic_bases=[BasisSpec("sine", 1.0)] * 1 + [BasisSpec("sine", 17.0)]),
    ),
    ("harmonic_bases[0]", "frequency=0.0", dict(harmonic_bases=[BasisSpec("sine", 0.0)])),
    ("harmonic_bases[0]", "frequency=nan", dict(harmonic_bases=[BasisSpec("sine", math.nan)])),
    (
        "harmonic_bases[0]",
        "frequency='2'",
        dict(harmonic_bases=[{"family": "sine", "frequency": "2"}]),
    ),
    (
        "harmonic_bases[0]",
        "phase=inf",
        dict(harmonic_bases=[BasisSpec("sine", 1.0, phase=math.inf)]),
    ),
    ("harmonic_bases[0]", "shape=0.0", dict(harmonic_bases=[BasisSpec("gabor", 1.0, shape=0.0)])),
    (
        "harmonic_bases[0]",
        "center=1.5",
        dict(harmonic_bases=[BasisSpec("gabor", 1.0, 0, 0.2, 1.5)]),
    ),
    ("harmonic_bases[0]", "not a spec", dict(harmonic_bases=[3.0])),
    ("spectral_share", "1.5", dict(spectral_share=1.5)),
    ("spectral_share", "-0.1", dict(spectral_share=-0.1)),
    ("spectral_share", "'half'", dict(spectral_share="half")),
    ("dropout", "1.0", dict(dropout=1.0)),
    ("dropout", "-0.5", dict(dropout=-0.5)),
    ("dropout", "nan", dict(dropout=math.nan)),
    ("ffn_mult", "0", dict(ffn_mult=0)),
    ("ffn_mult", "inf", dict(ffn_mult=math.inf)),
    ("tie_head", "'yes'", dict(tie_head="yes")),
    ("learn_basis", "1", dict(learn_basis=1)),
]


@pytest.mark.parametrize(("field", "shown", "kw"), BAD_VALUES, ids=[b[1] for b in BAD_VALUES])
def test_bad_value_is_named(field: str, shown: str, kw: dict[str, Any]) -> None:
    assert_rejected(field, shown, **kw)


@pytest.mark.parametrize(
    "field", ["vocab_size", "seq_len", "d_model", "n_layers", "n_heads", "wavelet_levels"]
)
@pytest.mark.parametrize("value", [0, -3, 2.0, True, "8"])
def test_positive_integers(field: str, value: Any) -> None:
    assert_rejected(field, repr(value), **{field: value})


@pytest.mark.parametrize("field", list(MAX_SIZES))
def test_sizes_stop_at_their_limit(field: str) -> None:
    """A config.json is untrusted: no size may exceed what any training here could produce."""
    most = MAX_SIZES[field]
    fits = dict(mixer="fourier") if field == "wavelet_levels" else {}  # no cascade to fit
    assert getattr(make(**fits, **{field: most}), field) == most
    assert_rejected(field, f"must be an integer from 1 to {most}", **fits, **{field: most + 1})


def test_ffn_mult_stops_at_its_limit() -> None:
    assert make(ffn_mult=MAX_FFN_MULT).ffn_mult == MAX_FFN_MULT
    assert_rejected("ffn_mult", f"<= {MAX_FFN_MULT:g}", ffn_mult=MAX_FFN_MULT * 1.01)


def test_wavelet_levels_bound_follows_filter_length() -> None:
    """PyWavelets' bound: the largest J with (L-1)·2^J <= seq_len, L the filter length."""
    assert max_wavelet_levels("haar", 64) == 6
    assert max_wavelet_levels("db4", 111) == 3  # 7·2^4 = 112 > 111
    assert max_wavelet_levels("db4", 112) == 4
    assert max_wavelet_levels("dmey", 122) == 1  # 61·2 = 122: a 62-tap filter barely fits
    make(wavelet="db4", wavelet_levels=4, seq_len=112)
    assert_rejected("wavelet_levels", "4", wavelet="db4", wavelet_levels=4, seq_len=111)


def test_wavelet_levels_only_checked_for_wavelet_layers() -> None:
    cfg = make(mixer="fourier", wavelet_levels=9)
    assert cfg.wavelet_levels == 9


def test_heads_only_checked_for_attention_layers() -> None:
    make(mixer="fourier", n_heads=3)


def test_valid_edges_are_accepted() -> None:
    make(spectral_share=0.0)
    make(spectral_share=1.0)
    make(dropout=0.0, harmonic_bases=32)
    make(harmonic_bases=[BasisSpec("sine", 16.0, math.pi / 2)])  # exactly Nyquist: cos(πd)


def test_a_basis_function_that_samples_to_zero_is_rejected() -> None:
    with pytest.raises(ValueError, match="samples to zero on the 32-point grid"):
        make(harmonic_bases=[BasisSpec("sine", 16.0)])  # sin(πd) = 0 at every d


def test_mixer_list_is_per_layer() -> None:
    cfg = make(mixer=("wavelet", "attention"))
    assert cfg.mixer == ["wavelet", "attention"] and cfg.layer_mixers == ["wavelet", "attention"]
    assert make(mixer="fourier").layer_mixers == ["fourier", "fourier"]


def test_from_dict_rejects_unknown_and_missing_fields() -> None:
    with pytest.raises(ValueError, match=r"unknown field.*n_experts"):
        ModelConfig.from_dict(REQUIRED | {"n_experts": 8})
    missing = dict(REQUIRED)
    del missing["d_model"]
    with pytest.raises(ValueError, match=r"missing required field.*d_model"):
        ModelConfig.from_dict(missing)


def test_from_dict_validates_values() -> None:
    with pytest.raises(ValueError, match="dropout"):
        ModelConfig.from_dict(REQUIRED | {"dropout": 2.0})


@pytest.mark.parametrize(
    "harmonic_bases",
    [
        12,
        [BasisSpec("gabor", 3.0, 1.0, 0.3, 0.25), BasisSpec("chirp", 2.5, shape=-4.0)],
        [{"family": "damped", "frequency": 7.0, "shape": 1.5}],
    ],
    ids=["int", "specs", "dicts"],
)
def test_json_round_trip(harmonic_bases: Any) -> None:
    cfg = make(
        harmonic_bases=harmonic_bases,
        mixer=["wavelet", "attention"],
        wavelet="sym5",
        wavelet_levels=2,
        band_mixing="gate",
        embedding="hybrid",
        spectral_share=0.5,
        tie_head=False,
    )
    again = ModelConfig.from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert again == cfg
    assert again.basis == cfg.basis
    assert again.to_dict() == cfg.to_dict()


def test_config_builds_what_it_says() -> None:
    """Smoke check that each choice reaches the model that gets built."""
    cfg = make(mixer=["wavelet", "attention"], embedding="table", tie_head=False)
    model = SpectralLM(cfg)
    assert [type(b.mixer).__name__ for b in model.layers] == ["WaveletMixer", "CausalSelfAttention"]
    assert type(model.embed).__name__ == "TableEmbedding" and model.head is not None
