"""`SearchSpace`: the bounds and choices of every gene, validated on construction.

`problems` checks every gene of a genome, expressed or not: an unexpressed gene can be switched
back on by a mutation, and `to_model_config` passes it to `ModelConfig` either way.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import pywt

from hrfevo.genome import Genome
from model import (
    BAND_MIXING_CHOICES,
    EMBEDDING_CHOICES,
    FAMILIES,
    MAX_FFN_MULT,
    MAX_SIZES,
    MIXER_CHOICES,
    BasisSpec,
    ModelConfig,
    fail,
    is_int,
    is_number,
    max_wavelet_levels,
    reject_unknown_fields,
    wavelet_aliases,
)

# Basis frequencies, in cycles across the embedding axis: at least MIN_FREQUENCY (slower, a
# function is all but constant over the D coordinates), and half a cycle below Nyquist (D/2),
# where a sine of some phases samples to all zeros on the grid.
MIN_FREQUENCY = 0.05
NYQUIST_MARGIN = 0.5
DECIMALS = 4  # genes are rounded so that a genome's JSON (and its key) is stable
WHERE = "space"  # how its errors name a field: space.d_model=[64, 16]: ...


@dataclass(kw_only=True)
class SearchSpace:
    vocab_size: int = 256  # byte-level tokens
    seq_len: int = 64  # context length of every proxy model
    d_model: list[int] = field(default_factory=lambda: [32, 48, 64, 96, 128])  # width choices
    n_layers: list[int] = field(default_factory=lambda: [1, 4])  # [min, max]
    mixers: list[str] = field(default_factory=lambda: list(MIXER_CHOICES))
    # PyWavelets families to draw from (haar, db, sym, coif, bior, rbio, dmey), and the longest
    # decomposition filter allowed: long filters leave room for few levels at short contexts.
    wavelet_families: list[str] = field(
        default_factory=lambda: ["haar", "db", "sym", "coif", "bior"]
    )
    max_wavelet_taps: int = 16
    levels: list[int] = field(default_factory=lambda: [1, 6])  # [min, max], also capped by seq_len
    band_mixing: list[str] = field(default_factory=lambda: list(BAND_MIXING_CHOICES))
    embeddings: list[str] = field(default_factory=lambda: list(EMBEDDING_CHOICES))
    n_bases: list[int] = field(default_factory=lambda: [4, 32])  # [min, max] basis functions
    basis_families: list[str] = field(default_factory=lambda: list(FAMILIES))
    ffn_mult: list[float] = field(default_factory=lambda: [1.0, 4.0])  # [min, max]
    spectral_share: list[float] = field(default_factory=lambda: [0.0, 1.0])  # [min, max]
    n_heads: list[int] = field(default_factory=lambda: [1, 2, 4, 8])  # choices
    # Caps on the model a genome builds: one over a cap is the genome's own failure, rejected
    # before training (deterministic, unlike a time-out, which is the machine's).
    max_flops_per_token: float | None = None
    max_params: int | None = None

    def __post_init__(self) -> None:
        for name in ("vocab_size", "seq_len", "max_wavelet_taps"):
            if not is_int(getattr(self, name)) or getattr(self, name) < 1:
                fail(name, getattr(self, name), "must be a positive integer", WHERE)
        if self.vocab_size < 256:
            fail("vocab_size", self.vocab_size, "byte tokens need at least 256", WHERE)
        for name in ("n_layers", "levels", "n_bases"):
            self._check_range(name, is_int, "integers")
        for name in ("ffn_mult", "spectral_share"):
            self._check_range(name, is_number, "finite numbers")
        self._check_subset("mixers", MIXER_CHOICES)
        self._check_subset("wavelet_families", tuple(pywt.families(short=True)))
        self._check_subset("band_mixing", BAND_MIXING_CHOICES)
        self._check_subset("embeddings", EMBEDDING_CHOICES)
        self._check_subset("basis_families", tuple(FAMILIES))
        self._check_choices("d_model", "even integers >= 2", lambda d: d >= 2 and d % 2 == 0)
        if self.n_bases[0] < 1 or self.n_bases[1] > min(self.d_model):
            why = f"must lie within [1, min(d_model)={min(self.d_model)}]"
            fail("n_bases", self.n_bases, why, WHERE)
        if self.spectral_share[0] < 0 or self.spectral_share[1] > 1:
            fail("spectral_share", self.spectral_share, "must lie within [0, 1]", WHERE)
        if self.ffn_mult[0] <= 0:
            fail("ffn_mult", self.ffn_mult, "minimum must be > 0", WHERE)
        self._check_choices("n_heads", "positive integers", lambda h: h >= 1)
        self._check_limits()
        for name in ("max_flops_per_token", "max_params"):
            cap = getattr(self, name)
            if cap is not None and not (is_number(cap) and cap > 0):
                fail(name, cap, "must be a positive number, or null for no cap", WHERE)
        if not self.wavelets:
            why = f"no wavelet with <= {self.max_wavelet_taps} taps fits seq_len={self.seq_len}"
            fail("wavelet_families", self.wavelet_families, why, WHERE)
        if "attention" in self.mixers and any(not self.heads_for(d) for d in self.d_model):
            why = "some d_model choice has no head count with even size"
            fail("n_heads", self.n_heads, why, WHERE)

    def _check_limits(self) -> None:
        """No gene may reach past the sizes a ModelConfig allows (model.MAX_SIZES)."""
        largest = {  # a field of the space: its largest value, the ModelConfig field it sets
            "vocab_size": (self.vocab_size, "vocab_size"),
            "seq_len": (self.seq_len, "seq_len"),
            "d_model": (self.d_model[-1], "d_model"),  # the lists are increasing
            "n_layers": (self.n_layers[1], "n_layers"),
            "levels": (self.levels[1], "wavelet_levels"),
            "n_heads": (self.n_heads[-1], "n_heads"),
            "ffn_mult": (self.ffn_mult[1], "ffn_mult"),
        }
        limits = MAX_SIZES | {"ffn_mult": MAX_FFN_MULT}
        for name, (value, model_field) in largest.items():
            if value > limits[model_field]:
                why = f"a model's {model_field} is at most {limits[model_field]:g}"
                fail(name, getattr(self, name), why, WHERE)

    def _check_range(self, name: str, kind: Callable[[Any], bool], kinds: str) -> None:
        """A [min, max] pair of `kinds` (as `kind` tells them) with 0 <= min <= max."""
        lo_hi = getattr(self, name)
        if not (
            isinstance(lo_hi, list | tuple)
            and len(lo_hi) == 2
            and all(kind(v) for v in lo_hi)
            and 0 <= lo_hi[0] <= lo_hi[1]
        ):
            fail(name, lo_hi, f"must be [min, max]: two {kinds} with 0 <= min <= max", WHERE)
        if name in ("n_layers", "levels") and lo_hi[0] < 1:
            fail(name, lo_hi, "minimum must be >= 1", WHERE)
        setattr(self, name, list(lo_hi))

    def _check_choices(self, name: str, kinds: str, ok: Callable[[int], bool]) -> None:
        """A list of numbers to choose from, strictly increasing: [64, 16] is refused rather
        than sorted, because the order is the one random draws index (a sorted copy would
        draw other genomes), and it may be a reversed [min, max] that meant a range."""
        values = getattr(self, name)
        if not (
            isinstance(values, list | tuple) and values and all(is_int(v) and ok(v) for v in values)
        ):
            fail(name, values, f"must be a non-empty list of {kinds}", WHERE)
        if any(a >= b for a, b in itertools.pairwise(values)):
            why = f"must be strictly increasing: it lists the choices, e.g. {sorted(set(values))}"
            fail(name, values, why, WHERE)
        setattr(self, name, list(values))

    def _check_subset(self, name: str, known: tuple[str, ...]) -> None:
        """A non-empty list of names from `known`, each at most once."""
        chosen = getattr(self, name)
        if not isinstance(chosen, list) or not chosen:
            fail(name, chosen, f"must be a non-empty list chosen from {', '.join(known)}", WHERE)
        bad = [c for c in chosen if c not in known]
        if bad:
            why = f"unknown {bad}; choose a non-empty subset of {', '.join(known)}"
            fail(name, chosen, why, WHERE)
        if len(set(chosen)) != len(chosen):
            fail(name, chosen, "names a choice twice (each once: the draw is uniform)", WHERE)

    @cached_property
    def wavelets(self) -> list[str]:
        """Allowed wavelet names, grouped by family in order of filter length.

        One name per filter bank (see `model.wavelets.wavelet_aliases`): of haar, db1 and
        bior1.1 only the first allowed in canonical order is kept, so no mutation can switch a
        wavelet to an alias of itself.
        """
        fits = [
            name
            for fam in self.wavelet_families
            for name in pywt.wavelist(fam, kind="discrete")
            if pywt.Wavelet(name).dec_len <= self.max_wavelet_taps
            and max_wavelet_levels(name, self.seq_len) >= self.levels[0]
        ]
        return [n for n in fits if next(a for a in wavelet_aliases(n) if a in fits) == n]

    def wavelet_member(self, name: str) -> str | None:
        """The allowed wavelet with the filter bank of `name` (`name` itself or an alias)."""
        return next((a for a in wavelet_aliases(name) if a in self.wavelets), None)

    def max_levels(self, wavelet: str) -> int:
        return min(self.levels[1], max_wavelet_levels(wavelet, self.seq_len))

    def heads_for(self, d_model: int) -> list[int]:
        """Head counts that split d_model into heads of even size (RoPE rotates pairs)."""
        return [h for h in self.n_heads if d_model % h == 0 and (d_model // h) % 2 == 0]

    def largest_models(self) -> list[ModelConfig]:
        """The biggest model of each mixer in this space, for estimating the memory a genome
        may need: the widest and deepest, with the longest cascade, the largest embedding,
        FFN and basis the space allows. Memory adds up layer by layer, so no genome that
        mixes mixers needs more than the largest of these."""
        d_model = self.d_model[-1]  # the choices increase
        wavelet = max(self.wavelets, key=self.max_levels)
        embedding = next(e for e in ("hybrid", "table", "spectral") if e in self.embeddings)
        return [
            ModelConfig(
                vocab_size=self.vocab_size,
                seq_len=self.seq_len,
                d_model=d_model,
                n_layers=self.n_layers[1],
                mixer=mixer,
                wavelet=wavelet,
                wavelet_levels=self.max_levels(wavelet),
                band_mixing="gate" if "gate" in self.band_mixing else self.band_mixing[0],
                embedding=embedding,
                harmonic_bases=self.n_bases[1],
                n_heads=max(self.heads_for(d_model) or self.n_heads),
                ffn_mult=self.ffn_mult[1],
                spectral_share=self.spectral_share[0],  # below 1: the MLP is built
            )
            for mixer in self.mixers
        ]

    def problems(self, g: Genome) -> list[str]:
        """Every way in which a genome falls outside this space (empty if it fits).

        Every gene is checked, expressed or not. Two exceptions follow the operators: a wavelet
        is accepted under any alias of an allowed one (`repair` renames it), and a table
        embedding may carry an empty basis (`repair` fills one in when the embedding changes).
        Heads must split d_model into even heads even without attention, as `repair` keeps
        them; a width with no such head count (a space without attention) takes any listed one.
        Never raises on a genome that `Genome.from_dict` accepted.
        """
        a, w, out = g.arch, g.wavelet, []
        if a.d_model not in self.d_model:
            out.append(f"arch.d_model={a.d_model} not in {self.d_model}")
        if not self.n_layers[0] <= a.n_layers <= self.n_layers[1]:
            out.append(f"arch.n_layers={a.n_layers} outside {self.n_layers}")
        if len(a.mixers) != a.n_layers or any(m not in self.mixers for m in a.mixers):
            out.append(f"arch.mixers={list(a.mixers)} needs {a.n_layers} of {self.mixers}")
        if a.embedding not in self.embeddings:
            out.append(f"arch.embedding={a.embedding!r} not in {self.embeddings}")
        for name in ("ffn_mult", "spectral_share"):
            lo, hi = getattr(self, name)
            if not lo <= getattr(a, name) <= hi:
                out.append(f"arch.{name}={getattr(a, name)} outside [{lo}, {hi}]")
            if round(getattr(a, name), DECIMALS) != getattr(a, name):
                out.append(f"arch.{name}={getattr(a, name)} has more than {DECIMALS} decimals")
        heads = self.heads_for(a.d_model) or self.n_heads
        if a.n_heads not in heads:
            out.append(f"arch.n_heads={a.n_heads} not in {heads}")
        return out + self._wavelet_problems(w.name, w.levels, w.mixing) + self._basis_problems(g)

    def _wavelet_problems(self, name: str, levels: int, mixing: str) -> list[str]:
        member = self.wavelet_member(name)
        if member is None:
            return [f"wavelet.name={name!r} not among the {len(self.wavelets)} allowed wavelets"]
        out = []
        if not self.levels[0] <= levels <= self.max_levels(member):
            out.append(
                f"wavelet.levels={levels} outside [{self.levels[0]}, {self.max_levels(member)}]"
            )
        if mixing not in self.band_mixing:
            out.append(f"wavelet.mixing={mixing!r} not in {self.band_mixing}")
        return out

    def _basis_problems(self, g: Genome) -> list[str]:
        lo, hi = self.n_bases
        n = len(g.basis)
        fits = lo <= n <= hi or (n == 0 and g.arch.embedding == "table")
        out = [] if fits else [f"basis: {n} functions, not in [{lo}, {hi}]"]
        if g.arch.d_model not in self.d_model:  # no width to check against (and D may be huge)
            return out
        for i, b in enumerate(g.basis):
            why = b.problem(g.arch.d_model)
            low, high = frequency_range(g.arch.d_model)
            if why is None and b.frequency < low:
                why = f"frequency {b.frequency} below the lowest allowed, {low}"
            if why is None and b.frequency > high:
                why = f"frequency {b.frequency} within {NYQUIST_MARGIN} of Nyquist"
            if why is None and b.family not in self.basis_families:
                why = f"family {b.family!r} not in {self.basis_families}"
            if why is None:
                why = _form_problem(b)
            if why:
                out.append(f"basis[{i}]: {why}")
        return out

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SearchSpace:
        reject_unknown_fields(cls, d, "space")
        return cls(**d)


def frequency_range(d_model: int) -> tuple[float, float]:
    """The basis frequencies a genome of width d_model may hold, [low, high] in cycles: what the
    space checks, `repair` clamps to and the fixed-length encoding spans."""
    return MIN_FREQUENCY, d_model / 2 - NYQUIST_MARGIN


def _form_problem(b: BasisSpec) -> str | None:
    """Why a basis function, valid otherwise, is not in the form `repair` writes (so that repair
    would move it), or None: a phase in [0, 2π), genes its family does not read at their
    defaults, and every gene rounded to DECIMALS."""
    family = FAMILIES[b.family]
    if not 0.0 <= b.phase < 2 * math.pi:
        return f"phase {b.phase} outside [0, 2π)"
    if not family.shape_range and b.shape != 0.0:
        return f"shape {b.shape}: {b.family} reads no shape, so it must be 0"
    if not family.uses_center and b.center != 0.5:
        return f"center {b.center}: {b.family} reads no center, so it must be 0.5"
    for name in ("frequency", "phase", "shape", "center"):
        if round(getattr(b, name), DECIMALS) != getattr(b, name):
            return f"{name} {getattr(b, name)} has more than {DECIMALS} decimals"
    return None
