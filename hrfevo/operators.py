"""Variation operators: plain functions of (genome, space, rng), as in DEAP's operator modules.

Every operator takes the RNG as an argument (a `numpy.random.Generator`; never a global) and
returns a new genome that `repair` has mapped back into the space. Mutations only touch
expressed genes, so every mutation changes the model that gets built.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any, TypeVar

import numpy as np
import pywt

from hrfevo.genome import ArchGenes, Genome, WaveletGenes
from hrfevo.space import NYQUIST_MARGIN, SearchSpace
from model import FAMILIES, BasisSpec, default_basis

Rng = np.random.Generator
T = TypeVar("T")
Mutation = Callable[[Genome, SearchSpace, Rng], Genome]
MIN_FREQUENCY = 0.05  # cycles across the embedding axis
DECIMALS = 4  # genes are rounded so that a genome's JSON (and its key) is stable


def _pick(rng: Rng, options: Sequence[T]) -> T:
    return options[int(rng.integers(len(options)))]


def _uniform(rng: Rng, lo_hi: Sequence[float]) -> float:
    return float(rng.uniform(lo_hi[0], lo_hi[1]))


# ---- sampling ------------------------------------------------------------------------------


def random_basis_function(space: SearchSpace, d_model: int, rng: Rng) -> BasisSpec:
    family = _pick(rng, space.basis_families)
    lo_hi = FAMILIES[family].shape_range
    return BasisSpec(
        family=family,
        frequency=float(np.exp(rng.uniform(math.log(0.5), math.log(d_model / 2)))),  # log-uniform
        phase=float(rng.uniform(0, 2 * math.pi)),
        shape=_uniform(rng, lo_hi) if lo_hi else 0.0,
        center=float(rng.uniform(0, 1)),
    )


def random_genome(space: SearchSpace, rng: Rng) -> Genome:
    d_model = _pick(rng, space.d_model)
    n_layers = int(rng.integers(space.n_layers[0], space.n_layers[1] + 1))
    name = _pick(rng, space.wavelets)
    heads = space.heads_for(d_model) or space.n_heads
    arch = ArchGenes(
        d_model=d_model,
        n_layers=n_layers,
        mixers=tuple(_pick(rng, space.mixers) for _ in range(n_layers)),
        ffn_mult=_uniform(rng, space.ffn_mult),
        spectral_share=_uniform(rng, space.spectral_share),
        embedding=_pick(rng, space.embeddings),
        n_heads=_pick(rng, heads),
    )
    wavelet = WaveletGenes(
        name=name,
        levels=int(rng.integers(space.levels[0], space.max_levels(name) + 1)),
        mixing=_pick(rng, space.band_mixing),
    )
    n_bases = int(rng.integers(space.n_bases[0], min(space.n_bases[1], d_model) + 1))
    basis = tuple(random_basis_function(space, d_model, rng) for _ in range(n_bases))
    return repair(Genome(basis, wavelet, arch), space)


# ---- repair --------------------------------------------------------------------------------


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
        frequency=_clamp(b.frequency, MIN_FREQUENCY, d_model / 2 - NYQUIST_MARGIN),
        phase=phase if phase < 2 * math.pi else 0.0,  # rounding may land on 2π itself
        shape=_clamp(b.shape, *fam.shape_range) if fam.shape_range else 0.0,
        center=_clamp(b.center, 0.0, 1.0) if fam.uses_center else 0.5,
    )


# ---- mutation ------------------------------------------------------------------------------

EXTRA_MUTATION_P = 0.3  # after the first mutation, each further one happens with this chance
MAX_TRIES = 20  # redraws when a mutation is undone by repair (e.g. a step past a bound)


def _set_fn(g: Genome, i: int, **changes: Any) -> Genome:
    basis = list(g.basis)
    basis[i] = replace(basis[i], **changes)
    return replace(g, basis=tuple(basis))


def _index(rng: Rng, n: int) -> int:
    return int(rng.integers(n))


def step_frequency(g: Genome, space: SearchSpace, rng: Rng) -> Genome:
    i = _index(rng, len(g.basis))
    return _set_fn(g, i, frequency=g.basis[i].frequency * math.exp(rng.normal(0, 0.25)))


def step_phase(g: Genome, space: SearchSpace, rng: Rng) -> Genome:
    i = _index(rng, len(g.basis))
    return _set_fn(g, i, phase=g.basis[i].phase + rng.normal(0, 0.5))


def step_shape(g: Genome, space: SearchSpace, rng: Rng) -> Genome:
    shaped = [i for i, b in enumerate(g.basis) if FAMILIES[b.family].shape_range]
    i = _pick(rng, shaped)
    lo, hi = FAMILIES[g.basis[i].family].shape_range or (0.0, 0.0)
    return _set_fn(g, i, shape=g.basis[i].shape + rng.normal(0, 0.15 * (hi - lo)))


def step_center(g: Genome, space: SearchSpace, rng: Rng) -> Genome:
    windowed = [i for i, b in enumerate(g.basis) if FAMILIES[b.family].uses_center]
    i = _pick(rng, windowed)
    return _set_fn(g, i, center=g.basis[i].center + rng.normal(0, 0.15))


def swap_family(g: Genome, space: SearchSpace, rng: Rng) -> Genome:
    i = _index(rng, len(g.basis))
    family = _pick(rng, [f for f in space.basis_families if f != g.basis[i].family])
    return _set_fn(g, i, family=family, shape=FAMILIES[family].shape_default)


def add_function(g: Genome, space: SearchSpace, rng: Rng) -> Genome:
    new = random_basis_function(space, g.arch.d_model, rng)
    return replace(g, basis=(*g.basis, new))


def drop_function(g: Genome, space: SearchSpace, rng: Rng) -> Genome:
    i = _index(rng, len(g.basis))
    return replace(g, basis=g.basis[:i] + g.basis[i + 1 :])


def wavelet_family(name: str) -> str:
    """'db4' -> 'db', 'bior2.2' -> 'bior', 'haar' -> 'haar'."""
    return name.rstrip("0123456789.")


def _wavelet_kin(g: Genome, space: SearchSpace) -> tuple[str, list[str]]:
    """The genome's wavelet as the space names it (db1 -> haar), and the allowed wavelets of
    its family. `space.wavelets` holds one name per filter bank, so any other name is another
    model."""
    name = space.wavelet_member(g.wavelet.name) or g.wavelet.name
    return name, [n for n in space.wavelets if wavelet_family(n) == wavelet_family(name)]


def step_wavelet(g: Genome, space: SearchSpace, rng: Rng) -> Genome:
    """A neighbouring member of the same family: db4 -> db3 or db5 (db2 -> db3 at the end)."""
    name, kin = _wavelet_kin(g, space)
    i = kin.index(name)
    step = _pick(rng, [j for j in (i - 1, i + 1) if 0 <= j < len(kin)])
    return replace(g, wavelet=replace(g.wavelet, name=kin[step]))


def switch_wavelet_family(g: Genome, space: SearchSpace, rng: Rng) -> Genome:
    kin = _wavelet_kin(g, space)[1]
    others = [n for n in space.wavelets if n not in kin]
    return replace(g, wavelet=replace(g.wavelet, name=_pick(rng, others)))


def step_levels(g: Genome, space: SearchSpace, rng: Rng) -> Genome:
    levels = g.wavelet.levels + _pick(rng, [-1, 1])
    return replace(g, wavelet=replace(g.wavelet, levels=levels))


def switch_band_mixing(g: Genome, space: SearchSpace, rng: Rng) -> Genome:
    mixing = _pick(rng, [m for m in space.band_mixing if m != g.wavelet.mixing])
    return replace(g, wavelet=replace(g.wavelet, mixing=mixing))


def step_width(g: Genome, space: SearchSpace, rng: Rng) -> Genome:
    widths = sorted(space.d_model)
    i = widths.index(g.arch.d_model) + _pick(rng, [-1, 1])
    return replace(g, arch=replace(g.arch, d_model=widths[min(max(i, 0), len(widths) - 1)]))


def step_depth(g: Genome, space: SearchSpace, rng: Rng) -> Genome:
    """Insert a copy of a random layer's mixer, or delete a random layer."""
    mixers = list(g.arch.mixers)
    i = _index(rng, len(mixers))
    if rng.random() < 0.5:
        mixers.insert(i, mixers[i])
    else:
        del mixers[i]
    return replace(g, arch=replace(g.arch, n_layers=len(mixers), mixers=tuple(mixers)))


