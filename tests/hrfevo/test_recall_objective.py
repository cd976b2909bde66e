"""recall_error, the MQAR probe's objective: searched, journaled, resumed, reported, exported, and
its bad settings refused. The probe here is toy-sized (a few steps), so it measures nothing; what
is tested is the plumbing (`benchmarks/recall.py` measures the probe)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import optuna
import pandas as pd
import pytest

from hrfevo.api import load_run
from hrfevo.config import resolve
from hrfevo.estimate import Estimate, Measured, probe_steps, probed_rungs
from hrfevo.storage import Journal
from model.recall import Probe
from tests.hrfevo.clitools import run_cli, tree_digest
from tests.hrfevo.test_search import smoke_args, snapshot

PROBE = {"pairs": 2, "steps": 3, "batch_size": 4, "eval_examples": 8}


def hrfevo_cmd(*args: str | Path) -> list[str]:
    return [sys.executable, "-m", "hrfevo", *map(str, args)]


def write(path: Path, config: dict) -> Path:
    path.write_text(json.dumps(config))
    return path


@pytest.fixture(scope="module")
def three(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The README's recall example, as it is written there."""
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    line = next(
        s for s in readme.splitlines() if s.startswith("printf 'objectives: [") and "recall" in s
    )
    path = tmp_path_factory.mktemp("cfg") / "recall.yaml"
    path.write_text(line.split("'")[1].replace("\\n", "\n"))
    return path


@pytest.fixture(scope="module")
def whole(tmp_path_factory: pytest.TempPathFactory, text_file: Path, three: Path) -> Path:
    out = tmp_path_factory.mktemp("recall") / "whole"
    cmd = hrfevo_cmd(*smoke_args(out, text_file), "--config", three, "--generations", "2")
    subprocess.run(cmd, check=True, capture_output=True)
    return out


def test_every_evaluation_probes_when_recall_is_an_objective(whole: Path) -> None:
    records = list(Journal(whole / "journal.jsonl").records.values())
    ok = [r for r in records if r["status"] == "ok"]
    assert ok and all(0.0 <= r["metrics"]["recall_error"] <= 1.0 for r in ok)
    assert all(r["timings"]["recall_seconds"] > 0 for r in ok)
    assert all(r["timings"]["seconds"] > r["timings"]["recall_seconds"] for r in ok)
    config = json.loads((whole / "run.json").read_text())["config"]
    assert config["recall"] == Probe(pairs=2, steps=30, batch_size=16).to_dict()  # all written
    front = pd.read_csv(whole / "pareto.csv")
    assert "recall_error" in front.columns and front["recall_error"].notna().all()


def test_a_run_probing_recall_resumes_to_the_uninterrupted_result(
    whole: Path, tmp_path: Path, text_file: Path, three: Path
) -> None:
    halves = tmp_path / "halves"
    first = hrfevo_cmd(*smoke_args(halves, text_file), "--config", three, "--generations", "1")
    subprocess.run(first, check=True, capture_output=True)
    subprocess.run(hrfevo_cmd("resume", halves, "--generations", "2"), check=True)
    assert snapshot(halves) == snapshot(whole)


def test_status_report_and_export_read_the_recall_objective(whole: Path, tmp_path: Path) -> None:
    status = subprocess.run(hrfevo_cmd("status", whole), check=True, capture_output=True, text=True)
    assert "recall_error" in status.stdout
    report = tmp_path / "report"
    subprocess.run(hrfevo_cmd("report", whole, "--out", report), check=True, capture_output=True)
    summary = (report / "summary.md").read_text()
    assert "| recall |" in summary and "MQAR" in summary
    run = load_run(whole)
    best = run.front()["recall_error"].min()
    out = tmp_path / "export"
    cmd = hrfevo_cmd("export", whole, "--select", "min:recall_error", "--out", out)
    subprocess.run(cmd, check=True, capture_output=True)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["journal"]["recall_error"] == best  # the architecture's, from the journal
    storage = f"sqlite:///{tmp_path / 'runs.db'}"
    cmd = hrfevo_cmd("export-optuna", whole, "--storage", storage, "--study-name", "recall")
    subprocess.run(cmd, check=True, capture_output=True)
    study = optuna.load_study(study_name="recall", storage=storage)
    assert study.metric_names == ["perplexity", "flops_per_token", "recall_error"]
    assert {t.user_attrs["key"] for t in study.best_trials} == {r["key"] for r in run.front_records}


