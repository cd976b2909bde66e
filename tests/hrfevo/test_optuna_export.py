"""`hrfevo export-optuna`: a run as an Optuna study that Optuna's own tools open."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import optuna
import pytest

from hrfevo.api import load_run
from hrfevo.config import resolve
from hrfevo.pareto import front
from hrfevo.run import start


def export_cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "hrfevo", "export-optuna", *map(str, args)]
    return subprocess.run(cmd, capture_output=True, text=True)


@pytest.fixture(scope="module")
def ladder_run(tmp_path_factory: pytest.TempPathFactory, text_file: Path) -> Path:
    """A smoke run through a two-rung ladder: some genomes stop at rung 0."""
    flags = {
        "executor": "serial",
        "data": str(text_file),
        "population": 6,
        "fidelity": {"rungs": [3, 6], "promote": 0.34},
    }
    return start(resolve("smoke", None, flags), tmp_path_factory.mktemp("ladder") / "run")


def test_a_run_becomes_a_study_with_one_trial_per_evaluation(run_dir: Path, tmp_path: Path) -> None:
    storage = f"sqlite:///{tmp_path / 'runs.db'}"
    done = export_cli(run_dir, "--storage", storage, "--study-name", "smoke")
    assert done.returncode == 0, done.stderr
    assert "optuna-dashboard" in done.stdout
    study = optuna.load_study(study_name="smoke", storage=storage)
    journal = (run_dir / "journal.jsonl").read_text().splitlines()
    assert len(study.trials) == len(journal)
    assert study.directions == [optuna.study.StudyDirection.MINIMIZE] * 2
    assert study.metric_names == ["perplexity", "flops_per_token"]
    run = load_run(run_dir)
    assert {t.user_attrs["key"] for t in study.best_trials} == {r["key"] for r in run.front_records}
    for trial in study.trials:  # values, genes and metrics are the journal's
        record = run.record(trial.user_attrs["key"])
        assert trial.user_attrs["metrics"] == record["metrics"]
        assert trial.params["d_model"] == record["candidate"]["arch"]["d_model"]
        if record["status"] == "ok":
            assert trial.values == [
                record["metrics"]["perplexity"],
                record["metrics"]["flops_per_token"],
            ]
        else:
            assert trial.state == optuna.trial.TrialState.FAIL


def test_a_ladder_run_has_pruned_trials_and_the_top_rung_front(
    ladder_run: Path, tmp_path: Path
) -> None:
    storage = f"sqlite:///{tmp_path / 'ladder.db'}"
    assert export_cli(ladder_run, "--storage", storage).returncode == 0
    study = optuna.load_study(study_name="run", storage=storage)
    run = load_run(ladder_run)
    assert len(study.trials) == len(run.records)  # one trial per genome, across its rungs
    states = {t.user_attrs["key"]: t.state for t in study.trials}
    rungs = {r["key"]: r.get("rung", 0) for r in run.records if r["status"] == "ok"}
    assert {k for k, r in rungs.items() if r == 0} == {
        k for k, s in states.items() if s == optuna.trial.TrialState.PRUNED
    }
    assert any(s == optuna.trial.TrialState.PRUNED for s in states.values())
    top_rung = [r for r in run.journal if r.get("rung", 0) == 1]
    expected = {r["key"] for r in front(top_rung, run.problem)}
    assert expected and {t.user_attrs["key"] for t in study.best_trials} == expected
    for trial in study.trials:
        if trial.state != optuna.trial.TrialState.FAIL:
            assert set(trial.intermediate_values) <= {3, 6}


def test_optunas_plots_and_dashboard_open_the_study(run_dir: Path, tmp_path: Path) -> None:
    storage = f"sqlite:///{tmp_path / 'dash.db'}"
    assert export_cli(run_dir, "--storage", storage).returncode == 0
    study = optuna.load_study(study_name="run", storage=storage)
    figure = optuna.visualization.plot_pareto_front(study)
    assert len(figure.data) >= 1
    import optuna_dashboard

    app = optuna_dashboard.wsgi(storage)
    status: list[str] = []
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/api/studies",
        "SERVER_NAME": "test",
        "SERVER_PORT": "80",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(),
        "wsgi.errors": sys.stderr,
    }
    body = b"".join(app(environ, lambda s, h, *_: status.append(s)))
    assert status[0].startswith("200")
    studies = json.loads(body)["study_summaries"]
    assert [s["study_name"] for s in studies] == ["run"]


@pytest.mark.parametrize(
    "storage, why",
    [
        ("nosuchdb://x", "cannot open Optuna storage"),
        ("sqlite:////no/such/dir/x.db", "cannot open"),
    ],
)
def test_a_bad_storage_is_one_line_and_exit_2(run_dir: Path, storage: str, why: str) -> None:
    done = export_cli(run_dir, "--storage", storage)
    assert done.returncode == 2
    assert why in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_an_existing_study_is_not_overwritten(run_dir: Path, tmp_path: Path) -> None:
    storage = f"sqlite:///{tmp_path / 'twice.db'}"
    assert export_cli(run_dir, "--storage", storage).returncode == 0
    before = (tmp_path / "twice.db").read_bytes()
    again = export_cli(run_dir, "--storage", storage)
    assert again.returncode == 2 and "already holds a study named 'run'" in again.stderr
    assert (tmp_path / "twice.db").read_bytes() == before


def test_a_missing_run_is_exit_2(tmp_path: Path) -> None:
    done = export_cli(tmp_path / "nothing", "--storage", f"sqlite:///{tmp_path / 'x.db'}")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert not (tmp_path / "x.db").exists()
