"""`hrfevo report RUN`: Pareto and hypervolume figures and summary.md, from the run directory."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest

from hrfevo.api import RunData, load_run
from hrfevo.choice import knee
from hrfevo.cli import main
from hrfevo.reporting.markdown import code_block, plural, table
from hrfevo.reporting.plots import (
    hypervolume_figure,
    objectives_figure,
    pareto_figure,
    short_keys,
)
from hrfevo.reporting.reporter import report
from tests.hrfevo.damage import copy_with_failure, empty_copy

FILES = ["hypervolume.png", "pareto.png", "summary.md"]


@pytest.fixture(scope="module")
def reported(run_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("report") / "r"
    assert main(["report", str(run_dir), "--out", str(out)]) == 0
    return out


def all_failed_copy(run: Path, out: Path) -> Path:
    """A copy of the run in which every evaluation failed."""
    shutil.copytree(run, out)
    lines = [json.loads(line) for line in (out / "journal.jsonl").read_text().splitlines()]
    for i, r in enumerate(lines):
        r |= {"status": "failed", "metrics": {}, "error": "out of memory" if i % 3 else "NaN"}
    (out / "journal.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
    return out


def legend_labels(fig: object) -> list[str]:
    (legend,) = fig.legends  # type: ignore[attr-defined]
    return [t.get_text() for t in legend.get_texts()]


def test_the_report_writes_its_three_files(reported: Path) -> None:
    assert sorted(p.name for p in reported.iterdir()) == FILES


@pytest.mark.parametrize("name", ["pareto.png", "hypervolume.png"])
def test_the_figures_are_real_images(reported: Path, name: str) -> None:
    path = reported / name
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    height, width, _ = matplotlib.image.imread(path).shape
    assert width >= 900 and height >= 600 and path.stat().st_size > 20_000


def test_the_pareto_figure_has_its_parts(run: RunData) -> None:
    fig = pareto_figure(run)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    assert "FLOPs per token" in ax.get_xlabel() and "perplexity" in ax.get_ylabel()
    labels = legend_labels(fig)
    last = run.generations - 1
    final = f"final front: after generation {last} ({plural(len(run.front_records), 'genome')})"
    assert final in labels  # the last generation's front is the final front, said once
    assert "front after generation 0 (initial population)" in labels
    assert not any(label.startswith(f"front after generation {last}") for label in labels)
    assert any(label.startswith("seeded transformer baseline") for label in labels)
    assert any(label.startswith("knee") for label in labels)


def test_front_points_are_labelled_with_the_summarys_short_keys(
    run: RunData, reported: Path
) -> None:
    ax = pareto_figure(run).axes[0]
    short = short_keys(run.evaluations["key"])
    texts = {t.get_text(): t.xy for t in ax.texts}  # type: ignore[attr-defined]
    summary = (reported / "summary.md").read_text()
    for r in run.front_records:
        label = short[r["key"]]
        assert texts[label] == (r["metrics"]["flops_per_token"], r["metrics"]["perplexity"])
        assert f"| **{label}**{r['key'][len(label) :]}" in summary


def test_short_keys_are_the_shortest_prefixes_that_differ() -> None:
    assert short_keys(["abcdef01", "abcdef02", "12345678"]) == {
        "abcdef01": "abcdef01",
        "abcdef02": "abcdef02",
        "12345678": "12345678",
    }
    assert short_keys(["abcd1111", "abce2222"]) == {"abcd1111": "abcd", "abce2222": "abce"}


def test_only_seeded_baselines_are_starred(run_dir: Path) -> None:
    run = load_run(run_dir)
    assert run.evaluations["baseline"].any()
    run.evaluations["seeded"] = False  # as if mutation had made the transformer
    assert not any("baseline" in label for label in legend_labels(pareto_figure(run)))


def test_the_hypervolume_axis_starts_at_zero_with_evaluations_on_top(run: RunData) -> None:
    fig = hypervolume_figure(run)
    ax = fig.axes[0]
    (line,) = ax.get_lines()
    assert np.asarray(line.get_xdata()).tolist() == list(range(run.generations))
    assert ax.get_ylim()[0] == 0 and ax.get_ylim()[1] > run.hypervolume["hypervolume"].max()
    (top,) = ax.child_axes
    assert "evaluations" in top.get_xlabel()
    formatter = top.xaxis.get_major_formatter()
    for g, n in zip(run.hypervolume["generation"], run.hypervolume["evaluations"], strict=True):
        assert formatter(g, 0) == str(n)
    words = fig._supxlabel.get_text()  # type: ignore[attr-defined]
    assert "reference point" in words and "perplexity 256" in words and "10⁹" in words


def test_the_summary_covers_config_counts_front_and_figures(reported: Path, run: RunData) -> None:
    text = (reported / "summary.md").read_text()
    n = len(run.records)
    for needed in (
        f"# HRFEvo run `{run.name}`",
        "## Configuration",
        '| strategy | `"nsga2"` |',
        f"| seeds | {plural(len(run.info['seed_genomes']), 'genome')} from the default",
        f"{n} genomes evaluated: {n} ok.",
        "## Failures\n\nNone.",
        "![Pareto front](pareto.png)",
        "![Hypervolume](hypervolume.png)",
        "| key | perplexity | bits/byte | FLOPs/token | params | state | d_model | layers | mixers",
        f"{len(run.front_records)} members, listed by perplexity.",
    ):
        assert needed in text, needed
    best = knee(run.front_records, run.problem)["key"]
    assert re.search(rf"\*\*{best[:4]}\w*\*\*\w* ★", text)
    assert "1 genomes" not in text and "all by perplexity" not in text


def test_failures_are_listed(run_dir: Path, tmp_path: Path) -> None:
    failing = copy_with_failure(run_dir, tmp_path / "run")
    out = report(failing, tmp_path / "report")
    text = (out / "summary.md").read_text()
    assert "| ffffffffffffffff | 0 | failed | boom \\| bad |" in text
    assert "1 failed" in text


def test_a_run_whose_every_evaluation_failed_reports_its_failures(
    run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    failed = all_failed_copy(run_dir, tmp_path / "run")
    assert main(["report", str(failed), "--out", str(tmp_path / "out")]) == 0
    assert "no figures" in capsys.readouterr().out
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["summary.md"]
    text = (tmp_path / "out" / "summary.md").read_text()
    n = len(load_run(failed).records)
    assert f"{n} genomes evaluated: {n} failed." in text
    assert f"| failed | out of memory | {n - (n + 2) // 3} |" in text  # counted by error
    assert "no front" in text and "![" not in text


@pytest.mark.parametrize("fmt", ["svg", "pdf"])
def test_format_changes_the_figures_and_an_earlier_reports_are_replaced(
    fmt: str, run_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "r"
    assert main(["report", str(run_dir), "--out", str(out)]) == 0
    assert main(["report", str(run_dir), "--out", str(out), "--format", fmt]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == [f"hypervolume.{fmt}", f"pareto.{fmt}", "summary.md"]
    head = (out / f"pareto.{fmt}").read_bytes()[:200]
    assert (b"<svg" in head) if fmt == "svg" else head.startswith(b"%PDF")
    text = (out / "summary.md").read_text()
    shown = "![Pareto front](pareto.svg)" if fmt == "svg" else "[Pareto front (PDF)](pareto.pdf)"
    assert shown in text


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
    assert "no evaluations" in err and not (tmp_path / "out").exists()


def test_an_out_that_is_a_file_is_refused(
    run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "file").write_text("x")
    assert main(["report", str(run_dir), "--out", str(tmp_path / "file")]) == 2
    assert "is not a directory" in capsys.readouterr().err
    assert (tmp_path / "file").read_text() == "x"


@pytest.mark.parametrize(
    "files",
    [
        {"notes.txt": "mine"},
        {"summary.md": "my own notes"},
        {"summary.md": "# HRFEvo run", "x": ""},
    ],
)
def test_a_non_empty_out_that_is_no_report_is_refused(
    files: dict[str, str], run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    for name, text in files.items():
        (out / name).write_text(text)
    assert main(["report", str(run_dir), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is not empty and is not an earlier report" in err
    assert {p.name: p.read_text() for p in out.iterdir()} == files


def test_markdown_helpers() -> None:
    assert table(("a", "b"), [(1, "x|y\nz")]) == "| a | b |\n|---|---|\n| 1 | x\\|y z |"
    assert (plural(1, "genome"), plural(2, "genome"), plural(2, "family", "families")) == (
        "1 genome",
        "2 genomes",
        "2 families",
    )
    assert code_block("a ```` b", "text") == "`````text\na ```` b\n`````"


def test_a_run_of_three_objectives_draws_every_pair_and_no_staircase(
    tmp_path: Path, text_file: Path
) -> None:
    """Two objectives of three make no staircase: pareto.png shows the points only, and
    objectives.png each pair, the final front labelled in every panel."""
    from hrfevo.config import resolve
    from hrfevo.run import start

    objectives = ["perplexity", "flops_per_token", "state_bytes"]
    flags = {"executor": "serial", "data": str(text_file), "objectives": objectives}
    run = load_run(start(resolve("smoke", None, flags), tmp_path / "run"))
    out = report(run, tmp_path / "report")
    assert (out / "objectives.png").is_file()
    assert "![Every pair of objectives](objectives.png)" in (out / "summary.md").read_text()
    pairs = [(a.get_ylabel(), a.get_xlabel()) for a in objectives_figure(run).axes]
    assert pairs == [
        ("validation perplexity", "forward FLOPs per token"),
        ("validation perplexity", "inference state bytes per sequence"),
        ("forward FLOPs per token", "inference state bytes per sequence"),
    ]
    assert not any(
        line.get_drawstyle() == "steps-post" for line in pareto_figure(run).axes[0].lines
    )
