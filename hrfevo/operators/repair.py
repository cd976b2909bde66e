"""Repair: map any genome to the nearest one the search space allows.

Repair is deterministic (it draws nothing), so every operator can make a change freely and
let `repair` bring the result back into the space. Valid genomes are its fixed points.
"""

from __future__ import annotations

import math

import pywt

from hrfevo.genome import ArchGenes, Genome, WaveletGenes
from hrfevo.space import DECIMALS, SearchSpace, frequency_range
from model import FAMILIES, BasisSpec, default_basis


def _clamp(x: float, lo: float, hi: float) -> float:
    return round(min(max(float(x), lo), hi), DECIMALS)


def _nearest(x: int, options: list[int]) -> int:
    return min(options, key=lambda o: (abs(o - x), o))


def repair(g: Genome, space: SearchSpace) -> Genome:
    """Map any genome to the nearest valid one (deterministic: no RNG)."""
    arch = _repair_arch(g.arch, space)
    return Genome(_repair_basis(g.basis, arch, space), _repair_wavelet(g.wavelet, space), arch)


def _repair_arch(a: ArchGenes, space: SearchSpace) -> ArchGenes:
    d_model = _nearest(a.d_model, space.d_model)
    n_layers = min(max(a.n_layers, space.n_layers[0]), space.n_layers[1])
    mixers = [m if m in space.mixers else space.mixers[0] for m in a.mixers][:n_layers]
    mixers += [mixers[-1] if mixers else space.mixers[0]] * (n_layers - len(mixers))
    heads = space.heads_for(d_model)
    return ArchGenes(
        d_model=d_model,
        n_layers=n_layers,
        mixers=tuple(mixers),
        ffn_mult=_clamp(a.ffn_mult, *space.ffn_mult),
        spectral_share=_clamp(a.spectral_share, *space.spectral_share),
        embedding=a.embedding if a.embedding in space.embeddings else space.embeddings[0],
        n_heads=_nearest(a.n_heads, heads or space.n_heads),  # valid even without attention
    )


def _repair_wavelet(w: WaveletGenes, space: SearchSpace) -> WaveletGenes:
    name = space.wavelet_member(w.name)  # itself, or the allowed alias (db1 -> haar)
    if name is None:  # else the allowed wavelet with the closest filter length
        taps = pywt.Wavelet(w.name).dec_len if w.name in pywt.wavelist(kind="discrete") else 0
        name = min(space.wavelets, key=lambda n: abs(pywt.Wavelet(n).dec_len - taps))
    levels = min(max(w.levels, space.levels[0]), space.max_levels(name))
    mixing = w.mixing if w.mixing in space.band_mixing else space.band_mixing[0]
    return WaveletGenes(name=name, levels=levels, mixing=mixing)


def _repair_basis(
    basis: tuple[BasisSpec, ...], arch: ArchGenes, space: SearchSpace
) -> tuple[BasisSpec, ...]:
    if not basis and arch.embedding == "table":  # a table reads no basis: none is needed
        return ()
    d_model = arch.d_model
    lo, hi = space.n_bases[0], min(space.n_bases[1], d_model)
    fns = list(basis[:hi])
    fns += default_basis(lo, d_model)[len(fns) :]  # too few: top up with well-conditioned ones
    return tuple(_repair_function(b, d_model, space) for b in fns)


def _repair_function(b: BasisSpec, d_model: int, space: SearchSpace) -> BasisSpec:
    family = b.family if b.family in space.basis_families else space.basis_families[0]
    fam = FAMILIES[family]
    phase = round(b.phase % (2 * math.pi), DECIMALS)
    return BasisSpec(
        family=family,
        frequency=_clamp(b.frequency, *frequency_range(d_model)),
        phase=phase if phase < 2 * math.pi else 0.0,  # rounding may land on 2π itself
        shape=_clamp(b.shape, *fam.shape_range) if fam.shape_range else 0.0,
        center=_clamp(b.center, 0.0, 1.0) if fam.uses_center else 0.5,
    )
