"""The report's figures, drawn with matplotlib's object API (no pyplot, so no GUI backend).

pareto_figure:      perplexity against forward FLOPs per token (log x): every evaluation faded,
                    the fronts of earlier generations in distinct hues, the final front in
                    red with each member labelled by its short key (as in summary.md), the
                    knee ringed and the seeded transformer baselines starred.
hypervolume_figure: the front's hypervolume after each generation, from 0, with the
                    evaluations done by then on a second axis and the reference point in words.
fidelity_figure:    with a fidelity ladder, Kendall τ between each pair of rungs by generation.
objectives_figure:  with more than two objectives, every pair of them: the final front in red
                    (labelled as in pareto_figure) over every genome. A front of three or more
                    objectives is no staircase in any one pair, so none is drawn there.
"""

from __future__ import annotations

import itertools
import textwrap
from collections.abc import Iterable

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from hrfevo.api import RunData
from hrfevo.choice import knee
from hrfevo.objectives import OBJECTIVES
from hrfevo.problem import Problem
from hrfevo.reporting.markdown import plural

X, Y = "flops_per_token", "perplexity"
FINAL = "#d62728"  # the final front: red, a hue the earlier generations never take
BASELINE = "#ffd700"  # gold: no run colour (tab10) nor generation colour is gold
EARLIER_FRONTS = 8  # at most this many earlier generations' fronts are drawn
RUNG_MARKERS = "osD^v"  # provisional fronts' markers by rung: square, diamond, ...
CAPTION_SIZE = 8  # points
LABEL_SIZE = 7.5  # points: the short keys beside the final front
X_LABEL = "forward FLOPs per token (log scale)"
Y_LABEL = "validation perplexity (per byte; lower is better)"
LADDER_NOTE = (
    "With a fidelity ladder ({steps} training steps), the front (red) holds only genomes trained "
    "to the top rung. Hollow markers, one shape per rung, are the provisional fronts of shorter "
    "training: not comparable with it. Grey dots show each genome at the highest rung it reached."
)


def short_keys(keys: Iterable[str], at_least: int = 4) -> dict[str, str]:
    """The shortest prefix (of `at_least` characters or more) that tells the keys apart."""
    unique = sorted(set(keys))
    n = at_least
    while len({k[:n] for k in unique}) < len(unique):
        n += 1
    return {k: k[:n] for k in unique}


def pareto_figure(run: RunData) -> Figure:
    fig = Figure(figsize=(11, 6.5), layout="constrained")
    ax = fig.add_subplot()
    ok = run.evaluations[run.evaluations["status"] == "ok"]
    ax.scatter(ok[X], ok[Y], s=16, c="0.6", alpha=0.45, lw=0, label=f"every genome ({len(ok)})")
    _earlier_fronts(ax, run)
    _final_front(ax, run)
    seeded_baselines(ax, ok[ok["baseline"] & ok["seeded"]])
    ax.set_xscale("log")
    ax.set_xlabel(X_LABEL)
    ax.set_ylabel(Y_LABEL)
    failed = len(run.evaluations) - len(ok)
    done, target = run.view.generation, run.view.target
    state = "" if done >= target else f", generation {done} of {target} in progress"
    ax.set_title(
        f"{run.name}: perplexity against cost ({len(ok)} genomes ok, {failed} failed{state})"
    )
    ax.grid(True, which="both", alpha=0.25)
    fig.legend(loc="outside right upper", fontsize=9, framealpha=0.9)
    ladder = run.config.fidelity
    if ladder is not None:
        caption(fig, LADDER_NOTE.format(steps="/".join(map(str, ladder.rungs))))
    return fig


def seeded_baselines(ax: Axes, base: pd.DataFrame) -> None:
    """Stars for the transformer baselines the run was seeded with (not for evolved genomes
    that happen to be transformers: those are ordinary points)."""
    if base.empty:
        return
    label = "seeded transformer baseline\n(attention, table embedding)"
    ax.scatter(base[X], base[Y], s=260, marker="*", color=BASELINE, ec="k", zorder=6, label=label)


def _earlier_fronts(ax: Axes, run: RunData) -> None:
    """The fronts after earlier generations, thin, one distinct colour each (at most
    EARLIER_FRONTS of them, evenly spaced, the initial population's always among them)."""
    shown = sorted({int(g) for g in np.linspace(0, run.generations - 2, EARLIER_FRONTS)})
    shown = [g for g in shown if 0 <= g < run.generations - 1]
    # turbo from purple through blue and green to yellow: neighbours differ in hue, and none
    # is the final front's red.
    colours = colormaps["turbo"](np.linspace(0.03, 0.6, max(len(shown), 2)))
    for g, colour in zip(shown, colours, strict=False):
        members = run.pareto[run.pareto["generation"] == g]
        label = f"front after generation {g}" + (" (initial population)" if g == 0 else "")
        if len(run.problem.objective_names) == 2:
            staircase(ax, members, color=colour, lw=1.2, alpha=0.9, zorder=2, label=label)
            label = ""
        ax.scatter(members[X], members[Y], s=14, color=colour, zorder=3, label=label or None)


