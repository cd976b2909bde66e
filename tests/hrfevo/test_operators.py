"""Variation operators: always valid, reproducible, and no gene is dead."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from hrfevo.genome import Genome, to_model_config, transformer_genome
from hrfevo.operators import (
    MUTATIONS,
    crossover,
    mutate,
    random_genome,
    repair,
    siblings,
    step_wavelet,
    switch_wavelet_family,
)
from hrfevo.problems import SpectralProblem
from hrfevo.space import SearchSpace
from model import FAMILIES, SpectralLM
from model.train import TrainConfig
from model.wavelets import canonical_wavelet, wavelet_aliases

SPACES = {
    "default": SearchSpace(),
    "narrow": SearchSpace(
        seq_len=32, d_model=[16, 32], n_layers=[1, 2], n_bases=[2, 8], levels=[1, 3]
    ),
    "no-attention": SearchSpace(mixers=["wavelet", "fourier"], embeddings=["spectral"]),
    "one-family": SearchSpace(
        basis_families=["gabor"], wavelet_families=["db"], max_wavelet_taps=6
    ),
}


def assert_valid(g: Genome, space: SearchSpace) -> None:
    """Every gene fits, expressed or not (see SearchSpace.problems), and the genome builds."""
    assert space.problems(g) == []
    assert repair(g, space) == g  # valid genomes are fixed points of repair
    to_model_config(g, space.vocab_size, space.seq_len)  # raises if it cannot be built


@settings(max_examples=60, deadline=None)
@given(name=st.sampled_from(sorted(SPACES)), seed=st.integers(0, 2**32 - 1))
def test_operators_always_yield_valid_genomes(name: str, seed: int) -> None:
    space, rng = SPACES[name], np.random.default_rng(seed)
    a, b = random_genome(space, rng), random_genome(space, rng)
    for g in (a, b, mutate(a, space, rng), crossover(a, b, space, rng)):
        assert_valid(g, space)


@settings(max_examples=40, deadline=None)
@given(name=st.sampled_from(sorted(SPACES)), seed=st.integers(0, 2**32 - 1))
def test_siblings_are_crossovers_child_and_its_mirror_image(name: str, seed: int) -> None:
    """The first sibling is `crossover`'s child from the same draws; the second takes every gene
    group from the parent the first did not (groups that repair leaves alone are checked)."""
    space, rng = SPACES[name], np.random.default_rng(seed)
    a, b = random_genome(space, rng), random_genome(space, rng)
    state = rng.bit_generator.state
    x, y = siblings(a, b, space, rng)
    rng.bit_generator.state = state
    assert crossover(a, b, space, rng) == x
    assert_valid(x, space)
    assert_valid(y, space)
    for gene in (
        lambda g: g.wavelet,
        lambda g: g.arch.embedding,
        lambda g: (g.arch.n_layers, g.arch.mixers),
    ):
        assert sorted(map(repr, (gene(x), gene(y)))) == sorted(map(repr, (gene(a), gene(b))))


def test_spectral_problem_varies_a_pair_into_two_new_children() -> None:
    problem = SpectralProblem(SPACES["default"], TrainConfig(steps=1), "builtin")
    for seed in range(5):
        rng = np.random.default_rng(seed)
        a, b = problem.sample(rng), problem.sample(rng)
        x, y = problem.vary(a, b, rng)
        assert len({problem.key(c) for c in (a, b, x, y)}) == 4


def baseline(space: SearchSpace) -> Genome:
    """The transformer seed as run.py makes it: a table embedding with no basis."""
    d = sorted(space.d_model)[len(space.d_model) // 2]
    heads = space.heads_for(d)
    return repair(transformer_genome(d, min(2, space.n_layers[1]), heads[len(heads) // 2]), space)


def alias_named(g: Genome, space: SearchSpace) -> Genome:
    """`g` with its wavelet named by another alias where one exists (db1 for haar), as a seed
    file may name it: valid, the same key, but not a name in space.wavelets."""
    others = [a for a in wavelet_aliases(g.wavelet.name) if a != g.wavelet.name]
    return replace(g, wavelet=replace(g.wavelet, name=others[0])) if others else g


SEEDED = [n for n, s in SPACES.items() if "attention" in s.mixers and "table" in s.embeddings]


@settings(max_examples=40, deadline=None)
@given(name=st.sampled_from(SEEDED), seed=st.integers(0, 2**32 - 1))
def test_operators_keep_seeds_valid(name: str, seed: int) -> None:
    """From the transformer baseline (no basis) and from alias-named seeds, every operator's
    child passes the full check, generation after generation."""
    space, rng = SPACES[name], np.random.default_rng(seed)
    for g in (baseline(space), alias_named(random_genome(space, rng), space)):
        assert space.problems(g) == []
        for _ in range(4):
            other = random_genome(space, rng)
            assert_valid(crossover(g, other, space, rng), space)
            assert_valid(crossover(other, g, space, rng), space)
            g = mutate(g, space, rng)
            assert_valid(g, space)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_mutation_always_changes_the_expressed_genome(seed: int) -> None:
    rng = np.random.default_rng(seed)
    g = random_genome(SPACES["default"], rng)
    assert mutate(g, SPACES["default"], rng).key != g.key


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    junk=st.dictionaries(st.sampled_from(["d", "L", "lv", "B", "h"]), st.integers(-50, 500)),
    wavelet=st.sampled_from(["haar", "db1", "sym2", "rbio1.1", "db20", "dmey", "nope"]),
    embedding=st.sampled_from(["spectral", "table"]),
)
def test_repair_maps_anything_into_the_space(
    seed: int, junk: dict[str, int], wavelet: str, embedding: str
) -> None:
    space = SPACES["narrow"]
    g = random_genome(SearchSpace(), np.random.default_rng(seed))  # from a wider space
    d = g.to_dict()
    d["arch"]["d_model"] = junk.get("d", d["arch"]["d_model"])
    d["arch"]["n_layers"] = junk.get("L", d["arch"]["n_layers"])
    d["arch"]["n_heads"] = junk.get("h", d["arch"]["n_heads"])
    d["arch"]["embedding"] = embedding
    d["wavelet"]["levels"] = junk.get("lv", d["wavelet"]["levels"])
    d["wavelet"]["name"] = wavelet
    d["basis"] = d["basis"] * (junk.get("B", 10) // 10)  # possibly none
    fixed = repair(Genome.from_dict(d), space)
    assert_valid(fixed, space)
    if wavelet in ("haar", "db1", "rbio1.1"):  # an allowed alias keeps its filter bank
        assert canonical_wavelet(fixed.wavelet.name) == "haar"


def test_operators_are_reproducible_from_the_rng() -> None:
    space = SPACES["default"]

    def lineage(seed: int) -> list[str]:
        rng = np.random.default_rng(seed)
        a, b = random_genome(space, rng), random_genome(space, rng)
        return [
            mutate(a, space, rng).key,
            crossover(a, b, space, rng).key,
            random_genome(space, rng).key,
        ]

    assert lineage(7) == lineage(7)
    assert lineage(7) != lineage(8)


def _model_fingerprint(g: Genome, space: SearchSpace) -> tuple[Any, torch.Tensor]:
    torch.manual_seed(0)
    model = SpectralLM(to_model_config(g, space.vocab_size, space.seq_len)).eval()
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    idx = torch.arange(space.seq_len).remainder(space.vocab_size)[None]
    with torch.no_grad():
        return shapes, model(idx)


def _applicable(op: Any, space: SearchSpace, rng: np.random.Generator) -> Genome:
    for _ in range(500):
        g = random_genome(space, rng)
        if dict((o, ok) for o, ok in MUTATIONS)[op](g, space):
            return g
    raise AssertionError(f"no genome found where {op.__name__} applies")


@pytest.mark.parametrize("op", [op for op, _ in MUTATIONS], ids=lambda op: op.__name__)
def test_every_mutation_changes_the_built_model(op: Any) -> None:
    """No dead genes: each mutation changes the ModelConfig and the model's shapes or outputs."""
    space, rng = SPACES["narrow"], np.random.default_rng(0)
    changed = 0
    for _ in range(3):
        g = _applicable(op, space, rng)
        child = repair(op(g, space, rng), space)
        if child.key == g.key:  # e.g. a step clamped at a bound: no change at all, fine
            continue
        changed += 1
        cfg_a = to_model_config(g, space.vocab_size, space.seq_len).to_dict()
        cfg_b = to_model_config(child, space.vocab_size, space.seq_len).to_dict()
        assert cfg_a != cfg_b
        (shapes_a, out_a), (shapes_b, out_b) = (
            _model_fingerprint(g, space),
            _model_fingerprint(child, space),
        )
        assert shapes_a != shapes_b or not torch.allclose(out_a, out_b)
    assert changed, f"{op.__name__} never changed a genome"


