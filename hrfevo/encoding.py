"""Fixed-length encodings of candidates, for samplers that need a static search space.

Optuna's samplers model a fixed set of named parameters, each a categorical choice, an integer
range or a float range. A genome is not fixed: its depth and its number of basis functions
vary. `GenomeEncoding` gives it a fixed length with *slots*: a mixer for every layer the space
allows and five genes for every basis function it allows. Slots beyond the genome's depth or
basis size are inactive: `decode` ignores them and `encode` fills them with defaults.

`decode` maps every assignment of the parameters to a candidate in the space (through
`repair`), and `encode` inverts it on the space's candidates: decode(encode(x)) has x's key.
Both are pure, so a study rebuilt from stored parameters decodes to the same genomes.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

from hrfevo.genome import ArchGenes, Genome, WaveletGenes
from hrfevo.operators import MIN_FREQUENCY, repair
from hrfevo.problem import Candidate
from hrfevo.space import NYQUIST_MARGIN, SearchSpace
from model import FAMILIES, BasisSpec

Params = dict[str, Any]
TWO_PI = 2 * math.pi


@dataclass(frozen=True)
class Param:
    """One parameter: a categorical over `choices`, or a range [low, high] of ints or floats."""

    name: str
    choices: tuple[Any, ...] = ()
    low: float = 0.0
    high: float = 1.0
    integer: bool = False

    @property
    def categorical(self) -> bool:
        return bool(self.choices)


class Encoding(ABC):
    """A problem's candidates as a fixed list of parameters."""

    params: list[Param]

    @abstractmethod
    def decode(self, params: Params) -> Candidate:
        """The candidate an assignment of every parameter stands for (always a valid one)."""

    @abstractmethod
    def encode(self, x: Candidate) -> Params:
        """An assignment that decodes to x (to a candidate with x's key)."""


class UnitCubeEncoding(Encoding):
    """Candidates {"x": [x0, ..., xn-1]} on [0, 1]^n, one float parameter per coordinate."""

    def __init__(self, n_dim: int) -> None:
        self.params = [Param(f"x{i}") for i in range(n_dim)]

    def decode(self, params: Params) -> Candidate:
        return {"x": [round(float(params[p.name]), 12) for p in self.params]}

    def encode(self, x: Candidate) -> Params:
        return {p.name: float(v) for p, v in zip(self.params, x["x"], strict=True)}