def _final_front(ax: Axes, run: RunData) -> None:
    """The final front (the front after the last generation): red, each member labelled with
    its short key, the knee ringed; with a ladder, each rung's provisional front hollow."""
    final = run.front()
    if len(run.problem.objective_names) == 2:  # beyond two, objectives.png shows each pair
        staircase(ax, final, color=FINAL, lw=2.2, zorder=4)
    label = f"final front: after generation {run.generations - 1} ({plural(len(final), 'genome')})"
    ladder = run.config.fidelity
    if ladder is not None:
        label += f", rung {ladder.top} ({ladder.rungs[-1]} steps)"
    ax.scatter(final[X], final[Y], s=60, zorder=5, c=FINAL, ec="black", lw=0.8, label=label)
    for rung, members in run.provisional.items():
        _provisional(ax, run, rung, len(members))
    _label_keys(ax, final, short_keys(run.evaluations["key"]))
    if run.front_records:
        m = knee(run.front_records, run.problem)["metrics"]
        label = "knee (hrfevo export's default choice)"
        ax.scatter(m[X], m[Y], s=240, fc="none", ec="black", lw=1.4, zorder=6, label=label)


def _provisional(ax: Axes, run: RunData, rung: int, n: int) -> None:
    """Rung `rung`'s provisional front: hollow markers of the rung's shape, at its metrics."""
    ladder = run.config.fidelity
    assert ladder is not None
    members = run.provisional_front(rung)
    label = f"provisional front, rung {rung} ({ladder.rungs[rung]} steps): {plural(n, 'genome')}"
    marker = RUNG_MARKERS[(rung + 1) % len(RUNG_MARKERS)]
    ax.scatter(
        members[X],
        members[Y],
        s=40,
        marker=marker,
        c="white",
        ec=FINAL,
        lw=1.2,
        alpha=0.8,
        zorder=4,
        label=label,
    )


def _label_keys(ax: Axes, members: pd.DataFrame, short: dict[str, str]) -> None:
    """Each point's short key beside it, at the first of four corners where it overlaps no
    label placed before it and no other point (estimated at the figure's size before layout)."""
    ax.autoscale_view()
    to_points = 72 / ax.figure.dpi  # display pixels to typographic points
    data = members[[X, Y]].to_numpy(dtype=float)
    points = ax.transData.transform(data) * to_points
    dots = [(qx - 4, qy - 4, qx + 4, qy + 4) for qx, qy in points]
    placed: list[tuple[float, float, float, float]] = []  # label boxes, in points
    for (x, y), (px, py), key in zip(data, points, members["key"], strict=True):
        w, h = 0.62 * LABEL_SIZE * len(short[key]), LABEL_SIZE
        for right, up in ((True, True), (True, False), (False, True), (False, False)):
            x0, y0 = (px + 5 if right else px - 5 - w), (py + 4 if up else py - 4 - h)
            box = (x0, y0, x0 + w, y0 + h)
            if not any(_overlap(box, b) for b in placed + dots):
                break
        else:
            right, up, box = True, True, (px + 5, py + 4, px + 5 + w, py + 4 + h)
        placed.append(box)
        ax.annotate(
            short[key],
            (x, y),
            xytext=(5 if right else -5, 4 if up else -4),
            textcoords="offset points",
            ha="left" if right else "right",
            va="bottom" if up else "top",
            fontsize=LABEL_SIZE,
            family="monospace",
            color="#7a1010",
            zorder=7,
        )


