"""A run's report, or several runs compared: `hrfevo report RUN [RUN ...] [--out DIR]`.

One run, by default into reports/<run name>/:

    pareto.png       perplexity against FLOPs per token, fronts by generation (`plots`)
    hypervolume.png  hypervolume per generation, with the evaluations done by then
    fidelity.png     with a fidelity ladder: Kendall τ between rungs per generation
    objectives.png   with more than two objectives: the final front on every pair of them
    summary.md       config, evaluation counts, failures, the front (keys as in pareto.png)

Several runs (strategies, seeds; same objectives, space and corpus), by default into
reports/compare-<names>/ (`comparison`):

    pareto.png       every run's final front on one plot
    hypervolume.png  hypervolume against evaluations and against CPU-seconds
    curves.csv       those curves, one row per evaluation of each run (hrfevo.reporting.curves)
    summary.md       one row per run, with the hypervolume each reached at equal cost

`fmt` ("svg", "pdf") replaces png. A report is derived from the run directories alone and
only reads them. Its directory must be new, empty, or an earlier report's own (nothing in it
but the files a report writes, with a summary.md a report wrote): that one is refreshed, each
file replaced atomically, and the report files this report does not write (figures of another
format, a fidelity figure) removed. Any other non-empty directory is refused, as `hrfevo run`,
`train` and `export` refuse one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from hrfevo.errors import UsageError
from hrfevo.storage import atomic_replace, atomic_write_text

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from hrfevo.api import RunData

# This module imports matplotlib and pandas only when it draws, so that the CLI can read
# FORMATS without them.

REPORTS = Path("reports")
FORMATS = ("png", "svg", "pdf")
FIGURES = ("pareto", "hypervolume", "fidelity", "objectives")
TABLES = ("summary.md", "curves.csv")
TITLE = "# HRFEvo "  # how every summary.md a report writes begins
DPI = 150
LONGEST_NAME = 80  # a default comparison directory's name beyond this is shortened


def report(run: str | Path | RunData, out: str | Path | None = None, fmt: str = "png") -> Path:
    """Write the report of `run` into `out` (default reports/<run name>/); returns `out`.

    A run in which every evaluation failed gets a summary.md of its failures and no figures.
    """
    from hrfevo.reporting.plots import (
        fidelity_figure,
        hypervolume_figure,
        objectives_figure,
        pareto_figure,
    )
    from hrfevo.reporting.summary import summary

    _check_format(fmt)
    data = _load(run)
    target = Path(out) if out is not None else REPORTS / data.name
    _check_out(target)
    figures: dict[str, Callable[[RunData], Figure]] = {}
    if any(r["status"] == "ok" for r in data.journal):  # a front, or provisional ones
        figures = {"pareto": pareto_figure, "hypervolume": hypervolume_figure}
        if data.problem.rungs > 1:
            figures["fidelity"] = fidelity_figure
        if len(data.problem.objective_names) > 2:
            figures["objectives"] = objectives_figure
    target.mkdir(parents=True, exist_ok=True)
    for name, draw in figures.items():
        _save(draw(data), target / f"{name}.{fmt}")
    atomic_write_text(target / "summary.md", summary(data, list(figures), fmt))
    _remove_stale(target, [f"{name}.{fmt}" for name in figures] + ["summary.md"])
    return target


def compare(
    runs: Sequence[str | Path | RunData], out: str | Path | None = None, fmt: str = "png"
) -> Path:
    """Overlay several runs in `out` (default reports/compare-<names>/); returns `out`.

    Runs with other objectives, search spaces or corpora, or a run given twice, are refused
    (UsageError) before anything is written.
    """
    from hrfevo.reporting import comparison
    from hrfevo.reporting.curves import hypervolume_curve

    _check_format(fmt)
    data = [_load(r) for r in runs]
    comparison.check_comparable(data)
    target = Path(out) if out is not None else REPORTS / _compare_name(data)
    _check_out(target)
    labels = comparison.labels(data)
    curves = [hypervolume_curve(d) for d in data]
    target.mkdir(parents=True, exist_ok=True)
    _save(comparison.pareto_overlay(data, labels), target / f"pareto.{fmt}")
    _save(comparison.hypervolume_overlay(data, curves, labels), target / f"hypervolume.{fmt}")
    table = comparison.curves_table(curves, labels, data)
    atomic_write_text(target / "curves.csv", table.to_csv(index=False))
    atomic_write_text(target / "summary.md", comparison.summary(data, curves, labels, fmt))
    _remove_stale(target, [f"pareto.{fmt}", f"hypervolume.{fmt}", "curves.csv", "summary.md"])
    return target


def _load(run: str | Path | RunData) -> RunData:
    from hrfevo.api import RunData

    data = run if isinstance(run, RunData) else RunData(run)
    if not data.journal:
        raise UsageError(f"{data.path} has no evaluations yet: nothing to report")
    return data


def _check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise UsageError(f"--format {fmt!r}: choose one of {', '.join(FORMATS)}")


def _compare_name(runs: list[RunData]) -> str:
    name = "compare-" + "+".join(r.name for r in runs)
    if len(name) <= LONGEST_NAME:
        return name
    return f"compare-{runs[0].name}+{len(runs) - 1}-more"


def report_files() -> set[str]:
    """Every file name a report may write."""
    return {f"{stem}.{fmt}" for stem in FIGURES for fmt in FORMATS} | set(TABLES)


def is_report_dir(path: Path) -> bool:
    """Whether `path` holds nothing but an earlier report's files (and the temporary files an
    interrupted atomic write leaves), summary.md among them."""
    ours = report_files()
    names = {p.name for p in path.iterdir()}
    temporary = {f".{name}.tmp" for name in ours}
    if "summary.md" not in names or not names <= ours | temporary:
        return False
    with open(path / "summary.md", encoding="utf-8", errors="replace") as f:
        return f.read(len(TITLE)) == TITLE


def _check_out(target: Path) -> None:
    if target.exists() and not target.is_dir():
        raise UsageError(f"{target} exists and is not a directory (choose another --out)")
    if target.is_dir() and any(target.iterdir()) and not is_report_dir(target):
        raise UsageError(
            f"{target} exists, is not empty and is not an earlier report (choose another --out)"
        )


def _remove_stale(target: Path, written: list[str]) -> None:
    """Remove an earlier report's files that this one did not replace."""
    for stale in report_files() - set(written):
        (target / stale).unlink(missing_ok=True)


def _save(fig: Figure, path: Path) -> None:
    fmt = path.suffix[1:]
    # No creation date in svg or pdf metadata: the figures of an unchanged run do not change.
    meta = {"png": {}, "svg": {"Date": None}, "pdf": {"CreationDate": None}}[fmt]
    atomic_replace(path, lambda tmp: fig.savefig(tmp, dpi=DPI, format=fmt, metadata=meta))