class GenomeEncoding(Encoding):
    """A `SearchSpace`'s genomes: size, mixer, FFN, embedding, wavelet and basis genes.

    A basis function's frequency is a fraction in [0, 1], log-spaced from MIN_FREQUENCY up to
    half a cycle below the chosen width's Nyquist limit, so every value is valid at every
    width; its shape is a fraction of its family's shape range.
    """

    def __init__(self, space: SearchSpace) -> None:
        self.space = space
        s = space
        self.max_layers, self.max_bases = s.n_layers[1], min(s.n_bases[1], max(s.d_model))
        self.params = [
            Param("d_model", choices=tuple(s.d_model)),
            Param("n_layers", low=s.n_layers[0], high=s.n_layers[1], integer=True),
            *(Param(f"mixer{i}", choices=tuple(s.mixers)) for i in range(self.max_layers)),
            Param("ffn_mult", low=s.ffn_mult[0], high=s.ffn_mult[1]),
            Param("spectral_share", low=s.spectral_share[0], high=s.spectral_share[1]),
            Param("embedding", choices=tuple(s.embeddings)),
            Param("n_heads", choices=tuple(s.n_heads)),
            Param("wavelet", choices=tuple(s.wavelets)),
            Param("levels", low=s.levels[0], high=s.levels[1], integer=True),
            Param("mixing", choices=tuple(s.band_mixing)),
            Param("n_bases", low=s.n_bases[0], high=self.max_bases, integer=True),
        ]
        for j in range(self.max_bases):
            self.params += [
                Param(f"basis{j}.family", choices=tuple(s.basis_families)),
                Param(f"basis{j}.frequency"),
                Param(f"basis{j}.phase", high=TWO_PI),
                Param(f"basis{j}.shape"),
                Param(f"basis{j}.center"),
            ]

    def decode(self, params: Params) -> Candidate:
        d_model, n_layers = int(params["d_model"]), int(params["n_layers"])
        arch = ArchGenes(
            d_model=d_model,
            n_layers=n_layers,
            mixers=tuple(params[f"mixer{i}"] for i in range(n_layers)),
            ffn_mult=float(params["ffn_mult"]),
            spectral_share=float(params["spectral_share"]),
            embedding=params["embedding"],
            n_heads=int(params["n_heads"]),
        )
        wavelet = WaveletGenes(params["wavelet"], int(params["levels"]), params["mixing"])
        n_bases = min(int(params["n_bases"]), d_model)
        basis = tuple(self._basis_function(params, j, d_model) for j in range(n_bases))
        return repair(Genome(basis, wavelet, arch), self.space).to_dict()

    def _basis_function(self, params: Params, j: int, d_model: int) -> BasisSpec:
        family = params[f"basis{j}.family"]
        shape_range = FAMILIES[family].shape_range
        lo, hi = shape_range or (0.0, 0.0)
        return BasisSpec(
            family=family,
            frequency=_log_lerp(float(params[f"basis{j}.frequency"]), *_frequencies(d_model)),
            phase=float(params[f"basis{j}.phase"]),
            shape=lo + float(params[f"basis{j}.shape"]) * (hi - lo),
            center=float(params[f"basis{j}.center"]),
        )

    def encode(self, x: Candidate) -> Params:
        g = repair(Genome.from_dict(x), self.space)
        a, w = g.arch, g.wavelet
        mixers = list(a.mixers) + [a.mixers[-1]] * (self.max_layers - a.n_layers)
        params: Params = {
            "d_model": a.d_model,
            "n_layers": a.n_layers,
            **{f"mixer{i}": m for i, m in enumerate(mixers)},
            "ffn_mult": a.ffn_mult,
            "spectral_share": a.spectral_share,
            "embedding": a.embedding,
            "n_heads": a.n_heads,
            "wavelet": w.name,
            "levels": w.levels,
            "mixing": w.mixing,
            # a table embedding may carry no basis: it reads none, so any count decodes alike
            "n_bases": max(len(g.basis), self.space.n_bases[0]),
        }
        for j in range(self.max_bases):
            params |= self._encode_function(g.basis[j] if j < len(g.basis) else None, j, a)
        return params

    def _encode_function(self, b: BasisSpec | None, j: int, a: ArchGenes) -> Params:
        if b is None:  # an inactive slot
            b = BasisSpec(self.space.basis_families[0], frequency=1.0)
        lo, hi = FAMILIES[b.family].shape_range or (0.0, 0.0)
        return {
            f"basis{j}.family": b.family,
            f"basis{j}.frequency": _log_fraction(b.frequency, *_frequencies(a.d_model)),
            f"basis{j}.phase": b.phase,
            f"basis{j}.shape": (b.shape - lo) / (hi - lo) if hi > lo else 0.0,
            f"basis{j}.center": b.center,
        }


def _frequencies(d_model: int) -> tuple[float, float]:
    """The range of basis frequencies `repair` allows at width d_model."""
    return MIN_FREQUENCY, d_model / 2 - NYQUIST_MARGIN


def _log_lerp(t: float, lo: float, hi: float) -> float:
    return math.exp(math.log(lo) + t * (math.log(hi) - math.log(lo)))


def _log_fraction(v: float, lo: float, hi: float) -> float:
    return min(max((math.log(v) - math.log(lo)) / (math.log(hi) - math.log(lo)), 0.0), 1.0)
