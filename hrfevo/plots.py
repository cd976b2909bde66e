"""The report's figures, drawn with matplotlib's object API (no pyplot, so no GUI backend).

pareto_figure:      perplexity against forward FLOPs per token (log x), every evaluation faded,
                    each generation's front coloured by generation, the final front on top,
                    transformer baselines starred and the knee labelled.
hypervolume_figure: the front's hypervolume after each generation.
fidelity_figure:    with a fidelity ladder, Kendall τ between each pair of rungs by generation.
"""

from __future__ import annotations

import pandas as pd
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.colors import BoundaryNorm
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from hrfevo.api import RunData
from hrfevo.selection import knee

X, Y = "flops_per_token", "perplexity"
FINAL = "#d62728"  # the final front, red over the viridis generations
HV_AXES = {
    "perplexity": "log_V perplexity",
    "flops_per_token": "log10 FLOPs",
    "params": "log10 params",
}


def pareto_figure(run: RunData) -> Figure:
    fig = Figure(figsize=(9, 6), layout="constrained")
    ax = fig.add_subplot()
    ok = run.evaluations[run.evaluations["status"] == "ok"]
    ax.scatter(ok[X], ok[Y], s=16, c="0.6", alpha=0.45, lw=0, label=f"evaluations ({len(ok)})")
    _generation_fronts(fig, ax, run)
    final = run.front()
    _staircase(ax, final, color=FINAL, lw=2.2, zorder=4)
    ax.scatter(final[X], final[Y], s=60, c=FINAL, ec="black", lw=0.8, zorder=5, label="final front")
    _baselines(ax, ok[ok["baseline"]])
    _label_knee(ax, run)
    ax.set_xscale("log")
    ax.set_xlabel("forward FLOPs per token (log scale)")
    ax.set_ylabel("validation perplexity (per byte)")
    failed = len(run.evaluations) - len(ok)
    ax.set_title(f"{run.name}: perplexity vs cost ({len(ok)} evaluations, {failed} failed)")
    ax.grid(True, which="both", alpha=0.25)
    ax.legend(loc="best", framealpha=0.9)
    return fig


def _baselines(ax: Axes, base: pd.DataFrame) -> None:
    if base.empty:
        return
    label = "transformer (attention, table embedding)"
    ax.scatter(base[X], base[Y], s=260, marker="*", c="#ff9f1c", ec="k", zorder=6, label=label)


def _generation_fronts(fig: Figure, ax: Axes, run: RunData) -> None:
    """Each generation's front as a thin staircase, with a discrete colour bar for generation."""
    n = max(run.generations, 1)
    cmap = colormaps["viridis"].resampled(n)
    norm = BoundaryNorm([g - 0.5 for g in range(n + 1)], n)
    for g in range(run.generations):
        members = run.pareto[run.pareto["generation"] == g]
        colour = cmap(norm(g))
        _staircase(ax, members, color=colour, lw=1.0, alpha=0.8, zorder=2)
        ax.scatter(members[X], members[Y], s=14, color=colour, zorder=3)
    # A legend entry for the coloured fronts; the colour bar says which colour is which.
    ax.plot(
        [],
        [],
        color=cmap(norm(n - 1)),
        lw=1.0,
        marker="o",
        ms=3.5,
        label="front after each generation",
    )
    bar = fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=ax, pad=0.01)
    bar.set_label("generation of each front (0 = initial population)")
    bar.locator = MaxNLocator(integer=True)
    bar.update_ticks()


def _staircase(ax: Axes, members: pd.DataFrame, **style: object) -> None:
    """The front's attainment boundary: cheapest first, stepping down at each better member."""
    ordered = members.sort_values([X, Y])
    ax.step(ordered[X], ordered[Y], where="post", **style)  # type: ignore[arg-type]


def _label_knee(ax: Axes, run: RunData) -> None:
    if not run.front_records:
        return
    m = knee(run.front_records, run.problem)["metrics"]
    ax.annotate(
        "knee",
        (m[X], m[Y]),
        xytext=(12, 12),
        textcoords="offset points",
        arrowprops={"arrowstyle": "->", "lw": 0.8},
        fontsize=10,
        zorder=7,
    )


def hypervolume_figure(run: RunData) -> Figure:
    fig = Figure(figsize=(7, 4.5), layout="constrained")
    ax = fig.add_subplot()
    hv = run.hypervolume
    ax.plot(hv["generation"], hv["hypervolume"], marker="o", color="#1f77b4")
    ax.set_xlabel("generation (0 = initial population)")
    axes = " × ".join(HV_AXES[name] for name in run.problem.objective_names)
    ax.set_ylabel(f"hypervolume ({axes})")
    ax.ticklabel_format(axis="y", useOffset=False)
    ref = ", ".join(f"{v:g}" for v in run.problem.hv_reference)
    ax.set_title(f"{run.name}: hypervolume of the front (reference point {ref})")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(True, alpha=0.3)
    return fig


def fidelity_figure(run: RunData) -> Figure:
    """Kendall τ between each pair of rungs (cumulative over the run) after each generation."""
    fig = Figure(figsize=(7, 4.5), layout="constrained")
    ax = fig.add_subplot()
    rungs = run.config.ladder()
    steps = rungs.rungs if rungs else (0,)
    styles = [("o", "-"), ("s", "--"), ("^", ":"), ("D", "-.")]  # equal lines stay visible
    for i, (pair, rows) in enumerate(run.fidelity.groupby(["rung_from", "rung_to"])):
        lo, hi = (int(r) for r in pair)  # type: ignore[call-overload]
        label = f"rung {lo} ({steps[lo]} steps) vs {hi} ({steps[hi]}), n = {rows['n'].iloc[-1]}"
        marker, line = styles[i % len(styles)]
        ax.plot(rows["generation"], rows["kendall_tau"], marker=marker, ls=line, label=label)
    ax.axhline(0.0, color="grey", lw=0.8)
    ax.set_ylim(-1.05, 1.05)
    ax.set_xlabel("generation (0 = initial population)")
    ax.set_ylabel("Kendall τ of perplexity (1: the same order)")
    ax.set_title(f"{run.name}: does each rung rank genomes as the rungs above do?")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    return fig