def _overlap(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def staircase(ax: Axes, members: pd.DataFrame, label: str = "", **style: object) -> None:
    """The attainment boundary of the points as plotted: cheapest first, stepping down at
    each point better than every cheaper one. (With a fidelity ladder or a third objective a
    front member may sit above it: it is on the front by a rung or an objective not shown.)"""
    ordered = members.sort_values([X, Y])
    best = ordered[Y].cummin()
    boundary = ordered[ordered[Y] <= best]
    ax.step(boundary[X], boundary[Y], where="post", label=label or None, **style)  # type: ignore[arg-type]


def hypervolume_figure(run: RunData) -> Figure:
    fig = Figure(figsize=(8, 5.2), layout="constrained")
    ax = fig.add_subplot()
    hv = run.hypervolume
    ax.plot(hv["generation"], hv["hypervolume"], marker="o", color="#1f77b4")
    ax.set_ylim(0, _headroom(hv["hypervolume"]))
    ax.set_xlabel("generation (0 = initial population)")
    ax.set_ylabel("hypervolume (larger is better)")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    _evaluations_axis(ax, run)
    ax.set_title(f"{run.name}: hypervolume of the front", fontsize=11)
    ax.grid(True, alpha=0.3)
    caption(fig, reference_in_words(run.problem))
    return fig


def _evaluations_axis(ax: Axes, run: RunData) -> None:
    """A second x axis, on top, with the evaluations done by the end of each generation."""
    top = ax.secondary_xaxis("top")
    top.xaxis.set_major_locator(MaxNLocator(integer=True))
    done = dict(zip(run.hypervolume["generation"], run.hypervolume["evaluations"], strict=True))
    top.xaxis.set_major_formatter(FuncFormatter(lambda g, _: f"{done.get(round(g), '')}"))
    promotions = " (promotions up the ladder included)" if run.problem.rungs > 1 else ""
    top.set_xlabel(f"evaluations done by the end of the generation{promotions}")


def caption(fig: Figure, text: str) -> None:
    """A few lines of small text under the figure, with room made for them by the layout."""
    width = int(fig.get_figwidth() * 72 / (0.55 * CAPTION_SIZE))  # characters per line
    fig.supxlabel(textwrap.fill(text, width), x=0.01, ha="left", fontsize=CAPTION_SIZE)


def _headroom(values: pd.Series) -> float:
    top = float(values.max()) if len(values) else 0.0
    return top * 1.08 if top > 0 else 1.0


def reference_in_words(problem: Problem) -> str:
    """What the hypervolume measures, and its reference point, in two sentences."""
    vocab = getattr(getattr(problem, "space", None), "vocab_size", 256)
    axes, corner = [], []
    for name, ref in zip(problem.objective_names, problem.hv_reference, strict=True):
        o = OBJECTIVES.get(name)
        if o is None:  # a benchmark problem: its objectives as they are
            axes.append(name)
            corner.append(f"{name} {ref:g}")
        elif o.axis == "log_vocab":
            axes.append(f"log_{vocab} {name} (the validation loss over ln {vocab})")
            corner.append(f"{name} {vocab**ref:,.0f}: guessing uniformly among {vocab} bytes")
        elif o.axis == "linear":
            axes.append(o.description)
            corner.append(f"{o.description} {ref:g}")
        else:
            axes.append(f"log10 {o.description}")
            corner.append(f"{_power_of_ten(ref)} {o.description}")
    shape = "area" if len(axes) == 2 else "volume"
    return (
        f"Hypervolume: the {shape} that the front dominates on the axes {' × '.join(axes)}, "
        f"measured up to the reference point ({'; '.join(corner)}). A genome worse than the "
        "reference point on any axis adds nothing."
    )


def _power_of_ten(exponent: float) -> str:
    """'10⁹' for 9.0; '3.16e+04' where the exponent is not a whole number."""
    if exponent != int(exponent):
        return f"{10**exponent:.3g}"
    return "10" + str(int(exponent)).translate(str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹"))


def fidelity_figure(run: RunData) -> Figure:
    """Kendall τ between each pair of rungs (cumulative over the run) after each generation."""
    fig = Figure(figsize=(7, 4.5), layout="constrained")
    ax = fig.add_subplot()
    rungs = run.config.fidelity
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


def objectives_figure(run: RunData) -> Figure:
    """Every pair of the run's objectives, one panel each (log axes but perplexity's)."""
    names = run.problem.objective_names
    pairs = list(itertools.combinations(names, 2))
    fig = Figure(figsize=(5.2 * len(pairs), 4.8), layout="constrained")
    ok = run.evaluations[run.evaluations["status"] == "ok"]
    final, short = run.front(), short_keys(run.evaluations["key"])
    for i, (y, x) in enumerate(pairs):
        ax = fig.add_subplot(1, len(pairs), i + 1)
        every = f"every genome ({len(ok)})" if i == 0 else None
        ax.scatter(ok[x], ok[y], s=16, c="0.6", alpha=0.45, lw=0, label=every)
        label = f"final front ({plural(len(final), 'genome')})" if i == 0 else None
        ax.scatter(final[x], final[y], s=60, c=FINAL, ec="black", lw=0.8, zorder=5, label=label)
        for name, axis in ((x, ax.set_xscale), (y, ax.set_yscale)):
            axis("log" if OBJECTIVES[name].axis == "log10" else "linear")
        ax.set_xlabel(OBJECTIVES[x].description)
        ax.set_ylabel(OBJECTIVES[y].description)
        ax.grid(True, which="both", alpha=0.25)
        for key, px, py in zip(final["key"], final[x], final[y], strict=True):
            ax.annotate(short[key], (px, py), xytext=(4, 3), textcoords="offset points",
                        fontsize=LABEL_SIZE, family="monospace", color="#7a1010")  # fmt: skip
    fig.suptitle(f"{run.name}: the final front on every pair of its {len(names)} objectives")
    fig.legend(loc="outside lower center", ncols=2, fontsize=9)
    return fig