def switch_layer_mixer(g: Genome, space: SearchSpace, rng: Rng) -> Genome:
    mixers = list(g.arch.mixers)
    i = _index(rng, len(mixers))
    mixers[i] = _pick(rng, [m for m in space.mixers if m != mixers[i]])
    return replace(g, arch=replace(g.arch, mixers=tuple(mixers)))


def step_ffn_mult(g: Genome, space: SearchSpace, rng: Rng) -> Genome:
    return replace(g, arch=replace(g.arch, ffn_mult=g.arch.ffn_mult + rng.normal(0, 0.5)))


def step_spectral_share(g: Genome, space: SearchSpace, rng: Rng) -> Genome:
    share = g.arch.spectral_share + rng.normal(0, 0.2)
    return replace(g, arch=replace(g.arch, spectral_share=share))


def switch_embedding(g: Genome, space: SearchSpace, rng: Rng) -> Genome:
    kind = _pick(rng, [e for e in space.embeddings if e != g.arch.embedding])
    return replace(g, arch=replace(g.arch, embedding=kind))


def step_heads(g: Genome, space: SearchSpace, rng: Rng) -> Genome:
    heads = space.heads_for(g.arch.d_model)
    i = heads.index(g.arch.n_heads) + _pick(rng, [-1, 1])
    return replace(g, arch=replace(g.arch, n_heads=heads[min(max(i, 0), len(heads) - 1)]))