def test_a_recall_section_alone_probes_the_top_rung_only(tmp_path: Path, text_file: Path) -> None:
    """Not an objective: the probe costs a training, so only what reaches the top rung pays."""
    ladder = {"rungs": [3, 6], "promote": 0.5}
    config = write(tmp_path / "c.json", {"recall": PROBE, "fidelity": ladder})
    out = tmp_path / "run"
    subprocess.run(hrfevo_cmd(*smoke_args(out, text_file), "--config", config), check=True)
    records = [r for r in Journal(out / "journal.jsonl").records.values() if r["status"] == "ok"]
    top = [r for r in records if r["rung"] == 1]
    assert top and all("recall_error" in r["metrics"] for r in top)
    assert all("recall_error" not in r["metrics"] for r in records if r["rung"] == 0)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"objectives": ["perplexity", "flops_per_token", "recall"]}, "objectives="),
        ({"recall": {"pairs": 9}}, "recall.pairs=9: 9 pairs and as many queries need 36 tokens"),
        ({"recall": {"pairs": 2, "seq_len": 4}}, "recall.pairs=2"),
        ({"recall": {"pairs": 200, "seq_len": 1024}}, "recall.pairs=200: a vocabulary of 64"),
        ({"recall": {"steps": 0}}, "recall.steps=0"),
        ({"recall": {"lr": -1}}, "recall.lr=-1"),
        ({"recall": {"width": 64}}, "recall: unknown field(s) width"),
        ({"recall": [1, 2]}, "recall=[1, 2]: must be null or a mapping"),
    ],
)
def test_an_impossible_probe_or_unknown_objective_is_one_line_and_exit_2(
    config: dict, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path / "bad.json", config)
    before = tree_digest(tmp_path)
    code, err = run_cli(["run", "--preset", "smoke", "--config", str(path),
                         "--out", str(tmp_path / "run")], capsys)  # fmt: skip
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err and tree_digest(tmp_path) == before


def test_the_objective_fills_in_the_probes_defaults_and_a_config_keeps_them() -> None:
    cfg = resolve("smoke", None, {"objectives": ["perplexity", "flops_per_token", "recall_error"]})
    assert cfg.recall == Probe()
    assert resolve("smoke", None, {}).recall is None
    again = cfg.from_dict(cfg.to_dict())
    assert again.recall == cfg.recall


def test_the_estimate_prices_the_probe_by_its_tokens_at_the_rungs_that_probe() -> None:
    probe = {"pairs": 2, "steps": 30, "batch_size": 16}
    objectives = ["perplexity", "flops_per_token", "recall_error"]
    cfg = resolve("smoke", None, {"objectives": objectives, "recall": probe})
    assert probe_steps(cfg) == 30 * 16 * 32 / (4 * 32)  # smoke: batches of 4 × 32 tokens
    assert probed_rungs(cfg, 3) == (0, 1, 2)
    alone = resolve("smoke", None, {"recall": probe, "fidelity": {"rungs": [3, 6, 12]}})
    assert probed_rungs(alone, 3) == (2,) and probed_rungs(resolve("smoke", None, {}), 1) == ()
    timed = (Measured("x", 1e4, step_seconds=0.01, eval_seconds=0.1),)
    e = Estimate(rungs=(6,), evaluations=(8,), continues=False, measured=timed, device="cpu",
                 threads=1, workers=1, probe=probe_steps(cfg), probed=(0,))  # fmt: skip
    assert e.compute_seconds == pytest.approx(8 * (6 * 0.01 + 0.1 + 120 * 0.01))
