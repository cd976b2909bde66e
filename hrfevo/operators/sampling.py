"""Sampling: random genomes and basis functions, drawn from the search space.

Widths, depths and choices are uniform over the space; a basis function's frequency is
log-uniform, so low and high frequencies are drawn equally often per octave.
"""

from __future__ import annotations

import math

import numpy as np

from hrfevo.genome import ArchGenes, Genome, WaveletGenes
from hrfevo.operators.draw import Rng, pick, uniform
from hrfevo.operators.repair import repair
from hrfevo.space import SearchSpace
from model import FAMILIES, BasisSpec


def random_basis_function(space: SearchSpace, d_model: int, rng: Rng) -> BasisSpec:
    """A basis function of an allowed family, with a log-uniform frequency below Nyquist."""
    family = pick(rng, space.basis_families)
    lo_hi = FAMILIES[family].shape_range
    return BasisSpec(
        family=family,
        frequency=float(np.exp(rng.uniform(math.log(0.5), math.log(d_model / 2)))),  # log-uniform
        phase=float(rng.uniform(0, 2 * math.pi)),
        shape=uniform(rng, lo_hi) if lo_hi else 0.0,
        center=float(rng.uniform(0, 1)),
    )


def random_genome(space: SearchSpace, rng: Rng) -> Genome:
    """A genome with every gene drawn from the space, repaired into it."""
    d_model = pick(rng, space.d_model)
    n_layers = int(rng.integers(space.n_layers[0], space.n_layers[1] + 1))
    name = pick(rng, space.wavelets)
    heads = space.heads_for(d_model) or space.n_heads
    arch = ArchGenes(
        d_model=d_model,
        n_layers=n_layers,
        mixers=tuple(pick(rng, space.mixers) for _ in range(n_layers)),
        ffn_mult=uniform(rng, space.ffn_mult),
        spectral_share=uniform(rng, space.spectral_share),
        embedding=pick(rng, space.embeddings),
        n_heads=pick(rng, heads),
    )
    wavelet = WaveletGenes(
        name=name,
        levels=int(rng.integers(space.levels[0], space.max_levels(name) + 1)),
        mixing=pick(rng, space.band_mixing),
    )
    n_bases = int(rng.integers(space.n_bases[0], min(space.n_bases[1], d_model) + 1))
    basis = tuple(random_basis_function(space, d_model, rng) for _ in range(n_bases))
    return repair(Genome(basis, wavelet, arch), space)