def _spectral(g: Genome) -> bool:
    return g.arch.embedding != "table"


def _wavelet(g: Genome) -> bool:
    return "wavelet" in g.arch.mixers


# Each mutation with the condition under which it changes an expressed gene.
MUTATIONS: list[tuple[Mutation, Callable[[Genome, SearchSpace], bool]]] = [
    (step_frequency, lambda g, s: _spectral(g)),
    (step_phase, lambda g, s: _spectral(g)),
    (
        step_shape,
        lambda g, s: _spectral(g) and any(FAMILIES[b.family].shape_range for b in g.basis),
    ),
    (
        step_center,
        lambda g, s: _spectral(g) and any(FAMILIES[b.family].uses_center for b in g.basis),
    ),
    (swap_family, lambda g, s: _spectral(g) and len(s.basis_families) > 1),
    (add_function, lambda g, s: _spectral(g) and len(g.basis) < min(s.n_bases[1], g.arch.d_model)),
    (drop_function, lambda g, s: _spectral(g) and len(g.basis) > s.n_bases[0]),
    (step_wavelet, lambda g, s: _wavelet(g) and len(_wavelet_kin(g, s)[1]) > 1),
    (
        switch_wavelet_family,
        lambda g, s: _wavelet(g) and len(set(map(wavelet_family, s.wavelets))) > 1,
    ),
    (step_levels, lambda g, s: _wavelet(g) and s.max_levels(g.wavelet.name) > s.levels[0]),
    (switch_band_mixing, lambda g, s: _wavelet(g) and len(s.band_mixing) > 1),
    (step_width, lambda g, s: len(s.d_model) > 1),
    (step_depth, lambda g, s: s.n_layers[1] > s.n_layers[0]),
    (switch_layer_mixer, lambda g, s: len(s.mixers) > 1),
    (step_ffn_mult, lambda g, s: g.arch.spectral_share < 1 and s.ffn_mult[1] > s.ffn_mult[0]),
    (step_spectral_share, lambda g, s: s.spectral_share[1] > s.spectral_share[0]),
    (switch_embedding, lambda g, s: len(s.embeddings) > 1),
    (
        step_heads,
        lambda g, s: "attention" in g.arch.mixers and len(s.heads_for(g.arch.d_model)) > 1,
    ),
]


def mutate(g: Genome, space: SearchSpace, rng: Rng) -> Genome:
    """One random applicable mutation, then further ones with probability EXTRA_MUTATION_P.

    The child always differs from the parent (in the model it builds) unless the space holds
    a single genome: a later mutation that undoes an earlier one is followed by another.
    """
    child = _mutate_once(g, space, rng)
    for _ in range(MAX_TRIES):
        if child.key != g.key and rng.random() >= EXTRA_MUTATION_P:
            break
        child = _mutate_once(child, space, rng)
    return child


def _mutate_once(g: Genome, space: SearchSpace, rng: Rng) -> Genome:
    ops = [op for op, applies in MUTATIONS if applies(g, space)]
    child = g
    for _ in range(MAX_TRIES if ops else 0):  # a step clamped back to its start changes nothing
        child = repair(ops[_index(rng, len(ops))](g, space, rng), space)
        if child.key != g.key:
            break
    return child


# ---- crossover -----------------------------------------------------------------------------


def crossover(a: Genome, b: Genome, space: SearchSpace, rng: Rng) -> Genome:
    """A child of two parents: one-point crossover of the basis lists, and each gene group
    (the wavelet genes; width; depth with its mixers; FFN; embedding; heads) from either."""
    cut_a, cut_b = int(rng.integers(len(a.basis) + 1)), int(rng.integers(len(b.basis) + 1))
    basis = a.basis[:cut_a] + b.basis[cut_b:]

    def either(x: T, y: T) -> T:
        return x if rng.random() < 0.5 else y

    depth = either((a.arch.n_layers, a.arch.mixers), (b.arch.n_layers, b.arch.mixers))
    ffn = either((a.arch.ffn_mult, a.arch.spectral_share), (b.arch.ffn_mult, b.arch.spectral_share))
    n_layers, mixers = depth
    arch = ArchGenes(
        d_model=either(a.arch.d_model, b.arch.d_model),
        n_layers=n_layers,
        mixers=mixers,
        ffn_mult=ffn[0],
        spectral_share=ffn[1],
        embedding=either(a.arch.embedding, b.arch.embedding),
        n_heads=either(a.arch.n_heads, b.arch.n_heads),
    )
    wavelet = either(a.wavelet, b.wavelet)
    return repair(Genome(basis, wavelet, arch), space)
