"""Reliability of whole runs: same seed same result, kill and resume, failed evaluations."""

from __future__ import annotations

import dataclasses
import json
import math
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import hrfevo.problems.spectral as spectral
from hrfevo import run
from hrfevo.config import resolve
from hrfevo.errors import MachineFaultError
from hrfevo.storage import Journal
from tests.hrfevo.clitools import determined, determined_csv
from tests.hrfevo.procs import kill_after


def hrfevo_cmd(*args: str | Path) -> list[str]:
    return [sys.executable, "-m", "hrfevo", *map(str, args)]


def smoke_args(out: Path, data: Path) -> list[str | Path]:
    return [
        "run",
        "--preset",
        "smoke",
        "--executor",
        "serial",
        "--data",
        data,
        "--out",
        out,
        "--seed",
        "3",
    ]


def snapshot(run_dir: Path) -> dict[str, Any]:
    """What must match between runs: journal keys, genomes and metrics, population, fronts."""
    records = Journal(run_dir / "journal.jsonl").records.values()
    checkpoint = json.loads((run_dir / "checkpoint.json").read_text())
    return {
        "journal": sorted(
            (
                r["key"],
                r["generation"],
                r["status"],
                json.dumps(determined(r["metrics"]), sort_keys=True),
                json.dumps(r["candidate"], sort_keys=True),
            )
            for r in records
        ),
        "population": checkpoint["strategy"]["population"],
        "rng": checkpoint["strategy"]["rng"],
        "generation": checkpoint["generation"],
        "pareto": determined_csv(run_dir / "pareto.csv"),
        "hypervolume": (run_dir / "hypervolume.csv").read_text(),
    }


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory, text_file: Path) -> Path:
    out = tmp_path_factory.mktemp("reference") / "run"
    subprocess.run(hrfevo_cmd(*smoke_args(out, text_file)), check=True, capture_output=True)
    return out


def test_same_seed_gives_the_same_journal_and_front_in_a_fresh_process(
    reference: Path, tmp_path: Path, text_file: Path
) -> None:
    again = tmp_path / "again"
    subprocess.run(hrfevo_cmd(*smoke_args(again, text_file)), check=True, capture_output=True)
    assert snapshot(again) == snapshot(reference)
    keys = [
        json.loads(line)["key"] for line in (reference / "journal.jsonl").read_text().splitlines()
    ]
    assert keys == [
        json.loads(line)["key"] for line in (again / "journal.jsonl").read_text().splitlines()
    ]
    assert len(pd.read_csv(reference / "hypervolume.csv")) == 2


def test_resume_rebuilds_logs_lost_after_the_last_checkpoint(
    reference: Path, tmp_path: Path
) -> None:
    """A kill between the final checkpoint and the logs leaves no generation to run."""
    copy = tmp_path / "copy"
    shutil.copytree(reference, copy)
    (copy / "pareto.csv").unlink()
    (copy / "hypervolume.csv").write_text("stale\n")
    subprocess.run(hrfevo_cmd("resume", copy), check=True, capture_output=True)
    assert snapshot(copy) == snapshot(reference)


@pytest.mark.parametrize("kill_at", [1, 4, 6])
def test_killed_run_resumes_to_the_uninterrupted_result(
    reference: Path, tmp_path: Path, text_file: Path, kill_at: int
) -> None:
    out = tmp_path / "killed"
    done = kill_after(hrfevo_cmd(*smoke_args(out, text_file)), out / "journal.jsonl", kill_at)
    before = (out / "journal.jsonl").read_bytes()
    assert done < 8, "the run finished before it could be killed"
    subprocess.run(hrfevo_cmd("resume", out), check=True, capture_output=True)
    assert snapshot(out) == snapshot(reference)
    after = (out / "journal.jsonl").read_bytes()
    complete = before[: before.rfind(b"\n") + 1]  # a torn last line may be dropped
    assert after.startswith(complete), "a completed evaluation was lost"
    keys = [json.loads(line)["key"] for line in after.splitlines()]
    assert len(keys) == len(set(keys)), "a completed evaluation was run again"


