"""The genome: harmonic basis functions, wavelet genes and architecture genes, as plain data.

A genome is frozen and JSON-serialisable. Its *expressed* form keeps only the genes that the
built model reads (no wavelet genes without a wavelet layer, no heads without attention, no
basis for a table embedding); the key is the hash of the expressed form's canonical JSON, so
two genomes that build the same model share one key, one journal entry and one evaluation.
Unexpressed genes are kept, not erased: they drift neutrally and can be switched back on.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

from model import BasisSpec, ModelConfig
from model.ffn import hidden_width

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
    def from_dict(cls, d: dict[str, Any]) -> Genome:
        """Inverse of `to_dict`. Raises ValueError naming a missing or unknown gene."""
        _check_keys("genome", d, {"basis", "wavelet", "arch"})
        _check_keys("genome.wavelet", d["wavelet"], set(WaveletGenes.__dataclass_fields__))
        _check_keys("genome.arch", d["arch"], set(ArchGenes.__dataclass_fields__))
        try:
            basis = tuple(BasisSpec(**b) for b in d["basis"])
        except TypeError as e:
            raise ValueError(f"genome.basis: bad basis function ({e})") from None
        arch = dict(d["arch"], mixers=tuple(d["arch"]["mixers"]))
        return cls(basis, WaveletGenes(**d["wavelet"]), ArchGenes(**arch))

    def expressed(self) -> dict[str, Any]:
        """The genes the built model reads, as it reads them (see the module docstring).

        Basis functions are canonical (see `BasisSpec.canonical`: the phase wrapped, ignored
        parameters reset) and the FFN is sized by its hidden width, so genomes that differ only
        in ways the model cannot see (phase 0 or 2π, ffn_mult 2 or 2.001) share one key.
        """
        d = self.to_dict()
        d["basis"] = [b.canonical().to_dict() for b in self.basis]
        arch = d["arch"]
        arch["spectral_share"] = float(self.arch.spectral_share)
        del arch["ffn_mult"]
        if self.arch.spectral_share < 1.0:  # all spectral (1.0): no MLP to size
            arch["ffn_hidden"] = hidden_width(self.arch.d_model, self.arch.ffn_mult)
        if "wavelet" not in self.arch.mixers:
            del d["wavelet"]
        if "attention" not in self.arch.mixers:
            del arch["n_heads"]
        if self.arch.embedding == "table":
            del d["basis"]
        return d

    @property
    def key(self) -> str:
        """Hash of the canonical JSON of the expressed genes: the journal's cache key."""
        blob = json.dumps(self.expressed(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:KEY_LENGTH]


def describe(g: Genome) -> str:
    """One line: width, layers, wavelet (if used), embedding and basis size."""
    short = {"wavelet": "W", "fourier": "F", "attention": "A"}
    parts = [f"d{g.arch.d_model}", "".join(short[m] for m in g.arch.mixers)]
    if "wavelet" in g.arch.mixers:
        parts.append(f"{g.wavelet.name}/{g.wavelet.levels}/{g.wavelet.mixing}")
    parts.append(g.arch.embedding + (f"[{len(g.basis)}]" if g.arch.embedding != "table" else ""))
    parts.append(f"ffn{g.arch.ffn_mult:g}/α{g.arch.spectral_share:g}")
    return " ".join(parts)


def _check_keys(where: str, d: Any, expected: set[str]) -> None:
    if not isinstance(d, dict):
        raise ValueError(f"{where}: expected an object, got {type(d).__name__}")
    if set(d) != expected:
        missing, unknown = sorted(expected - set(d)), sorted(set(d) - expected)
        raise ValueError(f"{where}: missing {missing}, unknown {unknown}")


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
    """The plain transformer baseline as a genome: attention layers and a table embedding."""
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
