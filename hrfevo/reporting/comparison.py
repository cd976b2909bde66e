"""Several runs compared (`hrfevo report RUN1 RUN2 ...`): strategies, seeds or ladders.

check_comparable:    the runs must share objectives, search space and corpus, or their fronts
                     and hypervolumes do not measure the same thing.
labels:              each run's name in the legends: what tells the runs apart.
pareto_overlay:      every run's final front on one perplexity-against-FLOPs plot.
hypervolume_overlay: hypervolume against evaluations and against CPU-seconds, one line a run.

With a fidelity ladder, a run counts only the genomes it trained to its top rung, here as in
`hrfevo.reporting.curves` (why: that module's docstring).
curves_table, summary: curves.csv and summary.md.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from hrfevo.api import RunData
from hrfevo.errors import UsageError
from hrfevo.pareto import hypervolume
from hrfevo.reporting.markdown import figure, table
from hrfevo.reporting.plots import (
    X_LABEL,
    Y_LABEL,
    X,
    Y,
    caption,
    reference_in_words,
    seeded_baselines,
    staircase,
)

MARKERS = "os^Dv<>ph8"


def check_comparable(runs: list[RunData]) -> None:
    """A UsageError naming the first difference that makes the runs incomparable."""
    paths = [r.path.resolve() for r in runs]
    for i, p in enumerate(paths):
        if p in paths[:i]:
            raise UsageError(f"{runs[i].path} is given twice")
    first = runs[0]
    for other in runs[1:]:
        for what, a, b in (
            ("objectives", first.config.objectives, other.config.objectives),
            ("search spaces", first.config.space.to_dict(), other.config.space.to_dict()),
            ("corpora", first.info["data"]["sha256"], other.info["data"]["sha256"]),
        ):
            if _plain(a) != _plain(b):
                raise UsageError(
                    f"{first.path} and {other.path} have different {what} "
                    f"({_difference(a, b)}): their fronts cannot be compared"
                )


def _plain(x: Any) -> Any:
    return json.loads(json.dumps(x))  # tuples as lists, so equal settings compare equal


def _difference(a: Any, b: Any) -> str:
    if isinstance(a, dict) and isinstance(b, dict):
        field = next(k for k in sorted(a.keys() | b.keys()) if _plain(a.get(k)) != _plain(b.get(k)))
        return f"{field}: {json.dumps(a.get(field))} against {json.dumps(b.get(field))}"
    if isinstance(a, str) and len(a) == 64:  # a sha256
        return f"sha256 {a[:12]} against {b[:12]}"
    return f"{json.dumps(_plain(a))} against {json.dumps(_plain(b))}"


def labels(runs: list[RunData]) -> list[str]:
    """The strategy and seed where those differ between the runs ("nsga2, seed 1"), else (or
    where that leaves two runs alike) the directory names, else the paths as given."""
    varying = [f for f in ("strategy", "seed") if len({getattr(r.config, f) for r in runs}) > 1]
    if varying:
        tags = [
            ", ".join(
                str(r.config.strategy) if f == "strategy" else f"seed {r.config.seed}"
                for f in varying
            )
            for r in runs
        ]
        if len(set(tags)) == len(tags):
            return tags
    names = [r.name for r in runs]
    return names if len(set(names)) == len(names) else [str(r.path) for r in runs]


def _colours(n: int) -> list[tuple[float, ...]]:
    return [colormaps["tab10"](i % 10) for i in range(n)]


def top_rung(run: RunData) -> pd.DataFrame:
    """The `evaluations` rows of the genomes that reached the run's top rung, successfully."""
    ev = run.evaluations
    return ev[(ev["status"] == "ok") & (ev["rung"] == run.problem.rungs - 1)]


