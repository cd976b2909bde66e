"""The genome: harmonic basis functions, wavelet genes and architecture genes, as plain data.

A genome is frozen and JSON-serialisable. Its *expressed* form keeps only the genes that the
built model reads (no wavelet genes without a wavelet layer, no heads without attention, no
basis for a table embedding), each in the canonical form of what the model builds from it:
the wavelet by its filter bank's one name (`canonical_wavelet`: db1 and bior1.1 are haar),
each basis function in its simplest equal form (`BasisSpec.canonical`: a cosine is a shifted
sine), and the FFN by its hidden width. The key is the hash of the expressed form's canonical
JSON, so two genomes that build the same model share one key, one journal entry and one
evaluation. Unexpressed genes are kept, not erased: they drift neutrally and can be switched
back on, so `SearchSpace.problems` checks them too.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from model import BasisSpec, ModelConfig, canonical_wavelet, hidden_width

KEY_LENGTH = 16  # hex digits of sha256: 64 bits, ample for one run's few thousand genomes


@dataclass(frozen=True)
class WaveletGenes:
    name: str = "db4"  # a discrete PyWavelets wavelet
    levels: int = 3  # depth of the causal à trous cascade
    mixing: str = "sum"  # band mixing: "sum" or "gate"


@dataclass(frozen=True)
class ArchGenes:
    d_model: int = 64
    n_layers: int = 2
    mixers: tuple[str, ...] = ("wavelet", "fourier")  # one per layer
    ffn_mult: float = 2.0
    spectral_share: float = 0.25  # α of the spectral FFN
    embedding: str = "spectral"
    n_heads: int = 4


@dataclass(frozen=True)
class Genome:
    basis: tuple[BasisSpec, ...] = field(default_factory=tuple)
    wavelet: WaveletGenes = field(default_factory=WaveletGenes)
    arch: ArchGenes = field(default_factory=ArchGenes)

    def to_dict(self) -> dict[str, Any]:
        return {
            "basis": [b.to_dict() for b in self.basis],
            "wavelet": asdict(self.wavelet),
            "arch": asdict(self.arch) | {"mixers": list(self.arch.mixers)},
        }

    @classmethod
    def from_dict(cls, d: Any) -> Genome:
        """Inverse of `to_dict`. Raises ValueError naming a missing, unknown or mistyped gene.

        Types only (JSON ints are accepted as floats); whether the values fit a search space is
        for `SearchSpace.problems` to say.
        """
        _check_keys("genome", d, {"basis", "wavelet", "arch"})
        if not isinstance(d["basis"], list):
            raise ValueError(f"genome.basis: expected a list, got {d['basis']!r}")
        basis = (_genes(f"genome.basis[{i}]", b, BasisSpec) for i, b in enumerate(d["basis"]))
        return cls(
            tuple(BasisSpec(**b) for b in basis),
            WaveletGenes(**_genes("genome.wavelet", d["wavelet"], WaveletGenes)),
            ArchGenes(**_genes("genome.arch", d["arch"], ArchGenes)),
        )

    def expressed(self) -> dict[str, Any]:
        """The genes the built model reads, as it reads them (see the module docstring).

        Basis functions are canonical (see `BasisSpec.canonical`: the phase wrapped, ignored
        parameters reset, sine-like families as sines), the wavelet is named canonically and the
        FFN is sized by its hidden width, so genomes that differ only in ways the model cannot
        see (phase 0 or 2π, cosine or shifted sine, db1 or haar, ffn_mult 2 or 2.001) share
        one key.
        """
        d = self.to_dict()
        arch = d["arch"]
        arch["spectral_share"] = float(self.arch.spectral_share)
        del arch["ffn_mult"]
        if self.arch.spectral_share < 1.0:  # all spectral (1.0): no MLP to size
            arch["ffn_hidden"] = hidden_width(self.arch.d_model, self.arch.ffn_mult)
        if "wavelet" in self.arch.mixers:
            d["wavelet"]["name"] = canonical_wavelet(self.wavelet.name)
        else:
            del d["wavelet"]
        if "attention" not in self.arch.mixers:
            del arch["n_heads"]
        if self.arch.embedding == "table":
            del d["basis"]
        else:
            d["basis"] = [b.canonical().to_dict() for b in self.basis]
        return d

    @property
    def key(self) -> str:
        """Hash of the canonical JSON of the expressed genes: the journal's cache key."""
        blob = json.dumps(self.expressed(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:KEY_LENGTH]


GENES = (
    "d_model",
    "n_layers",
    "mixers",
    "embedding",
    "n_bases",
    "wavelet",
    "ffn_mult",
    "spectral_share",
    "n_heads",
)


def is_baseline(genome: Genome) -> bool:
    """The plain transformer: every layer attention, a table embedding, an all-MLP FFN (α = 0)."""
    a = genome.arch
    return set(a.mixers) == {"attention"} and a.embedding == "table" and a.spectral_share == 0


def genes(genome: Genome) -> dict[str, Any]:
    """The gene summary columns; genes the model does not read are left empty."""
    a, w = genome.arch, genome.wavelet
    return {
        "d_model": a.d_model,
        "n_layers": a.n_layers,
        "mixers": ",".join(a.mixers),
        "embedding": a.embedding,
        "n_bases": len(genome.basis) if a.embedding != "table" else 0,
        "wavelet": f"{w.name}/{w.levels}/{w.mixing}" if "wavelet" in a.mixers else None,
        "ffn_mult": a.ffn_mult,
        "spectral_share": a.spectral_share,
        "n_heads": a.n_heads if "attention" in a.mixers else None,
    }


def describe(g: Genome) -> str:
    """One line: width, layers, wavelet (if used), embedding and basis size.

    E.g. `d32 WF sym2/2/sum spectral[10] ffn3.13/α0.61`: d_model 32; one letter per layer, the
    first of its mixer's name (W wavelet, F fourier, A attention); the wavelet, its levels and
    band mixing, when a layer uses it; the embedding with its number of basis functions; the
    FFN's width multiplier and spectral share α.
    """
    parts = [f"d{g.arch.d_model}", "".join(m[0].upper() for m in g.arch.mixers)]
    if "wavelet" in g.arch.mixers:
        parts.append(f"{g.wavelet.name}/{g.wavelet.levels}/{g.wavelet.mixing}")
    parts.append(g.arch.embedding + (f"[{len(g.basis)}]" if g.arch.embedding != "table" else ""))
    parts.append(f"ffn{g.arch.ffn_mult:g}/α{g.arch.spectral_share:g}")
    return " ".join(parts)


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


# Each annotation in the gene dataclasses: the JSON value it takes, and the test for one.
JSON_TYPES: dict[str, tuple[str, Callable[[Any], bool]]] = {
    "int": ("an integer", lambda v: _is_number(v) and isinstance(v, int)),
    "float": ("a finite number", lambda v: _is_number(v) and math.isfinite(v)),
    "str": ("a string", lambda v: isinstance(v, str)),
    "tuple[str, ...]": (
        "a list of strings",
        lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
    ),
}


def _check_keys(where: str, d: Any, expected: set[str], optional: set[str] | None = None) -> None:
    if not isinstance(d, dict):
        raise ValueError(f"{where}: expected an object, got {type(d).__name__}")
    missing, unknown = sorted(expected - (optional or set()) - set(d)), sorted(set(d) - expected)
    if missing or unknown:
        raise ValueError(f"{where}: missing {missing}, unknown {unknown}")


def _genes(where: str, d: Any, cls: type) -> dict[str, Any]:
    """The fields of dataclass `cls` from JSON object `d`, each checked against its annotation.

    Fields with a default may be left out (e.g. a basis function's shape).
    """
    fields = {f.name: f for f in dataclasses.fields(cls)}
    has_default = {n for n, f in fields.items() if f.default is not dataclasses.MISSING}
    _check_keys(where, d, set(fields), has_default)
    return {k: _typed(f"{where}.{k}", v, str(fields[k].type)) for k, v in d.items()}


def _typed(where: str, value: Any, annotation: str) -> Any:
    """`value` as a field annotated `annotation` holds it; ValueError naming `where` if it can't."""
    expected, ok = JSON_TYPES[annotation]
    if not ok(value):
        raise ValueError(f"{where}: expected {expected}, got {value!r}")
    if annotation == "float":
        return float(value)
    return tuple(value) if annotation.startswith("tuple") else value


def to_model_config(genome: Genome, vocab_size: int, seq_len: int) -> ModelConfig:
    """The pure genome -> ModelConfig map. Raises ValueError if the genome cannot be built."""
    a, w = genome.arch, genome.wavelet
    return ModelConfig(
        vocab_size=vocab_size,
        seq_len=seq_len,
        d_model=a.d_model,
        n_layers=a.n_layers,
        mixer=list(a.mixers),
        wavelet=w.name,
        wavelet_levels=w.levels,
        band_mixing=w.mixing,
        embedding=a.embedding,
        harmonic_bases=list(genome.basis) if a.embedding != "table" else 1,
        n_heads=a.n_heads,
        ffn_mult=a.ffn_mult,
        spectral_share=a.spectral_share,
    )


def transformer_genome(d_model: int = 64, n_layers: int = 2, n_heads: int = 4) -> Genome:
    """The plain transformer baseline as a genome: attention layers and a table embedding.

    Its basis is empty, as a table embedding reads none; should a mutation switch the embedding
    to a spectral one, `repair` supplies a well-conditioned default basis.
    """
    arch = ArchGenes(
        d_model=d_model,
        n_layers=n_layers,
        mixers=("attention",) * n_layers,
        ffn_mult=4.0,
        spectral_share=0.0,
        embedding="table",
        n_heads=n_heads,
    )
    return Genome(basis=(), arch=arch)
