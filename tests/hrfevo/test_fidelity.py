"""The fidelity ladder: promotions decided in proposal order, continued evaluations equal to
fresh ones, and kill-and-resume with promotions in flight. How selection compares rungs:
test_rung_rules.py; what a ladder run reports: test_confirmed.py."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from hrfevo.fidelity import Fidelity, Promotions, kendall_tau, spearman
from hrfevo.run import RunView
from hrfevo.storage import Journal
from tests.hrfevo.clitools import determined, determined_csv
from tests.hrfevo.procs import kill_after

LADDER = """\
population: 6
generations: 3
fidelity: {rungs: [4, 8, 16], promote: 0.5}
budget: {schedule: wsd, warmup_steps: 1}
"""


# --- the ladder's rules --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fidelity", "message"),
    [
        ({"rungs": []}, "increasing positive step counts"),
        ({"rungs": [8, 4]}, "increasing positive step counts"),
        ({"rungs": [4, 4]}, "increasing positive step counts"),
        ({"rungs": [0, 4]}, "increasing positive step counts"),
        ({"rungs": [4, 8], "promote": 1.0}, "fidelity.promote=1.0"),
        ({"rungs": [4, 8], "promote": 0}, "fidelity.promote=0"),
        ({"rungs": [4, 8], "share": 0.5}, "expected {rungs"),
        ({"rungs": [4, 8], "compare": "best"}, "fidelity.compare='best'"),
    ],
)
def test_a_bad_ladder_is_refused_naming_it(fidelity: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("{", r"\{")):
        Fidelity.from_dict(fidelity)


def _results(losses: dict[str, float]) -> Any:
    return lambda key, rung: (losses[key], 1.0) if rung == 0 and key in losses else None


def test_promotions_follow_proposal_order_not_completion_order() -> None:
    losses = {"a": 3.0, "b": 2.0, "c": 1.0, "d": 0.5, "e": 4.0, "f": 0.1}
    order = list(losses)

    def promoted(arrival: list[str]) -> list[tuple[str, int]]:
        ladder, arrived, out = Promotions(Fidelity((4, 8), 1 / 3)), set(), []
        for key in arrival:
            arrived.add(key)
            out += ladder.update(order, _results(losses), lambda k, r: k in arrived)
        return out

    # ⌊k/3⌋ promoted after k results: the best of a, b, c after 3, then the best of the rest
    # of all six after 6
    assert promoted(order) == [("c", 1), ("f", 1)]
    assert promoted(list(reversed(order))) == promoted(order)
    assert promoted(["d", "f", "a", "e", "c", "b"]) == promoted(order)


def test_a_failed_genome_is_never_promoted() -> None:
    ladder = Promotions(Fidelity((4, 8), 0.5))
    losses = {"a": 1.0}  # b failed: it has no result, but it is done
    assert ladder.update(["b", "a"], _results(losses), lambda k, r: True) == [("a", 1)]


def test_rank_agreement_matches_known_values() -> None:
    assert kendall_tau([1, 2, 3, 4], [1, 2, 3, 4]) == 1.0
    assert kendall_tau([1, 2, 3, 4], [4, 3, 2, 1]) == -1.0
    assert kendall_tau([1, 2, 3], [1, 3, 2]) == pytest.approx(1 / 3)
    assert kendall_tau([1, 1, 2], [1, 2, 3]) == pytest.approx(2 / math.sqrt(6))  # τ-b, a tie
    assert spearman([1, 2, 3, 4], [10, 20, 30, 45]) == pytest.approx(1.0)
    assert spearman([1, 2, 3], [3, 1, 2]) == pytest.approx(-0.5)
    assert math.isnan(kendall_tau([1], [1]))


# --- a run with a ladder -------------------------------------------------------------------


def hrfevo_cmd(*args: str | Path) -> list[str]:
    return [sys.executable, "-m", "hrfevo", *map(str, args)]


def ladder_args(out: Path, data: Path, config: Path) -> list[str | Path]:
    return ["run", "--preset", "smoke", "--executor", "serial", "--data", data, "--config",
            config, "--out", out, "--seed", "5"]  # fmt: skip


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("config") / "ladder.yaml"
    path.write_text(LADDER)
    return path


@pytest.fixture(scope="module")
def laddered(tmp_path_factory: pytest.TempPathFactory, text_file: Path, config: Path) -> Path:
    out = tmp_path_factory.mktemp("ladder") / "run"
    subprocess.run(hrfevo_cmd(*ladder_args(out, text_file, config)), check=True)
    return out


def snapshot(run_dir: Path) -> dict[str, Any]:
    records = Journal(run_dir / "journal.jsonl").records.values()
    checkpoint = json.loads((run_dir / "checkpoint.json").read_text())
    return {
        "journal": sorted(
            (
                r["key"],
                r["rung"],
                r["generation"],
                r["status"],
                json.dumps(determined(r["metrics"])),
            )
            for r in records
        ),
        "population": checkpoint["strategy"]["population"],
        "rng": checkpoint["strategy"]["rng"],
        "pareto.csv": determined_csv(run_dir / "pareto.csv"),
        "hypervolume.csv": (run_dir / "hypervolume.csv").read_text(),
        "fidelity.csv": (run_dir / "fidelity.csv").read_text(),
        "states": sorted(p.name for p in (run_dir / "states").iterdir()),
    }


def test_a_ladder_run_keeps_one_result_per_genome_and_rung(laddered: Path) -> None:
    lines = [json.loads(x) for x in (laddered / "journal.jsonl").read_text().splitlines()]
    ids = [(r["key"], r["rung"]) for r in lines]
    assert len(ids) == len(set(ids))
    by_rung = {rung: {k for k, r in ids if r == rung} for rung in range(3)}
    assert by_rung[2] and by_rung[2] <= by_rung[1] <= by_rung[0]  # promoted from below
    assert len(by_rung[1]) == len(by_rung[0]) // 2  # the quota: a share of 1/2
    assert len(by_rung[2]) == len(by_rung[1]) // 2
    for r in lines:
        assert r["budget"]["steps"] == [4, 8, 16][r["rung"]]
        assert r["timings"]["continued_from"] == (0 if r["rung"] == 0 else [3, 6][r["rung"] - 1])


def test_a_continued_evaluation_equals_a_fresh_one(laddered: Path) -> None:
    view = RunView(laddered)
    top = next(r for r in view.records() if r["rung"] == 2)
    fresh = view.problem().evaluate(top["candidate"], rung=2)  # from scratch, no state
    assert fresh["metrics"]["val_loss"] == top["metrics"]["val_loss"]


def test_states_are_kept_only_until_a_genome_goes_higher(laddered: Path) -> None:
    journal = Journal(laddered / "journal.jsonl")
    states = sorted((laddered / "states").glob("*.safetensors"))
    assert states  # the genomes not promoted (yet) keep theirs
    for path in states:
        key, _, rung = path.stem.partition("@")
        assert path.stem in journal and int(rung or 0) < 2
        assert f"{key}@{int(rung or 0) + 1}" not in journal


def test_the_logs_say_which_rung_each_result_comes_from(laddered: Path) -> None:
    pareto = pd.read_csv(laddered / "pareto.csv")
    assert list(pareto.columns[:3]) == ["generation", "key", "rung"]
    final = pareto[pareto["generation"] == pareto["generation"].max()]
    assert set(final["rung"]) == {2}  # the front holds top-rung results only
    fidelity = pd.read_csv(laddered / "fidelity.csv")
    assert list(fidelity.columns) == [
        "generation", "rung_from", "rung_to", "n", "kendall_tau", "spearman"
    ]  # fmt: skip
    last = fidelity[fidelity["generation"] == 2].set_index(["rung_from", "rung_to"])
    assert set(last.index) == {(0, 1), (0, 2), (1, 2)}
    assert last.loc[(0, 1), "n"] >= last.loc[(0, 2), "n"] > 0
    assert fidelity["kendall_tau"].dropna().between(-1, 1).all()


@pytest.mark.parametrize("kill_at", [5, 9, 14])
def test_a_killed_ladder_run_resumes_to_the_uninterrupted_result(
    laddered: Path, tmp_path: Path, text_file: Path, config: Path, kill_at: int
) -> None:
    out = tmp_path / "killed"
    cmd = hrfevo_cmd(*ladder_args(out, text_file, config))
    done = kill_after(cmd, out / "journal.jsonl", kill_at)
    total = len((laddered / "journal.jsonl").read_text().splitlines())
    assert done < total, "the run finished before it could be killed"
    killed = [json.loads(x) for x in (out / "journal.jsonl").read_text().splitlines()[:done]]
    subprocess.run(hrfevo_cmd("resume", out), check=True, capture_output=True)
    resumed, uninterrupted = snapshot(out), snapshot(laddered)
    for part in uninterrupted:
        assert resumed[part] == uninterrupted[part], part
    if kill_at >= 9:
        assert any(r["rung"] > 0 for r in killed), "no promotion had run before the kill"


def test_status_and_report_show_the_rank_agreement_between_rungs(
    laddered: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from hrfevo.cli import main

    assert main(["status", str(laddered)]) == 0
    out = capsys.readouterr().out
    log = pd.read_csv(laddered / "fidelity.csv")
    last = log[log["generation"] == log["generation"].max()].iloc[0]
    assert (
        f"fidelity     rung 0 vs 1: Kendall τ {last['kendall_tau']:.2f} (n = {int(last['n'])})"
        in out
    )
    assert "confirmed at the top rung (rung 2, 16 steps)" in out
    assert main(["report", str(laddered), "--out", str(tmp_path / "report")]) == 0
    assert (tmp_path / "report" / "fidelity.png").stat().st_size > 10_000
    summary = (tmp_path / "report" / "summary.md").read_text()
    assert "## Fidelity" in summary and "| 0 → 1 |" in summary


def test_a_rungs_front_is_the_plain_pareto_front_of_its_results() -> None:
    from hrfevo.pareto import rung_front
    from hrfevo.problems.zdt import ZDT1

    def rec(key: str, f1: float, f2: float, rung: int = 2) -> dict[str, Any]:
        return {"key": key, "rung": rung, "status": "ok", "metrics": {"f1": f1, "f2": f2}}

    records = [rec("a", 1.0, 5.0), rec("b", 2.0, 4.0), rec("c", 3.0, 6.0), rec("d", 0.5, 9.0)]
    records.append(rec("e", 0.1, 0.1, rung=1))  # another rung's: not weighed against them
    assert [r["key"] for r in rung_front(records, ZDT1(), 2)] == ["d", "a", "b"]
    assert [r["key"] for r in rung_front(records, ZDT1(), 1)] == ["e"]
