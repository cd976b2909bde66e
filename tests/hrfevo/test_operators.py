"""Variation operators: always valid, reproducible, and no gene is dead."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from hrfevo.genome import Genome, to_model_config
from hrfevo.operators import MUTATIONS, crossover, mutate, random_genome, repair
from hrfevo.space import SearchSpace
from model import SpectralLM

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
@given(seed=st.integers(0, 2**32 - 1))
def test_mutation_always_changes_the_expressed_genome(seed: int) -> None:
    rng = np.random.default_rng(seed)
    g = random_genome(SPACES["default"], rng)
    assert mutate(g, SPACES["default"], rng).key != g.key


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    junk=st.dictionaries(st.sampled_from(["d", "L", "lv", "B"]), st.integers(-50, 500)),
)
def test_repair_maps_anything_into_the_space(seed: int, junk: dict[str, int]) -> None:
    space = SPACES["narrow"]
    g = random_genome(SearchSpace(), np.random.default_rng(seed))  # from a wider space
    d = g.to_dict()
    d["arch"]["d_model"] = junk.get("d", d["arch"]["d_model"])
    d["arch"]["n_layers"] = junk.get("L", d["arch"]["n_layers"])
    d["wavelet"]["levels"] = junk.get("lv", d["wavelet"]["levels"])
    d["basis"] = d["basis"] * max(1, junk.get("B", 1) // 10)
    assert_valid(repair(Genome.from_dict(d), space), space)


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
