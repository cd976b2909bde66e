"""The frontier study's scale stage (`benchmarks/frontier_scale.py`): which contests it takes,
how it widens a model, where its learning-rate studies start, that each widened model is judged
against widened transformers either side of it, that its cache keys never meet the study's,
and what the report calls a verdict at scale."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from benchmarks import frontier_scale
from benchmarks.frontier_measure import Contest, Judgement, Row
from benchmarks.frontier_plan import QUICK, Job, LrStudy, Model, Plan, design_models, transformer
from benchmarks.frontier_scale import Point, Scale, centred, scale_plan, selection, widened
from benchmarks.frontier_scale_report import transfer
from benchmarks.frontier_train import bracket, next_round
from hrfevo.errors import UsageError
from model import ModelConfig

STUDY = LrStudy(grid=(3e-3, 1e-2), span=(1e-3, 3e-2), trials=3, factor=1.5, extra=4)


def job(model: Model, **changes: object) -> Job:
    return dataclasses.replace(
        Job(model, 64, {"tokens": 1024}, "data", "sha", 512, "c.json", STUDY), **changes
    )


def test_the_settings_name_the_flag_and_the_scale_point_comes_first() -> None:
    assert Scale().points == (Point(2, 2), Point(1, 2), Point(1, 4))
    assert Scale(width=1, tokens=2, token_factors=(2, 4)).points == (Point(1, 2), Point(1, 4))
    assert Scale(token_factors=()).points == (Point(2, 2),)
    for bad, flag in (
        ({"width": 0}, "--scale-width 0"),
        ({"seeds": 1}, "--scale-seeds 1"),
        ({"token_factors": (1,)}, "--token-factors 1"),
        ({"width": 1, "tokens": 1}, "--scale-width 1 --scale-tokens 1"),
    ):
        with pytest.raises(UsageError, match=flag):
            Scale(**bad)


def test_widening_keeps_depth_mixers_spectral_genes_and_head_width() -> None:
    for m in [*design_models(QUICK, 64), transformer(32, 2, 2, 64)]:
        wide = widened(m, 2)
        cfg, before = wide.config, m.config
        assert cfg["d_model"] == 2 * before["d_model"] and cfg["n_heads"] == 2 * before["n_heads"]
        assert {k: v for k, v in cfg.items() if k not in ("d_model", "n_heads")} == {
            k: v for k, v in before.items() if k not in ("d_model", "n_heads")
        }
        ModelConfig.from_dict(cfg)  # valid: heads of the same even width
        ratio = wide.built().flops_per_token() / m.built().flops_per_token()
        assert 2 < ratio <= 4, (m.name, ratio)  # the d² terms ×4, the rest ×2
    assert widened(m, 1) is m
    with pytest.raises(UsageError, match="--scale-width 200"):
        widened(m, 200)  # 400 heads


def test_a_centred_study_starts_at_the_rate_chosen_and_a_rate_that_stayed_is_bracketed() -> None:
    st = centred(STUDY, 1e-2)
    assert st.grid == (1e-2, 1e-2 / 1.5, 1.5e-2) and st.trials == 3 and st.extra == STUDY.extra
    assert centred(STUDY, 3e-2).grid == (3e-2, 2e-2)  # clipped to the range, each rate once
    j = job(Model("ladder", "T", {"d_model": 16}, "T"), study=st)
    losses = {1e-2: 1.0, 1e-2 / 1.5: 1.1, 1.5e-2: 1.2}  # the rate did not move
    done = {
        j.key(i): {"lr": lr, "val_loss": losses[lr], "test_loss": losses[lr]}
        for i, lr in enumerate(st.grid)
    }
    b = bracket(st, list(done.values()))
    assert b is not None and b.bracketed and b.extra == 0
    assert next_round(j, done) == []  # the study is complete after one round of 3
    moved = done | {
        j.key(0): {"lr": 1e-2, "val_loss": 2.0, "test_loss": 2.0}
    }  # now the lowest wins
    assert [t.lr for t in next_round(j, moved)] == [1e-2 / 1.5**2]  # a factor further down


def test_the_study_keeps_its_keys_and_a_scale_point_gets_keys_of_its_own() -> None:
    j = job(Model("ladder", "T", {"d_model": 16}, "T"))
    # the keys before the scale stage existed: reports/frontier.json holds keys made this way
    assert (j.key(0), j.key(3), j.key()) == (
        "f6c69839e502ec0c95bf",
        "3617c00d1682b045ba97",
        "555a20f8b7f012cf9990",
    )
    assert dataclasses.replace(j, lr=0.01, seed=1).key() == "0514eea89eb4251584a8"
    at = {dataclasses.replace(j, point=p).key(0) for p in ((2, 1), (2, 2), (1, 2))}
    assert len(at) == 3 and j.key(0) not in at


def row(role: str, name: str) -> Row:
    return Row(job(Model(role, name, {}, name)), None, 0.0, 0)


def test_it_takes_every_front_member_beyond_noise_the_closest_within_and_the_designs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    verdicts = {  # name: (mean gap, beyond seed noise)
        "F1": (-0.03, True), "F2": (+0.05, True), "F3": (-0.01, False), "F4": (-0.02, False),
        "SpectralLLM": (+0.04, True), "SignalLLM": (+0.2, False),
    }  # fmt: skip
    ladder = row("ladder", "T")
    found = [
        Contest(row("design" if n.startswith("S") else "front", n), ladder, ladder)
        for n in verdicts
    ]

    def judged(c: Contest, cache: object, seeds: int) -> Judgement:
        mean, beyond = verdicts[c.member.job.model.name]
        return Judgement([mean] * seeds, mean, 0.01, beyond)

    monkeypatch.setattr(frontier_scale, "contests", lambda p, cache, s: found)
    monkeypatch.setattr(frontier_scale, "judged", judged)
    monkeypatch.setattr(frontier_scale, "next_round", lambda j, cache: [])
    p = Plan(64, Path("run"), [])
    picked = [c.member.job.model.name for c, _ in selection(p, {}, QUICK)]
    assert picked == ["F1", "F2", "F4", "SpectralLLM", "SignalLLM"]  # F4: within, the lowest
    monkeypatch.setattr(frontier_scale, "next_round", lambda j, cache: ["a training"])
    with pytest.raises(UsageError, match="run --stage train"):
        selection(Plan(64, Path("run"), [found[0].member.job]), {}, QUICK)


def test_each_widened_model_is_judged_between_widened_transformers_either_side() -> None:
    designs = design_models(QUICK, 64)
    chain = [transformer(d, n, h, 64) for d, n, h in QUICK.chain]
    p = Plan(64, Path("run"), [job(m) for m in [*chain, *designs]])
    rows = {j.model.name: Row(j, None, j.model.built().flops_per_token(), 0) for j in p.jobs}
    chosen = [
        (Contest(rows[m.name], rows["T8×1"], rows["T16×1"]), Judgement([], 0, 0)) for m in designs
    ]
    origin = p.jobs[-1]  # SignalLLM chose 0.01 in the study
    cache = {origin.key(0): {"lr": 1e-2, "val_loss": 1.0, "test_loss": 1.0}}
    sp = scale_plan(p, chosen, Point(2, 3), cache, QUICK)
    for _, trio in sp.contests:
        assert trio is not None
        member, below, above = trio
        assert below.flops <= member.flops <= above.flops
        assert below.job.model.name.endswith("×2 wide") and below.origin.model in chain
    assert {m.job.model.name for m in sp.models} >= {f"{m.name} ×2 wide" for m in designs}
    for m in sp.models:
        assert m.job.point == (2, 3) and m.job.budget["tokens"] == 3 * 1024
        assert m.job.model.config["d_model"] == 2 * m.origin.model.config["d_model"]
        centre = centred(STUDY, 1e-2) if m.origin.model.name == "SignalLLM" else STUDY
        assert m.job.study == centre  # the study's own where the origin has no result


def test_what_became_of_a_verdict() -> None:
    def j(mean: float | None, beyond: bool) -> Judgement:
        return Judgement([], mean, 0.01, beyond)

    assert transfer(j(-0.03, True), j(-0.02, True)) == "held"
    assert transfer(j(-0.03, True), j(+0.02, True)) == "flipped (the ladder ahead)"
    assert transfer(j(-0.03, True), j(-0.001, False)) == "fell into noise"
    assert transfer(j(-0.003, False), j(+0.05, True)) == "rose out of noise (the ladder ahead)"
    assert transfer(j(-0.003, False), j(+0.001, False)) == "stayed in noise"
    assert transfer(j(-0.03, True), j(None, False)) == "not trained yet"
    assert transfer(j(-0.03, True), None) == "outside the widened ladder"