def _paths(d: Any, prefix: str = "") -> dict[str, Any]:
    """Flatten a genome dict; basis entries are pooled as basis.<field>."""
    if isinstance(d, dict):
        return {k: v for key, val in d.items() for k, v in _paths(val, f"{prefix}{key}.").items()}
    if isinstance(d, list) and prefix == "basis.":
        return {"basis.count": len(d)} | {
            f"basis.{f}": tuple(b[f] for b in d)
            for f in ("family", "frequency", "phase", "shape", "center")
        }
    return {prefix.rstrip("."): d if not isinstance(d, list) else tuple(d)}


def test_mutations_reach_every_expressed_gene() -> None:
    space, rng = SPACES["default"], np.random.default_rng(1)
    reached: set[str] = set()
    expressed: set[str] = set()
    for _ in range(400):
        g = random_genome(space, rng)
        before = _paths(g.expressed())
        expressed |= set(before)
        after = _paths(mutate(g, space, rng).expressed())
        reached |= {k for k in before if k in after and before[k] != after[k]}
    assert expressed - reached == set()


@pytest.mark.parametrize(
    ("op", "name"),
    [(step_wavelet, n) for n in sorted(SPACES)]
    + [(switch_wavelet_family, n) for n in sorted(SPACES) if n != "one-family"],  # one family
    ids=lambda x: getattr(x, "__name__", x),
)
def test_wavelet_mutations_never_pick_an_alias(op: Any, name: str) -> None:
    """From every allowed wavelet (and from its aliases, as a seed may name it), the wavelet
    operators move to another filter bank: never to haar from db1, nor to db3 from sym3."""
    space, rng = SPACES[name], np.random.default_rng(0)
    g = random_genome(space, rng)
    g = replace(g, arch=replace(g.arch, mixers=("wavelet",) * g.arch.n_layers))
    applies = dict(MUTATIONS)[op]
    tried = 0
    for member in space.wavelets:
        for alias in wavelet_aliases(member):
            if space.wavelet_member(alias) != member:
                continue
            start = repair(replace(g, wavelet=replace(g.wavelet, name=member)), space)
            start = replace(start, wavelet=replace(start.wavelet, name=alias))
            if not applies(start, space):
                continue
            for _ in range(20):
                child = repair(op(start, space, rng), space)
                assert canonical_wavelet(child.wavelet.name) != canonical_wavelet(alias)
                assert child.key != start.key
                tried += 1
    assert tried