def test_failed_and_diverged_evaluations_are_recorded_and_the_run_goes_on(
    tmp_path: Path, text_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_train = spectral.train

    def flaky_train(cfg: Any, train_cfg: Any, corpus: Any, **kw: Any) -> Any:
        if "fourier" in cfg.layer_mixers:
            raise RuntimeError("boom: a crashing evaluation")
        model, result = real_train(cfg, train_cfg, corpus, **kw)
        if "wavelet" in cfg.layer_mixers:  # as train() reports a NaN loss
            result = dataclasses.replace(
                result, status="diverged", val_loss=math.inf, perplexity=math.inf
            )
        return model, result

    monkeypatch.setattr(spectral, "train", flaky_train)
    cfg = resolve("smoke", None, {"data": str(text_file), "population": 6, "seed": 5})
    out = run.start(cfg, tmp_path / "run")
    records = list(Journal(out / "journal.jsonl").records.values())
    statuses = {r["status"] for r in records}
    assert {"ok", "failed", "diverged"} <= statuses, statuses
    failed = [r for r in records if r["status"] == "failed"]
    assert all(r["error"].startswith("RuntimeError: boom") and "traceback" in r for r in failed)
    diverged = [r for r in records if r["status"] == "diverged"]
    assert all(r["metrics"]["val_loss"] is None for r in diverged)  # JSON has no inf
    problem = run.RunView(out).problem()
    assert all(problem.objectives(r) == (1e12, 1e18) for r in failed + diverged)
    front_keys = set(pd.read_csv(out / "pareto.csv")["key"])
    assert not front_keys & {r["key"] for r in failed + diverged}
    assert pd.read_csv(out / "hypervolume.csv")["failures"].iloc[-1] == len(failed) + len(diverged)
    assert json.loads((out / "checkpoint.json").read_text())["generation"] == cfg.generations


@pytest.mark.parametrize("persistent", [False, True], ids=["transient", "persistent"])
def test_a_machine_fault_is_retried_never_journaled_and_resume_runs_it_again(
    persistent: bool,
    reference: Path,
    tmp_path: Path,
    text_file: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Out of memory is the machine's fault, not the genome's: retried, and if it persists the
    run stops (MachineFaultError) with the others journaled; resume ends as a clean run."""
    real_train, seen, faulted = spectral.train, [], []

    def short_of_memory(cfg: Any, train_cfg: Any, corpus: Any, **kw: Any) -> Any:
        if cfg not in seen:
            seen.append(cfg)
        # persistent: the second model ever seen, every time; transient: every other model,
        # on its first attempt only
        victim = seen.index(cfg) == 1 if persistent else seen.index(cfg) % 2 == 1
        if victim and (persistent or cfg not in faulted):
            faulted.append(cfg)
            raise MemoryError
        return real_train(cfg, train_cfg, corpus, **kw)

    monkeypatch.setattr(spectral, "train", short_of_memory)
    cfg = resolve("smoke", None, {"data": str(text_file), "seed": 3, "max_retries": 1})
    out = tmp_path / "run"
    if persistent:
        with pytest.raises(MachineFaultError, match=r"could not run: out of memory .*resume"):
            run.start(cfg, out)
        records = Journal(out / "journal.jsonl").records.values()
        assert records and all(r["status"] == "ok" for r in records)  # the rest was kept
        assert json.loads((out / "checkpoint.json").read_text())["generation"] == 0
        monkeypatch.setattr(spectral, "train", real_train)  # the machine recovered
        run.resume(out)
    else:
        run.start(cfg, out)
    if persistent:  # one attempt and max_retries=1 retry of one model, then the stop
        assert len(faulted) == 2 and faulted[0] == faulted[1]
    else:  # each faulted once, then ran on its retry
        assert faulted and all(faulted.count(c) == 1 for c in faulted)
    resumed, uninterrupted = snapshot(out), snapshot(reference)
    for part in uninterrupted:
        assert resumed[part] == uninterrupted[part], part


def test_a_genome_over_the_spaces_caps_fails_before_training(
    tmp_path: Path, text_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Caps are deterministic: the same genomes fail on every machine, and nothing trains."""
    trained: list[Any] = []
    real_train = spectral.train
    monkeypatch.setattr(spectral, "train", lambda *a, **k: trained.append(a) or real_train(*a, **k))
    cfg = resolve("smoke", None, {"data": str(text_file), "seed": 3})
    capped = dataclasses.replace(cfg, space=dataclasses.replace(cfg.space, max_params=20_000))
    out = run.start(capped, tmp_path / "run")
    records = list(Journal(out / "journal.jsonl").records.values())
    over = [r for r in records if r["status"] == "failed"]
    assert over and all("is over space.max_params 20,000" in r["error"] for r in over)
    assert len(trained) == len(records) - len(over)  # the capped ones never trained
    assert any(r["status"] == "ok" for r in records)


def test_the_readmes_three_objective_search_runs_and_resumes_to_the_same_front(
    tmp_path: Path, text_file: Path
) -> None:
    """The README's example: a third objective from a config file, a 3-D front and hypervolume,
    and a run stopped after its first generation resumes to the uninterrupted result."""
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    line = next(s for s in readme.splitlines() if s.startswith("printf 'objectives: ["))
    config = tmp_path / "three.yaml"
    config.write_text(line.split("'")[1].replace("\\n", "\n"))
    whole, halves = tmp_path / "whole", tmp_path / "halves"
    common = ["--config", config, "--generations", "2"]
    subprocess.run(hrfevo_cmd(*smoke_args(whole, text_file), *common), check=True)
    first = [*smoke_args(halves, text_file), "--config", config, "--generations", "1"]
    subprocess.run(hrfevo_cmd(*first), check=True)
    subprocess.run(hrfevo_cmd("resume", halves, "--generations", "2"), check=True)
    assert snapshot(halves) == snapshot(whole)
    front = pd.read_csv(whole / "pareto.csv").query("generation == 1")
    assert {"perplexity", "flops_per_token", "state_bytes"} <= set(front.columns)
    assert (front["state_bytes"] > 0).all()
    status = subprocess.run(hrfevo_cmd("status", whole), check=True, capture_output=True, text=True)
    assert "state_bytes" in status.stdout
