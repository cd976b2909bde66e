"""`hrfevo report`: Pareto and hypervolume figures and summary.md, from the run directory alone."""

from __future__ import annotations

from pathlib import Path

import matplotlib.image
import numpy as np
import pytest

from hrfevo.api import RunData
from hrfevo.cli import main
from hrfevo.plots import hypervolume_figure, pareto_figure
from hrfevo.reporter import report
from hrfevo.selection import knee
from tests.hrfevo.damage import copy_with_failure, empty_copy

FILES = ["hypervolume.png", "pareto.png", "summary.md"]


@pytest.fixture(scope="module")
def reported(run_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("report") / "r"
    assert main(["report", str(run_dir), "--out", str(out)]) == 0
    return out


def test_the_report_writes_its_three_files(reported: Path) -> None:
    assert sorted(p.name for p in reported.iterdir()) == FILES


@pytest.mark.parametrize("name", ["pareto.png", "hypervolume.png"])
def test_the_figures_are_real_images(reported: Path, name: str) -> None:
    path = reported / name
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    height, width, _ = matplotlib.image.imread(path).shape
    assert width >= 900 and height >= 600 and path.stat().st_size > 20_000


def test_the_pareto_figure_has_its_parts(run: RunData) -> None:
    ax = pareto_figure(run).axes[0]
    assert ax.get_xscale() == "log"
    assert "FLOPs per token" in ax.get_xlabel() and "perplexity" in ax.get_ylabel()
    legend = ax.get_legend()
    assert legend is not None
    labels = [t.get_text() for t in legend.get_texts()]
    assert any(label.startswith("transformer") for label in labels)  # the run has the baseline
    assert {"final front", "front after each generation"} <= set(labels)
    assert any(t.get_text() == "knee" for t in ax.texts)


def test_the_hypervolume_figure_has_one_point_per_generation(run: RunData) -> None:
    ax = hypervolume_figure(run).axes[0]
    (line,) = ax.get_lines()
    assert np.asarray(line.get_xdata()).tolist() == list(range(run.generations))
    assert "generation" in ax.get_xlabel() and "hypervolume" in ax.get_ylabel()


def test_the_summary_covers_config_counts_front_and_figures(reported: Path, run: RunData) -> None:
    text = (reported / "summary.md").read_text()
    n = len(run.records)
    for needed in (
        f"# HRFEvo run `{run.name}`",
        "## Configuration",
        '| strategy | `"nsga2"` |',
        f"{n} genomes evaluated: {n} ok.",
        "## Failures\n\nNone.",
        "![Pareto front](pareto.png)",
        "![Hypervolume](hypervolume.png)",
        "| key | perplexity | bits/byte | FLOPs/token | params | d_model | layers | mixers",
        f"{knee(run.front_records, run.problem)['key']} ★",
    ):
        assert needed in text, needed
    for r in run.front_records:
        assert f"| {r['key']}" in text


def test_failures_are_listed(run_dir: Path, tmp_path: Path) -> None:
    failing = copy_with_failure(run_dir, tmp_path / "run")
    out = report(failing, tmp_path / "report")
    text = (out / "summary.md").read_text()
    assert "| ffffffffffffffff | 0 | failed | boom \\| bad |" in text
    assert "1 failed" in text


def test_the_default_out_is_reports_run_name(
    run_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["report", str(run_dir)]) == 0
    assert sorted(p.name for p in (tmp_path / "reports" / run_dir.name).iterdir()) == FILES
    assert main(["report", str(run_dir)]) == 0  # a second report replaces the first


def test_an_empty_run_is_refused(
    run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = empty_copy(run_dir, tmp_path / "empty")
    assert main(["report", str(empty), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("hrfevo report: error: ") and err.count("\n") == 1
    assert "no successful evaluations" in err and not (tmp_path / "out").exists()


def test_an_out_that_is_a_file_is_refused(
    run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "file").write_text("x")
    assert main(["report", str(run_dir), "--out", str(tmp_path / "file")]) == 2
    assert "is not a directory" in capsys.readouterr().err
    assert (tmp_path / "file").read_text() == "x"
