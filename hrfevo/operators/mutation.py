"""Mutation: small changes to one gene group at a time, each a plain function of
(genome, space, rng) as in DEAP's operator modules.

Every mutation only touches expressed genes (`MUTATIONS` pairs each with the condition under
which it does), so every mutation changes the model that gets built; `repair` maps the result
back into the space.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from hrfevo.genome import Genome
from hrfevo.operators.draw import Rng, index, pick
from hrfevo.operators.repair import repair
from hrfevo.operators.sampling import random_basis_function
from hrfevo.space import SearchSpace
from model import FAMILIES

Mutation = Callable[[Genome, SearchSpace, Rng], Genome]

EXTRA_MUTATION_P = 0.3  # after the first mutation, each further one happens with this chance
MAX_TRIES = 20  # redraws when a mutation is undone by repair (e.g. a step past a bound)


def _set_fn(g: Genome, i: int, **changes: Any) -> Genome:
    basis = list(g.basis)
    basis[i] = replace(basis[i], **changes)
    return replace(g, basis=tuple(basis))


def step_frequency(g: Genome, space: SearchSpace, rng: Rng) -> Genome:
    """Scale one basis function's frequency by a log-normal factor (σ = 0.25)."""
    i = index(rng, len(g.basis))
    return _set_fn(g, i, frequency=g.basis[i].frequency * math.exp(rng.normal(0, 0.25)))


def step_phase(g: Genome, space: SearchSpace, rng: Rng) -> Genome:
    """Shift one basis function's phase by a normal step (σ = 0.5 rad)."""
    i = index(rng, len(g.basis))
    return _set_fn(g, i, phase=g.basis[i].phase + rng.normal(0, 0.5))


def step_shape(g: Genome, space: SearchSpace, rng: Rng) -> Genome:
    """Step one shaped function's envelope or sweep by 15% of its family's range (σ)."""
    shaped = [i for i, b in enumerate(g.basis) if FAMILIES[b.family].shape_range]
    i = pick(rng, shaped)
    lo, hi = FAMILIES[g.basis[i].family].shape_range or (0.0, 0.0)
    return _set_fn(g, i, shape=g.basis[i].shape + rng.normal(0, 0.15 * (hi - lo)))


def step_center(g: Genome, space: SearchSpace, rng: Rng) -> Genome:
    """Move one windowed function's centre along the embedding axis (σ = 0.15)."""
    windowed = [i for i, b in enumerate(g.basis) if FAMILIES[b.family].uses_center]
    i = pick(rng, windowed)
    return _set_fn(g, i, center=g.basis[i].center + rng.normal(0, 0.15))


def swap_family(g: Genome, space: SearchSpace, rng: Rng) -> Genome:
    """Give one basis function another family, at that family's default shape."""
    i = index(rng, len(g.basis))
    family = pick(rng, [f for f in space.basis_families if f != g.basis[i].family])
    return _set_fn(g, i, family=family, shape=FAMILIES[family].shape_default)


def add_function(g: Genome, space: SearchSpace, rng: Rng) -> Genome:
    """Append a random basis function."""
    new = random_basis_function(space, g.arch.d_model, rng)
    return replace(g, basis=(*g.basis, new))


def drop_function(g: Genome, space: SearchSpace, rng: Rng) -> Genome:
    """Remove one basis function."""
    i = index(rng, len(g.basis))
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
    step = pick(rng, [j for j in (i - 1, i + 1) if 0 <= j < len(kin)])
    return replace(g, wavelet=replace(g.wavelet, name=kin[step]))


def switch_wavelet_family(g: Genome, space: SearchSpace, rng: Rng) -> Genome:
    """Switch to an allowed wavelet of another family (db4 -> sym3, say)."""
    kin = _wavelet_kin(g, space)[1]
    others = [n for n in space.wavelets if n not in kin]
    return replace(g, wavelet=replace(g.wavelet, name=pick(rng, others)))


def step_levels(g: Genome, space: SearchSpace, rng: Rng) -> Genome:
    """One decomposition level more or fewer."""
    levels = g.wavelet.levels + pick(rng, [-1, 1])
    return replace(g, wavelet=replace(g.wavelet, levels=levels))


def switch_band_mixing(g: Genome, space: SearchSpace, rng: Rng) -> Genome:
    """Another way of mixing the wavelet bands."""
    mixing = pick(rng, [m for m in space.band_mixing if m != g.wavelet.mixing])
    return replace(g, wavelet=replace(g.wavelet, mixing=mixing))


def step_width(g: Genome, space: SearchSpace, rng: Rng) -> Genome:
    """The next narrower or wider allowed width."""
    widths = sorted(space.d_model)
    i = widths.index(g.arch.d_model) + pick(rng, [-1, 1])
    return replace(g, arch=replace(g.arch, d_model=widths[min(max(i, 0), len(widths) - 1)]))


def step_depth(g: Genome, space: SearchSpace, rng: Rng) -> Genome:
    """Insert a copy of a random layer's mixer, or delete a random layer."""
    mixers = list(g.arch.mixers)
    i = index(rng, len(mixers))
    if rng.random() < 0.5:
        mixers.insert(i, mixers[i])
    else:
        del mixers[i]
    return replace(g, arch=replace(g.arch, n_layers=len(mixers), mixers=tuple(mixers)))


def switch_layer_mixer(g: Genome, space: SearchSpace, rng: Rng) -> Genome:
    """Give one layer another mixer."""
    mixers = list(g.arch.mixers)
    i = index(rng, len(mixers))
    mixers[i] = pick(rng, [m for m in space.mixers if m != mixers[i]])
    return replace(g, arch=replace(g.arch, mixers=tuple(mixers)))


def step_ffn_mult(g: Genome, space: SearchSpace, rng: Rng) -> Genome:
    """Step the FFN's width multiplier (σ = 0.5)."""
    return replace(g, arch=replace(g.arch, ffn_mult=g.arch.ffn_mult + rng.normal(0, 0.5)))


def step_spectral_share(g: Genome, space: SearchSpace, rng: Rng) -> Genome:
    """Step the FFN's spectral share α (σ = 0.2)."""
    share = g.arch.spectral_share + rng.normal(0, 0.2)
    return replace(g, arch=replace(g.arch, spectral_share=share))


def switch_embedding(g: Genome, space: SearchSpace, rng: Rng) -> Genome:
    """Another embedding kind (spectral, hybrid or table)."""
    kind = pick(rng, [e for e in space.embeddings if e != g.arch.embedding])
    return replace(g, arch=replace(g.arch, embedding=kind))


def step_heads(g: Genome, space: SearchSpace, rng: Rng) -> Genome:
    """The next smaller or larger head count the width allows."""
    heads = space.heads_for(g.arch.d_model)
    i = heads.index(g.arch.n_heads) + pick(rng, [-1, 1])
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
        child = repair(ops[index(rng, len(ops))](g, space, rng), space)
        if child.key != g.key:
            break
    return child
