"""SearchSpace.problems: every gene checked, expressed or not, and no alias wavelet in the space.

A seed genome or genome file that passes `problems` must build (`to_model_config`) and must be
what the operators could have made: unexpressed genes included, since a mutation can switch
them back on.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import numpy as np
import pytest
import pywt
from hypothesis import given, settings
from hypothesis import strategies as st

from hrfevo.genome import ArchGenes, Genome, WaveletGenes, to_model_config, transformer_genome
from hrfevo.operators import random_genome, repair
from hrfevo.space import SearchSpace
from model import MAX_FFN_MULT, MAX_SIZES, BasisSpec
from model.config import max_wavelet_levels
from model.wavelets import canonical_wavelet, wavelet_aliases

SPACE = SearchSpace()
GOOD = tuple(BasisSpec("sine", float(f), 0.5) for f in (1, 2, 3))  # three valid functions
FOURIER = Genome(  # valid, with no wavelet layer and no attention
    basis=(*GOOD, BasisSpec("gabor", 5.0, 1.0, 0.2, 0.3)),
    wavelet=WaveletGenes("db4", 2, "sum"),
    arch=ArchGenes(d_model=32, n_layers=1, mixers=("fourier",), n_heads=2),
)


def _fourier() -> Genome:
    return repair(FOURIER, SPACE)


UNEXPRESSED = {  # name -> (a genome with one bad unexpressed gene, the gene the problem names)
    "transformer wavelet levels 0": (
        replace(transformer_genome(), wavelet=WaveletGenes("db4", 0, "sum")),
        "wavelet.levels",
    ),
    "transformer wavelet levels too deep": (
        replace(transformer_genome(), wavelet=WaveletGenes("db4", 9, "sum")),
        "wavelet.levels",
    ),
    "transformer unknown wavelet": (
        replace(transformer_genome(), wavelet=WaveletGenes("morl", 2, "sum")),
        "wavelet.name",
    ),
    "transformer unknown band mixing": (
        replace(transformer_genome(), wavelet=WaveletGenes("db4", 2, "max")),
        "wavelet.mixing",
    ),
    "transformer bad basis function": (
        replace(transformer_genome(), basis=(BasisSpec("sine", -1.0), *GOOD)),
        "basis[0]",
    ),
    "transformer unknown basis family": (
        replace(transformer_genome(), basis=(BasisSpec("square", 2.0), *GOOD)),
        "basis[0]",
    ),
    "transformer too few basis functions": (
        replace(transformer_genome(), basis=(BasisSpec("sine", 2.0),)),
        "basis:",
    ),
    "fourier wavelet levels 0": (
        replace(_fourier(), wavelet=WaveletGenes("db4", 0, "sum")),
        "wavelet.levels",
    ),
    "fourier heads of odd size": (
        replace(_fourier(), arch=replace(_fourier().arch, n_heads=32)),
        "arch.n_heads",
    ),
    "fourier heads not dividing": (
        replace(_fourier(), arch=replace(_fourier().arch, n_heads=3)),
        "arch.n_heads",
    ),
}


def test_the_genomes_patched_below_are_valid() -> None:
    for g in (transformer_genome(), _fourier()):
        assert SPACE.problems(g) == []
        assert repair(g, SPACE) == g


@pytest.mark.parametrize("name", sorted(UNEXPRESSED))
def test_unexpressed_genes_are_checked(name: str) -> None:
    g, gene = UNEXPRESSED[name]
    problems = SPACE.problems(g)
    assert len(problems) == 1 and problems[0].startswith(gene), problems
    assert g.key == (transformer_genome() if "transformer" in name else _fourier()).key
    assert SPACE.problems(repair(g, SPACE)) == []


def test_an_unchecked_gene_would_not_build() -> None:
    """Why unexpressed genes matter: ModelConfig checks wavelet_levels even without a wavelet
    layer, so the old check passed a transformer seed that then failed to build."""
    g = UNEXPRESSED["transformer wavelet levels 0"][0]
    with pytest.raises(ValueError, match="wavelet_levels"):
        to_model_config(g, SPACE.vocab_size, SPACE.seq_len)


def test_a_table_embedding_may_carry_no_basis() -> None:
    """A table reads no basis, so the baseline carries none; repair keeps it so, and gives it a
    default basis only when the embedding becomes spectral."""
    g = transformer_genome()
    assert g.basis == () and SPACE.problems(g) == [] and repair(g, SPACE) == g
    spectral = repair(replace(g, arch=replace(g.arch, embedding="spectral")), SPACE)
    assert len(spectral.basis) == SPACE.n_bases[0] and SPACE.problems(spectral) == []
    assert SPACE.problems(replace(g, arch=replace(g.arch, embedding="spectral")))


@pytest.mark.parametrize(
    ("families", "alias", "member"),
    [
        (["haar", "db", "sym", "coif", "bior"], "db1", "haar"),
        (["haar", "db", "sym", "coif", "bior"], "rbio1.1", "haar"),
        (["haar", "db", "sym", "coif", "bior"], "sym3", "db3"),
        (["db"], "haar", "db1"),
        (["sym"], "db2", "sym2"),
        (["bior"], "haar", "bior1.1"),
    ],
)
def test_an_alias_wavelet_is_accepted_and_repaired(
    families: list[str], alias: str, member: str
) -> None:
    """A seed file naming db1 fits a space that allows haar: same filter bank, same model."""
    space = SearchSpace(wavelet_families=families)
    g = repair(replace(_fourier(), arch=replace(_fourier().arch, mixers=("wavelet",))), space)
    named = replace(g, wavelet=replace(g.wavelet, name=alias))
    assert member in space.wavelets and alias not in space.wavelets
    assert space.problems(named) == []
    fixed = repair(named, space)
    assert fixed.wavelet.name == member and fixed.key == named.key
    assert fixed == repair(fixed, space)


def test_an_alias_of_no_allowed_wavelet_is_refused() -> None:
    space = SearchSpace(wavelet_families=["sym"])
    g = replace(_fourier(), wavelet=replace(_fourier().wavelet, name="haar"))
    assert space.problems(g) == ["wavelet.name='haar' not among the 7 allowed wavelets"]


@pytest.mark.parametrize(
    "families",
    [["haar", "db", "sym", "coif", "bior"], ["bior", "rbio", "sym", "db", "haar"], ["sym"]],
)
def test_the_space_holds_one_wavelet_per_filter_bank(families: list[str]) -> None:
    """No mutation can switch a wavelet to an alias: one name per filter bank, the first in
    canonical order among those the families allow, and every allowed name has its member."""
    space = SearchSpace(wavelet_families=families, max_wavelet_taps=20)
    canon = [canonical_wavelet(n) for n in space.wavelets]
    assert len(set(canon)) == len(canon)
    allowed = [
        n
        for f in families
        for n in pywt.wavelist(f, kind="discrete")
        if pywt.Wavelet(n).dec_len <= 20 and max_wavelet_levels(n, space.seq_len) >= 1
    ]
    for n in allowed:
        first = next(a for a in wavelet_aliases(n) if a in allowed)
        assert space.wavelet_member(n) == first and first in space.wavelets


# ---- problems() on anything Genome.from_dict accepts -------------------------------------

NAMES = ["db4", "haar", "db1", "sym2", "coif5", "db38", "dmey", "morl", "", "nope"]
GENES = {  # path -> values of the right JSON type, valid or not
    "arch.d_model": st.integers(-4, 10**9),
    "arch.n_layers": st.integers(-2, 9),
    "arch.mixers": st.lists(st.sampled_from(["wavelet", "fourier", "attention", "mamba"])),
    "arch.ffn_mult": st.floats(-1e300, 1e300) | st.integers(-5, 5),
    "arch.spectral_share": st.floats(-2, 2),
    "arch.embedding": st.sampled_from(["spectral", "hybrid", "table", "lookup"]),
    "arch.n_heads": st.integers(-2, 70),
    "wavelet.name": st.sampled_from(NAMES),
    "wavelet.levels": st.integers(-2, 12),
    "wavelet.mixing": st.sampled_from(["sum", "gate", "max"]),
    "basis.0.family": st.sampled_from(["sine", "cosine", "gabor", "chirp", "damped", "square"]),
    "basis.0.frequency": st.floats(-1e300, 1e300) | st.integers(-5, 40),
    "basis.0.phase": st.floats(-1e300, 1e300),
    "basis.0.shape": st.floats(-20, 20),
    "basis.0.center": st.floats(-2, 2),
    "basis": st.sampled_from([[], [{"family": "sine", "frequency": 1.0}]]),
}


def _set(d: dict[str, Any], path: str, value: Any) -> None:
    """Set the gene at `path` ('arch.n_layers', 'basis.0.phase'), if the genome has one there."""
    *parents, leaf = path.split(".")
    if path.startswith("basis.") and not d["basis"]:
        return
    node: Any = d
    for p in parents:
        node = node[int(p)] if p.isdigit() else node[p]
    node[leaf] = value


@settings(max_examples=300, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), data=st.data())
def test_problems_never_raises_and_an_empty_answer_builds(seed: int, data: st.DataObject) -> None:
    """Whatever from_dict accepts, problems() answers (never TypeError); a genome with no
    problems builds a ModelConfig."""
    d = json.loads(json.dumps(random_genome(SPACE, np.random.default_rng(seed)).to_dict()))
    for path in data.draw(st.lists(st.sampled_from(sorted(GENES)), max_size=4)):
        _set(d, path, data.draw(GENES[path]))
    g = Genome.from_dict(d)
    if not SPACE.problems(g):
        to_model_config(g, SPACE.vocab_size, SPACE.seq_len)


LIMITED = {  # a field of the space set past ModelConfig's limit: the limit the refusal gives
    "vocab_size": (MAX_SIZES["vocab_size"] + 1, MAX_SIZES["vocab_size"]),
    "seq_len": (MAX_SIZES["seq_len"] + 1, MAX_SIZES["seq_len"]),
    "d_model": ([32, 2 * MAX_SIZES["d_model"]], MAX_SIZES["d_model"]),
    "n_layers": ([1, MAX_SIZES["n_layers"] + 1], MAX_SIZES["n_layers"]),
    "levels": ([1, MAX_SIZES["wavelet_levels"] + 1], MAX_SIZES["wavelet_levels"]),
    "n_heads": ([1, 2 * MAX_SIZES["n_heads"]], MAX_SIZES["n_heads"]),
    "ffn_mult": ([1.0, 2 * MAX_FFN_MULT], MAX_FFN_MULT),
}


@pytest.mark.parametrize("name", list(LIMITED))
def test_the_space_stays_within_modelconfigs_limits(name: str) -> None:
    value, most = LIMITED[name]
    with pytest.raises(ValueError, match=rf"space\.{name}=.*: a model's \w+ is at most {most:g}"):
        SearchSpace(**{name: value})
