"""What a ladder run reports is what it confirmed: its front, hypervolume, export choice and
Optuna study come from top-rung results only; lower rungs appear apart, as provisional fronts;
the hypervolume never falls; and runs written before this definition still read."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from hrfevo.api import load_run
from hrfevo.config import resolve
from hrfevo.errors import UsageError
from hrfevo.pareto import hypervolume
from hrfevo.run import RunView, start
from tests.hrfevo.clitools import invoke, tree_digest

LADDER = {"rungs": [4, 8, 16], "promote": 0.5}
NOTHING_CONFIRMED = {"rungs": [4, 8], "promote": 0.2}  # ⌊4 · 0.2⌋ = 0 promotions of 4


def ladder_run(out: Path, data: Path, seed: int, fidelity: dict[str, Any], **kw: Any) -> Path:
    overrides = {"executor": "serial", "data": str(data), "seed": seed, "fidelity": fidelity}
    budget = {"schedule": "wsd", "warmup_steps": 1}
    cfg = resolve("smoke", None, overrides | {"budget": budget} | kw)
    return start(cfg, out)


@pytest.fixture(scope="module", params=[0, 1])
def laddered(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, text_file: Path
) -> Path:
    out = tmp_path_factory.mktemp(f"confirmed-s{request.param}") / "run"
    return ladder_run(out, text_file, request.param, LADDER, population=6, generations=4)


@pytest.fixture(scope="module")
def unconfirmed(tmp_path_factory: pytest.TempPathFactory, text_file: Path) -> Path:
    out = tmp_path_factory.mktemp("unconfirmed") / "run"
    return ladder_run(out, text_file, 0, NOTHING_CONFIRMED, generations=1)


def pareto_front(points: dict[str, tuple[float, ...]]) -> set[str]:
    """Brute force: the keys whose point no other point dominates."""

    def dominated(p: tuple[float, ...]) -> bool:
        return any(all(a <= b for a, b in zip(q, p, strict=True)) and q != p
                   for q in points.values())  # fmt: skip

    return {k for k, p in points.items() if not dominated(p)}


def test_every_non_dominated_top_rung_genome_is_on_the_final_front(laddered: Path) -> None:
    run = load_run(laddered)
    top = {
        r["key"]: run.problem.objectives(r)
        for r in run.journal
        if r["rung"] == 2 and r["status"] == "ok"
    }
    assert top, "nothing reached the top rung: the test proves nothing"
    assert {r["key"] for r in run.front_records} == pareto_front(top)
    final = pd.read_csv(laddered / "pareto.csv").query(f"generation == {run.generations - 1}")
    assert set(final["key"]) == pareto_front(top) and set(final["rung"]) == {2}


def test_the_logged_hypervolume_never_falls(laddered: Path) -> None:
    hv = pd.read_csv(laddered / "hypervolume.csv")["hypervolume"].to_numpy()
    assert len(hv) == 4 and (hv[1:] >= hv[:-1]).all()
    run = load_run(laddered)
    assert hv[-1] == pytest.approx(hypervolume(run.front_records, run.problem))


def test_lower_rungs_are_provisional_fronts_of_their_own_results(laddered: Path) -> None:
    run = load_run(laddered)
    assert set(run.provisional) == {0, 1}
    for rung, members in run.provisional.items():
        assert members and {r["rung"] for r in members} == {rung}
        table = run.provisional_front(rung)
        assert list(table["rung"]) == [rung] * len(members)  # that rung's metrics
        assert list(table["perplexity"]) == [r["metrics"]["perplexity"] for r in members]
    with pytest.raises(UsageError, match="provisional rungs"):
        run.provisional_front(2)


def test_export_and_optuna_choose_from_the_confirmed_front(laddered: Path) -> None:
    import optuna

    from hrfevo.optuna_study import trials

    run = load_run(laddered)
    for select in ("knee", "min-perplexity"):
        assert run.select(select)["rung"] == 2, select
    study = optuna.create_study(directions=["minimize", "minimize"])
    study.add_trials(trials(run))
    best = {t.user_attrs["key"] for t in study.best_trials}
    assert best == {r["key"] for r in run.front_records}


def test_status_lists_the_confirmed_front_and_each_provisional_one(
    laddered: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = invoke(["status", str(laddered)], capsys)
    assert code == 0
    n = len(load_run(laddered).front_records)
    assert f"front        {n} genomes, confirmed at the top rung (rung 2, 16 steps)" in out
    assert out.index("provisional  rung 1 (8 steps)") < out.index("provisional  rung 0 (4 steps)")


def test_before_any_genome_is_confirmed_everything_says_so(
    unconfirmed: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = load_run(unconfirmed)
    assert not run.front_records and run.provisional[0]
    code, out, _ = invoke(["status", str(unconfirmed)], capsys)
    assert code == 0
    assert "front        none yet: no genome has been trained to the top rung" in out
    assert "hypervolume  0.0000" in out and "provisional  rung 0 (4 steps)" in out
    before = tree_digest(unconfirmed)
    code, _, err = invoke(["export", str(unconfirmed), "--out", str(tmp_path / "m")], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "trained to its top rung" in err and "--select key:KEY" in err
    assert tree_digest(unconfirmed) == before and not (tmp_path / "m").exists()
    key = run.provisional[0][0]["key"]
    assert run.select(f"key:{key}")["key"] == key  # a named genome can still be taken
    summary = invoke(["report", str(unconfirmed), "--out", str(tmp_path / "r")], capsys)
    assert summary[0] == 0
    text = (tmp_path / "r" / "summary.md").read_text()
    assert "Empty: no genome has been trained to the top rung" in text
    assert "### Rung 0 (4 steps)" in text
    assert (tmp_path / "r" / "pareto.png").stat().st_size > 10_000  # its provisional front


def test_progress_says_when_nothing_is_confirmed(
    text_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(
        json.dumps(
            {
                "fidelity": NOTHING_CONFIRMED,
                "generations": 1,
                "budget": {"schedule": "wsd", "warmup_steps": 1},
            }
        )
    )
    argv = ["run", "--preset", "smoke", "--data", str(text_file), "--config", str(config)]
    code, _, err = invoke([*argv, "--out", str(tmp_path / "run")], capsys)
    assert code == 0
    assert "front: none confirmed yet (no genome has reached rung 1, the top)" in err


def as_format_4(run_dir: Path, out: Path) -> Path:
    """A copy of the run as hrfevo wrote it before format 5: no `compare` in its ladder."""
    shutil.copytree(run_dir, out)
    info = json.loads((out / "run.json").read_text())
    info["format"] = 4
    if info["config"]["fidelity"]:
        del info["config"]["fidelity"]["compare"]
    (out / "run.json").write_text(json.dumps(info))
    checkpoint = json.loads((out / "checkpoint.json").read_text())
    from hrfevo.run import search_settings

    checkpoint["settings"] = search_settings(info)  # as that run's checkpoint recorded them
    (out / "checkpoint.json").write_text(json.dumps(checkpoint))
    return out


def test_an_old_ladder_run_reads_but_resume_refuses_it_in_one_line(
    laddered: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = as_format_4(laddered, tmp_path / "old")
    assert {r["rung"] for r in load_run(old).front_records} == {2}
    for argv in (["status", old], ["runs", old]):
        assert invoke([str(a) for a in argv], capsys)[0] == 0
    before = tree_digest(old)
    code, _, err = invoke(["resume", str(old), "--generations", "5"], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "older hrfevo (run format 4)" in err and f"--seeds {old}" in err
    assert tree_digest(old) == before


def test_an_old_run_without_a_ladder_resumes(run_dir: Path, tmp_path: Path) -> None:
    from hrfevo.run import resume

    old = as_format_4(run_dir, tmp_path / "old")
    generations = RunView(old).generation
    resume(old, generations + 1)
    assert RunView(old).generation == generations + 1