@settings(max_examples=300, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    gene=st.sampled_from(["frequency", "phase", "shape", "center", "ffn_mult", "spectral_share"]),
    t=st.floats(-0.2, 1.0),
    decimals=st.integers(1, 7),
)
def test_a_genome_the_space_accepts_is_a_fixed_point_of_repair(
    seed: int, gene: str, t: float, decimals: int
) -> None:
    """Repair moves nothing `SearchSpace.problems` passes: a gene set anywhere in (or a little
    below) its range, to any number of decimals, is either refused or left as it is. A seed
    genome once passed the check at frequency 0.01, and repair moved it to 0.05."""
    space, rng = SPACES["default"], np.random.default_rng(seed)
    g = random_genome(space, rng)
    while not g.basis or not FAMILIES[g.basis[0].family].shape_range:
        g = random_genome(space, rng)
    b, a = g.basis[0], g.arch
    ranges = {
        "frequency": (0.0, a.d_model / 2),
        "phase": (0.0, 2 * np.pi),
        "shape": FAMILIES[b.family].shape_range,
        "center": (0.0, 1.0),
        "ffn_mult": tuple(space.ffn_mult),
        "spectral_share": tuple(space.spectral_share),
    }
    lo, hi = ranges[gene]
    value = max(round(lo + t * (hi - lo), decimals), 0.0)
    if gene in ("ffn_mult", "spectral_share"):
        h = replace(g, arch=replace(a, **{gene: value}))
    else:
        h = replace(g, basis=(replace(b, **{gene: value}), *g.basis[1:]))
    if not space.problems(h):
        assert repair(h, space) == h, f"{gene}={value} passes the space but repair moves it"


def test_a_frequency_below_the_lowest_is_refused_by_the_space() -> None:
    space = SPACES["default"]
    g = random_genome(space, np.random.default_rng(0))
    low = replace(g, basis=(replace(g.basis[0], frequency=0.01), *g.basis[1:]))
    assert any("frequency 0.01 below" in p for p in space.problems(low))
    assert repair(low, space) != low