def pareto_overlay(runs: list[RunData], names: list[str]) -> Figure:
    """Each run's front: of the genomes it trained to its top rung (all of them without a
    ladder), as its own report and `hrfevo.reporting.curves` have it."""
    fig = Figure(figsize=(11, 6.5), layout="constrained")
    ax = fig.add_subplot()
    for i, (run, name, colour) in enumerate(zip(runs, names, _colours(len(runs)), strict=True)):
        done = top_rung(run)
        ax.scatter(done[X], done[Y], s=10, color=colour, alpha=0.18, lw=0)
        members = run.front_records
        final = done.set_index("key", drop=False).loc[[r["key"] for r in members]]
        staircase(ax, final, color=colour, lw=2.0, alpha=0.9, zorder=3)
        style: dict[str, Any] = {"s": 50, "marker": MARKERS[i % len(MARKERS)], "lw": 0.6}
        label = _front_label(run, name, len(members), hypervolume(members, run.problem))
        ax.scatter(final[X], final[Y], color=colour, ec="black", zorder=4, label=label, **style)
    _baselines(ax, runs, names)
    ax.set_xscale("log")
    ax.set_xlabel(X_LABEL)
    ax.set_ylabel(Y_LABEL)
    ladder = any(r.problem.rungs > 1 for r in runs)
    dots = "every genome each run trained" + (" to its top rung" if ladder else "")
    ax.set_title(f"Final fronts of {len(runs)} runs (faint dots: {dots})", fontsize=11)
    ax.grid(True, which="both", alpha=0.25)
    fig.legend(loc="outside right upper", fontsize=9, framealpha=0.9)
    return fig


def _front_label(run: RunData, name: str, n: int, hv: float) -> str:
    ladder = run.config.fidelity
    if not n:
        return f"{name}: no genome trained to the top rung" if ladder else f"{name}: none ok"
    steps = f"rung {ladder.top}, {ladder.rungs[-1]}" if ladder else run.config.budget["steps"]
    return f"{name}: front of {n} ({steps} steps), hypervolume {hv:.3f}"


def _baselines(ax: Axes, runs: list[RunData], names: list[str]) -> None:
    """One star per seeded transformer baseline result at its run's top rung, named by the runs
    that share it (runs with the same seed train it identically)."""
    shared: dict[tuple[float, float], list[str]] = {}
    for run, name in zip(runs, names, strict=True):
        done = top_rung(run)
        for _, r in done[done["baseline"] & done["seeded"]].iterrows():
            shared.setdefault((r[X], r[Y]), []).append(name)
    if not shared:
        return
    seeded_baselines(ax, pd.DataFrame(list(shared), columns=[X, Y]))
    for (x, y), owners in shared.items():
        ax.annotate(
            "\n".join(owners),
            (x, y),
            xytext=(9, 0),
            textcoords="offset points",
            va="center",
            fontsize=7.5,
            color="0.25",
        )


def hypervolume_overlay(
    runs: list[RunData], curves: list[pd.DataFrame], names: list[str]
) -> Figure:
    """Two panels sharing the hypervolume axis (from 0): against evaluations, against
    CPU-seconds. Each curve starts at (0, 0) and steps at every evaluation."""
    fig = Figure(figsize=(12, 5.4), layout="constrained")
    by_evals, by_seconds = fig.subplots(1, 2, sharey=True)
    for curve, name, colour in zip(curves, names, _colours(len(curves)), strict=True):
        hv = np.concatenate([[0.0], curve["hypervolume"]])
        for ax, x in ((by_evals, "evaluations"), (by_seconds, "cpu_seconds")):
            xs = np.concatenate([[0.0], curve[x]])
            ax.step(xs, hv, where="post", color=colour, lw=1.8, label=name)
            ax.plot(xs[-1], hv[-1], "o", color=colour, ms=5)
    top = max((c["hypervolume"].max() for c in curves if len(c)), default=0.0)
    by_evals.set_ylim(0, top * 1.08 if top > 0 else 1.0)
    by_evals.set_xlim(left=0)
    by_seconds.set_xlim(left=0)
    by_evals.set_xlabel("evaluations (promotions up a fidelity ladder included)")
    by_seconds.set_xlabel("CPU-seconds (the evaluations' own timings, summed)")
    by_evals.set_ylabel("hypervolume of the front (larger is better)")
    by_evals.set_title("against evaluations", fontsize=11)
    by_seconds.set_title("against CPU-seconds", fontsize=11)
    for ax in (by_evals, by_seconds):
        ax.grid(True, alpha=0.3)
    by_evals.legend(fontsize=9, loc="lower right")
    fig.suptitle(f"Hypervolume of {len(runs)} runs as they spend their budget")
    caption(fig, reference_in_words(runs[0].problem))
    return fig


