"""Genome contracts: plain JSON, canonical keys, a pure genome -> ModelConfig map."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import numpy as np
import pytest
import torch

from hrfevo.genome import ArchGenes, Genome, WaveletGenes, to_model_config, transformer_genome
from hrfevo.operators import random_genome
from hrfevo.space import SearchSpace
from model import BasisSpec, SpectralLM

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


@pytest.mark.parametrize(
    ("patch", "needle"),
    [
        (lambda d: d.pop("arch"), "missing ['arch']"),
        (lambda d: d["wavelet"].update(extra=1), "unknown ['extra']"),
        (lambda d: d["basis"].append({"family": "sine", "freq": 1.0}), "bad basis function"),
    ],
)
def test_from_dict_names_the_bad_gene(patch, needle: str) -> None:  # type: ignore[no-untyped-def]
    d = genomes(1)[0].to_dict()
    patch(d)
    with pytest.raises(ValueError, match=needle.replace("[", r"\[").replace("]", r"\]")):
        Genome.from_dict(d)
