"""Genome contracts: plain JSON with typed genes, canonical keys, a pure genome -> ModelConfig map.

Canonical keys: two genomes share a key exactly when they build the same model, so an alias
wavelet (db1 for haar) or a sine in disguise (a cosine, a chirp or damped sine of shape 0) is
not a new candidate.
"""

from __future__ import annotations

import json
import math
from dataclasses import replace

import numpy as np
import pytest
import pywt
import torch

from hrfevo.genome import ArchGenes, Genome, WaveletGenes, to_model_config, transformer_genome
from hrfevo.operators import random_genome
from hrfevo.space import SearchSpace
from model import BasisSpec, SpectralLM
from model.embedding import SpectralEmbedding
from model.wavelets import ALIAS_TOLERANCE

SPACE = SearchSpace()


def genomes(n: int, seed: int = 0) -> list[Genome]:
    rng = np.random.default_rng(seed)
    return [random_genome(SPACE, rng) for _ in range(n)]


def test_json_round_trip_is_exact() -> None:
    for g in genomes(20):
        text = json.dumps(g.to_dict())
        assert Genome.from_dict(json.loads(text)) == g
        assert Genome.from_dict(json.loads(text)).key == g.key


def test_equal_genomes_have_equal_keys_and_different_ones_differ() -> None:
    gs = genomes(50)
    copies = [Genome.from_dict(json.loads(json.dumps(g.to_dict()))) for g in gs]
    assert [g.key for g in gs] == [c.key for c in copies]
    assert len({g.key for g in gs}) == len(gs)


def test_key_ignores_genes_the_model_does_not_read() -> None:
    g = transformer_genome()  # attention only, table embedding
    other_wavelet = replace(g, wavelet=WaveletGenes(name="haar", levels=1, mixing="gate"))
    other_basis = replace(g, basis=(BasisSpec("sine", 3.0),))
    assert other_wavelet.key == other_basis.key == g.key
    assert replace(g, arch=replace(g.arch, n_heads=2)).key != g.key  # heads are read


def test_key_sees_every_expressed_gene() -> None:
    g = Genome(
        basis=(BasisSpec("gabor", 4.0, 1.0, 0.2, 0.3),),
        wavelet=WaveletGenes("db4", 2, "sum"),
        arch=ArchGenes(d_model=32, n_layers=2, mixers=("wavelet", "attention"), n_heads=4),
    )
    variants = [
        replace(g, basis=(BasisSpec("gabor", 4.5, 1.0, 0.2, 0.3),)),
        replace(g, basis=(BasisSpec("gabor", 4.0, 1.0, 0.2, 0.4),)),
        replace(g, wavelet=WaveletGenes("db3", 2, "sum")),
        replace(g, wavelet=WaveletGenes("db4", 1, "sum")),
        replace(g, wavelet=WaveletGenes("db4", 2, "gate")),
        replace(g, arch=replace(g.arch, n_heads=2)),
        replace(g, arch=replace(g.arch, ffn_mult=3.0)),
        replace(g, arch=replace(g.arch, embedding="hybrid")),
    ]
    assert len({v.key for v in variants} | {g.key}) == len(variants) + 1


def test_key_is_blind_to_what_the_model_cannot_see() -> None:
    g = Genome(
        basis=(BasisSpec("sine", 3.0, 1.0),),
        arch=ArchGenes(d_model=64, mixers=("fourier", "fourier"), ffn_mult=2.0),
    )
    same = [
        replace(g, basis=(BasisSpec("sine", 3.0, 1.0 + 2 * math.pi),)),  # the phase wraps
        replace(g, basis=(BasisSpec("sine", 3.0, 1.0, shape=0.7, center=0.1),)),  # sine ignores
        replace(g, arch=replace(g.arch, ffn_mult=2.004)),  # 128 hidden units either way
    ]
    assert {v.key for v in same} == {g.key}
    assert replace(g, arch=replace(g.arch, ffn_mult=2.1)).key != g.key  # 134 hidden units
    for v in same:  # and the models are indeed the same
        cfg_a, cfg_b = (to_model_config(x, 256, 32) for x in (g, v))
        torch.manual_seed(0)
        a = SpectralLM(cfg_a)
        torch.manual_seed(0)
        b = SpectralLM(cfg_b)
        idx = torch.randint(0, 256, (1, 32))
        assert torch.equal(a(idx), b(idx))


def test_to_model_config_is_pure_and_builds() -> None:
    for g in genomes(8):
        a, b = to_model_config(g, 256, 64), to_model_config(g, 256, 64)
        assert a.to_dict() == b.to_dict()
        assert a.d_model == g.arch.d_model and a.layer_mixers == list(g.arch.mixers)
        assert SpectralLM(a)(torch.zeros(1, 8, dtype=torch.long)).shape == (1, 8, 256)


def test_transformer_baseline_is_a_genome() -> None:
    cfg = to_model_config(transformer_genome(64, 2, 4), 256, 64)
    assert cfg.layer_mixers == ["attention", "attention"] and cfg.embedding == "table"


def test_transformer_baseline_key_is_stable() -> None:
    """The baseline's key (table embedding, attention only) is the one earlier runs journaled."""
    assert transformer_genome().key == "41530d9f1155ffbb"


def _wavelet_genome(name: str) -> Genome:
    return Genome(
        basis=(BasisSpec("sine", 3.0, 1.0),),
        wavelet=WaveletGenes(name, 1, "sum"),
        arch=ArchGenes(d_model=32, n_layers=1, mixers=("wavelet",)),
    )


def _same_bank(a: str, b: str) -> bool:
    fa, fb = pywt.Wavelet(a).filter_bank, pywt.Wavelet(b).filter_bank
    return all(
        len(x) == len(y) and np.allclose(x, y, rtol=0, atol=ALIAS_TOLERANCE)
        for x, y in zip(fa, fb, strict=True)
    )