def curves_table(curves: list[pd.DataFrame], names: list[str], runs: list[RunData]) -> pd.DataFrame:
    """curves.csv: every run's curve, with its label and directory in the first columns."""
    return pd.concat(
        [
            c.assign(run=name, dir=str(r.path))
            for c, name, r in zip(curves, names, runs, strict=True)
        ],
        ignore_index=True,
    )[["run", "dir", *curves[0].columns]]


def at_cost(curve: pd.DataFrame, column: str, budget: float) -> float:
    """The hypervolume once `budget` of `column` was spent (0 before the first evaluation)."""
    reached = curve.loc[curve[column] <= budget + 1e-9, "hypervolume"]
    return float(reached.iloc[-1]) if len(reached) else 0.0


def _ladder_note(runs: list[RunData]) -> str:
    if all(r.problem.rungs == 1 for r in runs):
        return ""
    return (
        " Of a run with a fidelity ladder, only the genomes trained to its top rung count "
        "(its confirmed front, and its hypervolume), as everywhere: shorter trainings are not "
        "comparable with them. The run's own report shows its provisional fronts apart."
    )


def _steps(run: RunData) -> str:
    """The training steps of an evaluation: "120", or a ladder's "120/360/960"."""
    ladder = run.config.fidelity
    return "/".join(map(str, ladder.rungs)) if ladder else str(run.config.budget["steps"])


def summary(runs: list[RunData], curves: list[pd.DataFrame], names: list[str], fmt: str) -> str:
    evals = min(len(c) for c in curves)
    seconds = min(float(c["cpu_seconds"].iloc[-1]) for c in curves)
    rows = [
        (
            name,
            f"`{r.path}`",
            r.config.strategy,
            r.config.seed,
            _steps(r),
            f"{r.view.generation}/{r.view.target}",
            len(c),
            int((c["status"] != "ok").sum()),
            f"{c['cpu_seconds'].iloc[-1]:,.1f}",
            int(c["front_size"].iloc[-1]),
            f"{c['hypervolume'].iloc[-1]:.4f}",
            f"{at_cost(c, 'evaluations', evals):.4f}",
            f"{at_cost(c, 'cpu_seconds', seconds):.4f}",
        )
        for r, c, name in zip(runs, curves, names, strict=True)
    ]
    header = (
        *("run", "directory", "strategy", "seed", "training steps", "generations"),
        *("evaluations", "failed"),
        *("CPU-seconds", "front size", "final hypervolume"),
        *(f"at {evals} evaluations", f"at {seconds:,.1f} CPU-seconds"),
    )
    return (
        f"# HRFEvo comparison of {len(runs)} runs\n\n"
        f"Objectives {', '.join(runs[0].config.objectives)}, on the same search space and "
        f"corpus (`{runs[0].config.data}`). The final hypervolume is that of each run's front at "
        "its end; the last two columns give it at equal cost, when the run that spent least "
        "had stopped, so that a longer run does not win by being longer. CPU-seconds add up the "
        "evaluations' own `timings.seconds`. Every run's hypervolume after each of its "
        f"evaluations is in `curves.csv`.{_ladder_note(runs)}\n\n"
        f"{reference_in_words(runs[0].problem)}\n\n"
        + table(header, rows)
        + "\n\n## Figures\n\n"
        + figure("Final fronts", f"pareto.{fmt}")
        + "\n\n"
        + figure("Hypervolume against evaluations and CPU-seconds", f"hypervolume.{fmt}")
        + "\n"
    )
