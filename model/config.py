"""`ModelConfig`: every choice that shapes a spectral LM, validated on construction.

Choices are strings (resolved to modules only when the model is built), so a config is plain
JSON: `ModelConfig.from_dict(json.load(f))` rebuilds it exactly.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pywt

from model.basis import BasisSpec, default_basis
from model.checks import check_int, fail, reject_unknown_fields
from model.mixers import MIXERS

MIXER_CHOICES = tuple(MIXERS)  # the mixer registry's names
EMBEDDING_CHOICES = ("spectral", "hybrid", "table")
BAND_MIXING_CHOICES = ("sum", "gate")
WAVELETS = tuple(pywt.wavelist(kind="discrete"))
WHERE = "ModelConfig"  # how its errors name a field: ModelConfig.d_model=0: ...


def max_wavelet_levels(wavelet: str, seq_len: int) -> int:
    """Deepest causal à trous cascade whose level-J filter still fits in the context.

    PyWavelets' `dwt_max_level`: the largest J with (L-1)·2^J <= seq_len for a filter of
    length L. That keeps the level-J band filter, which spans (L-1)(2^J - 1) + 1 taps, inside
    the context with L-2 taps to spare.
    """
    return int(pywt.dwt_max_level(seq_len, pywt.Wavelet(wavelet).dec_len))


# The largest size of each field. A config.json is untrusted input (model/pretrained.py): these
# bound what building its model could allocate, or how long that could take, before its weights
# are checked against it. Each lies far beyond what is trained here (the search's defaults:
# seq_len 64, d_model <= 128, n_layers <= 4) and at or beyond today's large LMs. The search space
# checks its ranges against them (hrfevo/space.py).
MAX_SEQ_LEN = 2**16  # 65,536 tokens
MAX_SIZES = {
    "vocab_size": 2**18,  # 262,144: the largest subword vocabularies (Gemma's 256k); bytes: 256
    "seq_len": MAX_SEQ_LEN,
    "d_model": 2**14,  # 16,384: wider than GPT-3 175B (12,288)
    "n_layers": 256,  # deeper than GPT-3 175B (96)
    "n_heads": 256,  # heads of 64 channels at the widest d_model
    "wavelet_levels": max_wavelet_levels("haar", MAX_SEQ_LEN),  # 16: haar's deepest cascade
}
MAX_FFN_MULT = 64.0  # an FFN at most 64·d_model wide (GPT's is 4·d_model)


@dataclass(kw_only=True)
class ModelConfig:
    """A spectral LM. Required: vocab_size, seq_len, d_model, n_layers (keyword only)."""

    vocab_size: int  # tokens; 256 for the byte-level default
    seq_len: int  # context length: the longest sequence forward() accepts
    d_model: int  # width of the residual stream (D)
    n_layers: int  # number of pre-norm residual blocks
    # Token mixer: one name for every layer, or a list with one name per layer.
    mixer: str | list[str] = "wavelet"
    wavelet: str = "db4"  # any discrete PyWavelets family name (haar, dbN, symN, coifN, biorN.M...)
    wavelet_levels: int = 3  # depth J of the causal à trous cascade (bands: J details + 1 approx)
    band_mixing: str = "sum"  # "sum": learned per-band filters; "gate": plus per-token band gates
    embedding: str = "spectral"  # "spectral" E = C·Φ, "hybrid" C·Φ + table, "table" (baseline)
    # Number of harmonic basis functions B (a well-conditioned default basis), or explicit specs.
    harmonic_bases: int | list[BasisSpec] = 16
    learn_basis: bool = True  # learn the basis frequencies and phases along with C
    n_heads: int = 4  # attention heads (attention layers only)
    ffn_mult: float = 4.0  # FFN hidden width = ffn_mult · d_model
    spectral_share: float = 0.25  # α in (1-α)·MLP(x) + α·iFFT(W ⊙ FFT(x))
    dropout: float = 0.0
    tie_head: bool = True  # output head shares the embedding (through Φ when spectral)

    def __post_init__(self) -> None:
        for name, most in MAX_SIZES.items():
            check_int(name, getattr(self, name), 1, most, WHERE)
        self._check_mixers()
        self._check_choice("embedding", EMBEDDING_CHOICES)
        self._check_choice("band_mixing", BAND_MIXING_CHOICES)
        self._check_wavelet()
        if "attention" in self.layer_mixers and (
            self.d_model % self.n_heads or (self.d_model // self.n_heads) % 2
        ):
            fail(
                "n_heads",
                self.n_heads,
                f"d_model={self.d_model} must split into heads of even size (for RoPE)",
                WHERE,
            )
        self._check_basis()
        ffn_why = f"must be a number > 0 and <= {MAX_FFN_MULT:g}"
        self._check_number("ffn_mult", lambda v: 0 < v <= MAX_FFN_MULT, ffn_why)
        self._check_number("spectral_share", lambda v: 0 <= v <= 1, "must lie in [0, 1]")
        self._check_number("dropout", lambda v: 0 <= v < 1, "must lie in [0, 1)")
        for name in ("learn_basis", "tie_head"):
            if not isinstance(getattr(self, name), bool):
                fail(name, getattr(self, name), "must be true or false", WHERE)

    def _check_mixers(self) -> None:
        if isinstance(self.mixer, list | tuple):
            self.mixer = list(self.mixer)
            if len(self.mixer) != self.n_layers:
                why = f"list needs one entry per layer (n_layers={self.n_layers})"
                fail("mixer", self.mixer, why, WHERE)
        for m in self.layer_mixers:
            if m not in MIXER_CHOICES:
                why = f"unknown mixer {m!r} (choose from {', '.join(MIXER_CHOICES)})"
                fail("mixer", self.mixer, why, WHERE)

    def _check_wavelet(self) -> None:
        if self.wavelet not in WAVELETS:
            fail(
                "wavelet",
                self.wavelet,
                "not a discrete PyWavelets wavelet (see pywt.wavelist)",
                WHERE,
            )
        if "wavelet" in self.layer_mixers:
            deepest = max_wavelet_levels(self.wavelet, self.seq_len)
            if self.wavelet_levels > deepest:
                why = f"{self.wavelet} allows at most {deepest} levels at seq_len={self.seq_len}"
                fail("wavelet_levels", self.wavelet_levels, why, WHERE)

    def _check_number(self, name: str, ok: Callable[[float], bool], why: str) -> None:
        value = getattr(self, name)
        if isinstance(value, bool) or not isinstance(value, int | float) or not ok(value):
            fail(name, value, why, WHERE)  # NaN fails every comparison, so it lands here too

    def _check_choice(self, name: str, choices: tuple[str, ...]) -> None:
        if getattr(self, name) not in choices:
            fail(name, getattr(self, name), f"choose from {', '.join(choices)}", WHERE)

    def _check_basis(self) -> None:
        hb = self.harmonic_bases
        if isinstance(hb, int) and not isinstance(hb, bool):
            if not 1 <= hb <= self.d_model:
                fail("harmonic_bases", hb, f"must lie in [1, d_model={self.d_model}]", WHERE)
            return
        if not isinstance(hb, list | tuple) or not hb:
            fail("harmonic_bases", hb, "must be a positive int or a non-empty list of specs", WHERE)
        try:
            specs = [BasisSpec(**s) if isinstance(s, dict) else s for s in hb]
        except TypeError as e:
            raise ValueError(f"ModelConfig.harmonic_bases: bad basis spec ({e})") from None
        if len(specs) > self.d_model:
            fail(
                "harmonic_bases", f"<{len(specs)} specs>", f"at most d_model={self.d_model}", WHERE
            )
        for i, spec in enumerate(specs):
            why = spec.problem(self.d_model) if isinstance(spec, BasisSpec) else "not a spec"
            if why:
                fail(f"harmonic_bases[{i}]", spec, why, WHERE)
        self.harmonic_bases = specs

    @property
    def layer_mixers(self) -> list[str]:
        """The mixer name of each layer."""
        return list(self.mixer) if isinstance(self.mixer, list) else [self.mixer] * self.n_layers

    @property
    def basis(self) -> list[BasisSpec]:
        """The harmonic basis functions, resolved from `harmonic_bases`."""
        hb = self.harmonic_bases
        return list(hb) if isinstance(hb, list) else default_basis(hb, self.d_model)

    def to_dict(self) -> dict[str, Any]:
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        if isinstance(self.mixer, list):
            d["mixer"] = list(self.mixer)  # a copy: editing the dict must not edit the config
        if isinstance(self.harmonic_bases, list):
            d["harmonic_bases"] = [s.to_dict() for s in self.harmonic_bases]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelConfig:
        """Inverse of `to_dict`; an unknown key is a ValueError naming it."""
        reject_unknown_fields(cls, d, "ModelConfig")
        missing = [n for n in ("vocab_size", "seq_len", "d_model", "n_layers") if n not in d]
        if missing:
            raise ValueError(f"ModelConfig: missing required field(s) {', '.join(missing)}")
        return cls(**d)