@pytest.mark.parametrize(
    "names",
    [pywt.wavelist(kind="discrete"), SPACE.wavelets],
    ids=["all discrete", "default space"],
)
def test_same_wavelet_key_iff_same_filter_bank(names: list[str]) -> None:
    keys = {n: _wavelet_genome(n).key for n in names}
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            assert (keys[a] == keys[b]) == _same_bank(a, b), (a, b)
    assert _wavelet_genome("db1").key == _wavelet_genome("haar").key  # an alias pair exists


SINE_TWINS = [  # (a spec, the sine it is)
    (BasisSpec("cosine", 3.0, 0.4), BasisSpec("sine", 3.0, 0.4 + math.pi / 2)),
    (BasisSpec("damped", 3.0, 0.4, shape=0.0), BasisSpec("sine", 3.0, 0.4)),
    (BasisSpec("chirp", 3.0, 0.4, shape=0.0), BasisSpec("sine", 3.0, 0.4)),
]


@pytest.mark.parametrize(("spec", "sine"), SINE_TWINS, ids=lambda s: s.family)
def test_sines_in_disguise_share_the_key_and_the_model(spec: BasisSpec, sine: BasisSpec) -> None:
    g = Genome(
        basis=(spec, BasisSpec("gabor", 5.0, 1.0, 0.2, 0.3)),
        arch=ArchGenes(d_model=32, n_layers=1, mixers=("fourier",)),
    )
    twin = replace(g, basis=(sine, *g.basis[1:]))
    assert g.key == twin.key
    embs = [SpectralEmbedding(to_model_config(x, 256, 32)) for x in (g, twin)]
    torch.testing.assert_close(embs[0].basis(), embs[1].basis(), rtol=0, atol=1e-5)
    shaped = replace(g, basis=(replace(spec, shape=0.5), *g.basis[1:]))
    assert spec.family == "cosine" or shaped.key != g.key  # a real sweep or damping is not


def _gene(path: str, value: object) -> dict[str, object]:
    """A valid genome's dict with the gene at `path` ('arch.n_layers', 'basis.0.phase') set."""
    d = json.loads(json.dumps(genomes(1)[0].to_dict()))
    *parents, leaf = path.split(".")
    node = d
    for p in parents:
        node = node[int(p)] if p.isdigit() else node[p]
    node[int(leaf) if leaf.isdigit() else leaf] = value
    return d


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("arch.n_layers", "2", "genome.arch.n_layers: expected an integer, got '2'"),
        ("arch.n_layers", True, "genome.arch.n_layers: expected an integer, got True"),
        ("arch.d_model", 64.0, "genome.arch.d_model: expected an integer, got 64.0"),
        ("arch.ffn_mult", "2", "genome.arch.ffn_mult: expected a finite number, got '2'"),
        ("arch.ffn_mult", math.inf, "genome.arch.ffn_mult: expected a finite number, got inf"),
        ("arch.mixers", "fourier", "genome.arch.mixers: expected a list of strings, got 'fourier'"),
        ("arch.mixers", [1], "genome.arch.mixers: expected a list of strings, got [1]"),
        ("arch.embedding", None, "genome.arch.embedding: expected a string, got None"),
        ("wavelet.name", 4, "genome.wavelet.name: expected a string, got 4"),
        ("wavelet.levels", 2.0, "genome.wavelet.levels: expected an integer, got 2.0"),
        ("wavelet.mixing", ["sum"], "genome.wavelet.mixing: expected a string, got ['sum']"),
        ("basis", {}, "genome.basis: expected a list, got {}"),
        ("basis.0", 1.5, "genome.basis[0]: expected an object, got float"),
        ("basis.0.family", 1, "genome.basis[0].family: expected a string, got 1"),
        ("basis.0.frequency", "1", "genome.basis[0].frequency: expected a finite number, got '1'"),
        ("basis.0.phase", math.nan, "genome.basis[0].phase: expected a finite number, got nan"),
        ("basis.0.shape", False, "genome.basis[0].shape: expected a finite number, got False"),
        ("basis.0.center", None, "genome.basis[0].center: expected a finite number, got None"),
        ("basis.0.freq", 1.0, "genome.basis[0]: missing [], unknown ['freq']"),
        ("wavelet.extra", 1, "genome.wavelet: missing [], unknown ['extra']"),
    ],
)
def test_from_dict_names_the_mistyped_gene(path: str, value: object, message: str) -> None:
    with pytest.raises(ValueError) as e:
        Genome.from_dict(_gene(path, value))
    assert str(e.value) == message


def test_from_dict_names_missing_genes() -> None:
    d = genomes(1)[0].to_dict()
    with pytest.raises(ValueError, match=r"^genome: missing \['arch'\], unknown \[\]$"):
        Genome.from_dict({k: v for k, v in d.items() if k != "arch"})
    d["basis"][0] = {"family": "sine", "phase": 1.0}
    with pytest.raises(ValueError, match=r"^genome.basis\[0\]: missing \['frequency'\]"):
        Genome.from_dict(d)


def test_from_dict_reads_json_numbers_as_the_genes_hold_them() -> None:
    """An int where a float is expected is that float; a basis function's optional genes
    (phase, shape, center) take their defaults."""
    d = _gene("arch.ffn_mult", 2)
    d["basis"] = [{"family": "sine", "frequency": 3}]
    g = Genome.from_dict(d)
    assert type(g.arch.ffn_mult) is float and g.basis == (BasisSpec("sine", 3.0),)
    assert type(g.basis[0].frequency) is float and isinstance(g.arch.mixers, tuple)
