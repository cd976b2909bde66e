"""`hrfevo report RUN1 RUN2 ...`: runs overlaid, and refused when they measure different things."""

from __future__ import annotations

import dataclasses
import re
import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from hrfevo.api import RunData, load_run
from hrfevo.cli import main
from hrfevo.config import resolve
from hrfevo.errors import UsageError
from hrfevo.pareto import hypervolume
from hrfevo.reporting.comparison import (
    at_cost,
    check_comparable,
    hypervolume_overlay,
    labels,
    pareto_overlay,
)
from hrfevo.reporting.curves import hypervolume_curve
from hrfevo.reporting.reporter import _compare_name, compare
from hrfevo.run import start

FILES = ["curves.csv", "hypervolume.png", "pareto.png", "summary.md"]
NAMES = ["nsga2, seed 0", "nsga2, seed 1", "random, seed 0"]  # run_dir and `others`


@pytest.fixture(scope="module")
def others(text_file: Path, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Two more smoke runs beside `run_dir` (nsga2, seed 0): nsga2 seed 1, and random seed 0."""
    out = tmp_path_factory.mktemp("others")
    runs = []
    for name, over in (("s1", {"seed": 1}), ("random", {"strategy": "random"})):
        cfg = resolve("smoke", None, {"executor": "serial", "data": str(text_file), **over})
        runs.append(start(cfg, out / name))
    return runs


@pytest.fixture(scope="module")
def compared(run_dir: Path, others: list[Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("compare") / "c"
    assert main(["report", str(run_dir), *map(str, others), "--out", str(out)]) == 0
    return out


def test_the_comparison_writes_its_files(compared: Path) -> None:
    assert sorted(p.name for p in compared.iterdir()) == FILES


def test_runs_are_labelled_by_what_tells_them_apart(
    run_dir: Path, others: list[Path], tmp_path: Path
) -> None:
    runs = [load_run(p) for p in (run_dir, *others)]
    assert labels(runs) == NAMES
    assert labels(runs[:2]) == ["seed 0", "seed 1"]
    twin = shutil.copytree(run_dir, tmp_path / "twin")  # same strategy and seed
    assert labels([runs[0], load_run(twin)]) == [run_dir.name, "twin"]
    same_name = shutil.copytree(run_dir, tmp_path / "a" / run_dir.name)
    assert labels([runs[0], load_run(same_name)]) == [str(run_dir), str(same_name)]


def test_curves_csv_holds_every_runs_curve(
    compared: Path, run_dir: Path, others: list[Path]
) -> None:
    table = pd.read_csv(compared / "curves.csv")
    for path, name in zip((run_dir, *others), NAMES, strict=True):
        rows = table[table["run"] == name].drop(columns=["run", "dir"]).reset_index(drop=True)
        expected = hypervolume_curve(path)
        pd.testing.assert_frame_equal(rows, expected, check_dtype=False)
        assert rows["hypervolume"].iloc[-1] == pytest.approx(
            load_run(path).hypervolume["hypervolume"].iloc[-1]
        )


def test_the_summary_compares_at_equal_cost(
    compared: Path, run_dir: Path, others: list[Path]
) -> None:
    text = (compared / "summary.md").read_text()
    curves = [hypervolume_curve(p) for p in (run_dir, *others)]
    evals = min(len(c) for c in curves)
    seconds = min(c["cpu_seconds"].iloc[-1] for c in curves)
    assert text.startswith("# HRFEvo comparison of 3 runs")
    assert f"| at {evals} evaluations | at {seconds:,.1f} CPU-seconds |" in text
    for c, name in zip(curves, NAMES, strict=True):
        row = next(line for line in text.splitlines() if line.startswith(f"| {name} |"))
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        assert cells[-3:] == [
            f"{c['hypervolume'].iloc[-1]:.4f}",
            f"{at_cost(c, 'evaluations', evals):.4f}",
            f"{at_cost(c, 'cpu_seconds', seconds):.4f}",
        ]
    assert "![Hypervolume against evaluations and CPU-seconds](hypervolume.png)" in text


def test_at_cost_is_the_hypervolume_once_that_much_was_spent() -> None:
    c = pd.DataFrame({"evaluations": [1, 2, 3], "hypervolume": [0.1, 0.4, 0.5]})
    assert [at_cost(c, "evaluations", n) for n in (0, 1, 2.5, 9)] == [0.0, 0.1, 0.4, 0.5]


def test_the_hypervolume_panels_start_at_zero_with_a_line_per_run(
    run_dir: Path, others: list[Path]
) -> None:
    runs = [load_run(p) for p in (run_dir, *others)]
    curves = [hypervolume_curve(r) for r in runs]
    fig = hypervolume_overlay(runs, curves, labels(runs))
    by_evals, by_seconds = fig.axes
    assert "evaluations" in by_evals.get_xlabel() and "CPU-seconds" in by_seconds.get_xlabel()
    assert by_evals.get_ylim()[0] == 0 and by_evals.get_ylim() == by_seconds.get_ylim()
    legend = by_evals.get_legend()
    assert legend is not None and [t.get_text() for t in legend.get_texts()] == labels(runs)
    for ax, x in ((by_evals, "evaluations"), (by_seconds, "cpu_seconds")):
        steps = [line for line in ax.get_lines() if line.get_label() in labels(runs)]
        assert [np.asarray(line.get_xdata())[-1] for line in steps] == [
            c[x].iloc[-1] for c in curves
        ]


def test_the_default_out_is_named_after_the_runs(
    run_dir: Path, others: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["report", str(run_dir), str(others[0])]) == 0
    out = tmp_path / "reports" / f"compare-{run_dir.name}+{others[0].name}"
    assert sorted(p.name for p in out.iterdir()) == FILES
    many = [SimpleNamespace(name=f"run-{i:02d}-with-a-long-name") for i in range(5)]
    assert _compare_name(many) == "compare-run-00-with-a-long-name+4-more"  # type: ignore[arg-type]


def test_a_run_given_twice_is_refused(
    run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["report", str(run_dir), str(run_dir), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "given twice" in err
    assert not (tmp_path / "out").exists()


def changed(run: RunData, **config: object) -> RunData:
    """`run` as if another directory had been started with other settings."""
    other = load_run(run.path)
    other.path = run.path.parent / "other"
    other.config = dataclasses.replace(other.config, **config)  # type: ignore[arg-type]
    return other


def test_runs_that_measure_different_things_are_refused(run: RunData) -> None:
    space = dataclasses.replace(run.config.space, seq_len=64)
    cases = {
        "objectives": changed(run, objectives=["perplexity", "flops_per_token", "params"]),
        "search spaces (seq_len: 32 against 64)": changed(run, space=space),
    }
    other_corpus = changed(run)
    other_corpus.info = other_corpus.info | {"data": {"sha256": "0" * 64}}
    cases["corpora"] = other_corpus
    for what, other in cases.items():
        with pytest.raises(UsageError, match=rf"have different {re.escape(what)}"):
            check_comparable([run, other])


def test_a_refused_comparison_writes_nothing(
    run_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    a = load_run(run_dir)
    with pytest.raises(UsageError):
        compare([a, changed(a, objectives=["perplexity", "flops_per_token", "params"])])
    assert list(tmp_path.iterdir()) == []


def test_a_ladder_counts_its_top_rung(
    run_dir: Path, text_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fidelity = {"rungs": [3, 6], "promote": 0.5}
    cfg = resolve(
        "smoke", None, {"executor": "serial", "data": str(text_file), "fidelity": fidelity}
    )
    ladder = load_run(start(cfg, tmp_path / "ladder"))
    top = ladder.front_records
    assert top and {r["rung"] for r in top} == {1}
    out = compare([run_dir, ladder.path], tmp_path / "out")
    text = (out / "summary.md").read_text()
    row = next(line for line in text.splitlines() if line.startswith("| ladder |"))
    assert "| 3/6 |" in row and f"| {hypervolume(top, ladder.problem):.4f} |" in row
    assert "only the genomes trained to its top rung count" in text
    fig = pareto_overlay([load_run(run_dir), ladder], [run_dir.name, "ladder"])
    (legend,) = fig.legends
    texts = [t.get_text() for t in legend.get_texts()]
    assert f"ladder: front of {len(top)} (rung 1, 6 steps)" in " ".join(texts)
