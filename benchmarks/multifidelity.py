"""Is the fidelity ladder worth it? Writes reports/multifidelity.md and reports/multifidelity.png.

    python -m benchmarks.multifidelity --data ../shared/data/tinyshakespeare.txt

Searches of the `tiny` space on one corpus, each given the same CPU-seconds of training:
- "ladder": the `tiny` preset as it ships: NSGA-II with its fidelity ladder, whose selection
  ranks genomes that reached different rungs by the default rule ("hurdles", see
  `hrfevo.fidelity`);
- "no-eviction": the same, with the other rule: compare on the highest rung both reached, a
  genome never dominating one that went higher;
- "single": the same search with one fidelity, every genome trained for the ladder's top rung;
- "random+ladder": random proposals through the same ladder, which is what Syne Tune's MOASHA
  does (random configurations, successive halving on non-dominated rank), with this ladder's
  promotion rule in place of MOASHA's stopping rule.
Each runs through the benchmarks' harness (`harness.run_arm`: the serial executor, one thread)
until its evaluations have used the budget of CPU-seconds, by the one clock
(`hrfevo.stop.cpu_seconds`: the journal's seconds, summed); the searches of different seeds and
arms run side by side, one per core. After each generation we measure the hypervolume of the
front each run reports (its confirmed front: top-rung results only, so every arm is judged on
the same budget's numbers) against the CPU-seconds spent so far, by the same clock.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import REPORTS, SHAKESPEARE, machine_lines
from benchmarks.harness import run_arm
from hrfevo import run
from hrfevo.api import load_run
from hrfevo.config import RunConfig, resolve
from hrfevo.pareto import front, hypervolume
from hrfevo.stop import MAX_GENERATIONS, Stop, cpu_seconds

ARMS = ("ladder", "no-eviction", "single", "random+ladder")
COLORS = {
    "ladder": "#d62728",
    "no-eviction": "#ff7f0e",
    "single": "#1f77b4",
    "random+ladder": "#2ca02c",
}


def arm_config(arm: str, data: str, seed: int) -> RunConfig:
    cfg = resolve("tiny", None, {"data": data, "seed": seed, "executor": "serial"})
    ladder = cfg.fidelity
    if ladder is None:
        raise SystemExit("the tiny preset has no fidelity ladder to compare")
    if arm == "single":
        budget = cfg.budget | {"steps": ladder.rungs[-1], "tokens": None}
        return dataclasses.replace(cfg, fidelity=None, budget=budget)
    if arm == "random+ladder":
        return dataclasses.replace(cfg, strategy="random")
    if arm == "no-eviction":
        return dataclasses.replace(cfg, fidelity=dataclasses.replace(ladder, compare=arm))
    return cfg


def search(job: tuple[str, str, int, float, Path]) -> dict[str, Any]:
    """One arm and seed, until its evaluations have spent `seconds` CPU-seconds."""
    arm, data, seed, seconds, out = job
    run_arm(arm_config(arm, data, seed), out, Stop(MAX_GENERATIONS, cpu_seconds=seconds))
    return {"arm": arm, "seed": seed, "dir": str(out), "curve": curve(out)}


def curve(out: Path) -> list[tuple[float, float, int]]:
    """(CPU-seconds, hypervolume of the front, top-rung genomes) after each generation."""
    view = run.RunView(out)
    problem, records = view.problem(), view.records()
    top = problem.rungs - 1
    points = []
    for g in range(view.generation):
        done = [r for r in records if r["generation"] <= g]
        hv = hypervolume(front(done, problem), problem)
        points.append((cpu_seconds(done), hv, sum(r["rung"] == top for r in done)))
    return points


def at(curve: list[tuple[float, float, int]], seconds: float) -> float:
    """The hypervolume reached once `seconds` were spent (0 before the first generation)."""
    reached = [hv for spent, hv, _ in curve if spent <= seconds]
    return reached[-1] if reached else 0.0


def first_reaching(grid: np.ndarray, mean: np.ndarray, target: float) -> float | None:
    hit = np.flatnonzero(mean >= target - 1e-12)
    return float(grid[hit[0]]) if len(hit) else None


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=str(SHAKESPEARE))
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--seconds", type=float, default=600.0, help="CPU-seconds per search")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    p.add_argument("--work", type=Path, default=Path("populations/multifidelity"))
    p.add_argument(
        "--arms", nargs="*", default=list(ARMS), choices=ARMS, help="none: only rewrite the report"
    )
    p.add_argument(
        "--merge", type=Path, help="an earlier run's JSON: keep its results for arms not run now"
    )
    p.add_argument("--out", type=Path, default=REPORTS / "multifidelity.md")
    args = p.parse_args()
    data = run.absolute_data(args.data)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    jobs = [
        (arm, data, seed, args.seconds, args.work / f"{stamp}-{arm}-s{seed}")
        for seed in args.seeds
        for arm in args.arms
    ]
    load, started = os.getloadavg()[0], time.time()
    results = []
    if jobs:
        with ProcessPoolExecutor(args.workers) as pool:
            results = list(pool.map(search, jobs))
    wall = time.time() - started
    if args.merge:  # the earlier runs' curves are measured again, from their directories
        kept = [r for r in json.loads(args.merge.read_text()) if r["arm"] not in args.arms]
        for r in kept:
            where = r.get("dir") or str(next(args.work.glob(f"*-{r['arm']}-s{r['seed']}")))
            r |= {"dir": where, "curve": curve(Path(where))}
        results = kept + results
    args.out.with_suffix(".json").write_text(json.dumps(results, indent=1) + "\n")
    write_report(args, data, results, load, wall)
    print(f"wrote {args.out}", file=sys.stderr)


def why(results: list[dict[str, Any]], stats: dict[str, Any], arms: list[str]) -> list[str]:
    """What the numbers say about where the CPU-seconds went, from the runs' own journals."""
    counts = {arm: np.mean([r["curve"][-1][2] for r in results if r["arm"] == arm]) for arm in arms}
    finals = {arm: float(stats[arm]["mean"][-1]) for arm in arms}
    ladder = [load_run(r["dir"]) for r in results if r["arm"] == "ladder"]
    top = ladder[0].problem.rungs - 1
    first = np.mean([sum(r.get("rung", 0) == 0 for r in d.journal) for d in ladder])
    taus = [d.fidelity[(d.fidelity.rung_from == 0) & (d.fidelity.rung_to == top)] for d in ladder]
    tau = np.mean([t["kendall_tau"].iloc[-1] for t in taus if len(t)])
    steps = ladder[0].config.fidelity.rungs  # type: ignore[union-attr]
    side = "ahead" if finals["ladder"] > finals["single"] else "behind"
    lines = [
        f"At the end the ladder's front is {side} "
        f"({finals['ladder']:.4f} against {finals['single']:.4f}), from {counts['ladder']:.0f} "
        f"genomes trained to the top rung on average against {counts['single']:.0f}: the "
        f"ladder spends its CPU-seconds on {first / counts['single']:.1f}× as many genomes at "
        f"{steps[0]} steps and promotes {counts['ladder'] / first:.0%} of them to the top, so "
        f"it wins only as far as {steps[0]} steps pick the right ones. Within its runs, rung 0 "
        f"ranks the genomes it promoted to the top with Kendall τ {tau:.2f} against their "
        f"{steps[-1]}-step results (mean over seeds, at the last generation; among promoted "
        "genomes only, so it says nothing of those left behind)."
    ]
    if "random+ladder" in finals:
        n = sum(r["arm"] == "random+ladder" for r in results)
        lower = finals["random+ladder"] < finals["ladder"]
        lines[0] += (
            f" Random proposals through the same ladder end {'lower' if lower else 'higher'} "
            f"than NSGA-II through it ({finals['random+ladder']:.4f}, {n} seeds)"
            + (": the proposals matter as much as the ladder." if lower else ".")
        )
    return lines


def commands(args: argparse.Namespace, results: list[dict[str, Any]]) -> list[str]:
    """The command that reruns each group of arms sharing a set of seeds."""
    seeds: dict[str, list[int]] = {}
    for r in results:
        seeds.setdefault(r["arm"], []).append(r["seed"])
    groups: dict[tuple[int, ...], list[str]] = {}
    for arm, s in seeds.items():
        groups.setdefault(tuple(sorted(s)), []).append(arm)
    return [
        f"    python -m benchmarks.multifidelity --data {args.data} --seconds {args.seconds:g} "
        f"--arms {' '.join(arms)} --seeds {' '.join(map(str, group))}"
        for group, arms in groups.items()
    ]


MOASHA = (
    "**random+ladder**: random genomes through the ladder, as Syne Tune's MOASHA searches "
    "(random configurations, halving on non-dominated rank); MOASHA stops a trial on arrival "
    "unless it ranks in the top third of those already at its rung, where this ladder promotes "
    "by quota in proposal order. "
)
OTHERS = {  # the ladder's other arms, as the verdict names them
    "no-eviction": "the ladder with the no-eviction rule",
    "random+ladder": "random proposals through the same ladder (MOASHA-style)",
}


def rules(stats: dict[str, Any]) -> list[str]:
    """The selection rules side by side: their final hypervolumes, and whether the gap
    exceeds the seeds' spread."""
    if "no-eviction" not in stats:
        return []
    a, sa = stats["ladder"]["mean"][-1], stats["ladder"]["sd"][-1]
    b, sb = stats["no-eviction"]["mean"][-1], stats["no-eviction"]["sd"][-1]
    lead = "hurdles (the default)" if a >= b else "no-eviction"
    beyond = abs(a - b) > max(sa, sb)
    return [
        "",
        f"Selection rules: hurdles ends at {a:.4f} ± {sa:.4f}, no-eviction at {b:.4f} ± "
        f"{sb:.4f}; {lead} is ahead by {abs(a - b):.4f}, "
        + ("more than the larger seed spread." if beyond else "within the seeds' spread."),
    ]


def write_report(
    args: argparse.Namespace, data: str, results: list[dict[str, Any]], load: float, wall: float
) -> None:
    from matplotlib.figure import Figure

    grid = np.linspace(0.0, args.seconds, 201)
    stats = {}
    fig = Figure(figsize=(11, 4.5), layout="constrained")
    full, zoom = fig.subplots(1, 2)
    arms = [a for a in ARMS if any(r["arm"] == a for r in results)]
    for arm in arms:
        color = COLORS[arm]
        curves = [r["curve"] for r in results if r["arm"] == arm]
        hv = np.array([[at(c, s) for s in grid] for c in curves])
        mean, sd = hv.mean(axis=0), hv.std(axis=0)
        stats[arm] = {"mean": mean, "sd": sd, "curves": curves}
        for ax in (full, zoom):
            ax.plot(grid, mean, color=color, label=f"{arm} (mean of {len(curves)} seeds)")
            ax.fill_between(grid, mean - sd, mean + sd, color=color, alpha=0.2, lw=0)
    late = grid >= args.seconds / 4  # the zoom: the last three quarters of the budget
    low = min(float((stats[a]["mean"] - stats[a]["sd"])[late].min()) for a in arms)
    high = max(float((stats[a]["mean"] + stats[a]["sd"])[late].max()) for a in arms)
    zoom.set_xlim(args.seconds / 4, args.seconds)
    zoom.set_ylim(low - 0.01, high + 0.01)
    full.set_ylim(bottom=0)
    for ax, title in ((full, "from 0"), (zoom, "zoomed on the last three quarters")):
        ax.set_xlabel("CPU-seconds of training and evaluation")
        ax.set_ylabel("hypervolume of the top-rung front")
        ax.set_title(title)
        ax.grid(True, alpha=0.3)
    full.legend(loc="lower right")
    cfg = arm_config("ladder", data, args.seeds[0])
    ladder = cfg.fidelity
    assert ladder is not None
    fig.suptitle(
        f"tiny, {Path(data).name}: ladder {list(ladder.rungs)} vs {ladder.rungs[-1]} steps"
    )
    fig.savefig(args.out.with_suffix(".png"), dpi=150)

    single_final = float(stats["single"]["mean"][-1])
    reach = first_reaching(grid, stats["ladder"]["mean"], single_final)
    rows = []
    for arm in arms:
        mean, sd = stats[arm]["mean"], stats[arm]["sd"]
        for frac in (0.25, 0.5, 0.75, 1.0):
            i = round(frac * (len(grid) - 1))
            rows.append(f"| {arm} | {grid[i]:.0f} | {mean[i]:.4f} ± {sd[i]:.4f} |")
    runs = []
    for r in results:
        last = r["curve"][-1]
        runs.append(
            f"| {r['arm']} | {r['seed']} | {len(r['curve'])} | {last[0]:.0f} | {last[1]:.4f} "
            f"| {last[2]} |"
        )
    verdict = (
        f"the ladder reaches it after {reach:.0f} CPU-seconds, {reach / args.seconds:.0%} of the "
        f"budget ({'meets' if reach <= args.seconds / 2 else 'misses'} the goal of at most half)"
        if reach is not None
        else "the ladder does not reach it within the budget (misses the goal)"
    )
    for arm, what in OTHERS.items():
        if arm in stats:
            other = first_reaching(grid, stats[arm]["mean"], single_final)
            verdict += (
                f"; {what} reaches it after {other:.0f} CPU-seconds"
                if other is not None
                else f"; {what} does not reach it"
            )
    lines = [
        "# Is multi-fidelity worth it?",
        "",
        "Produced by `benchmarks/multifidelity.py`; rerun it to reproduce. Commands (each "
        "group of searches with the same seeds; a later one adds `--merge "
        "reports/multifidelity.json` to keep the earlier results):",
        "",
        *commands(args, results),
        "",
        *machine_lines(1, load=False),  # the load at the start is this invocation's, below
        f"- one thread per evaluation, {args.workers} searches at a time",
        (
            f"- this invocation: load average {load:.2f} at the start, {wall / 60:.0f} min of "
            "wall time"
            if args.arms
            else f"- this invocation ran no search: it rewrote the report from `{args.merge}` "
            "and the runs' directories"
        )
        + " (each run's own dates are in its run.json)",
        "",
        f"All searches: the `tiny` space, population {cfg.population}, "
        f"`{json.dumps(cfg.budget)}` on `{Path(data).name}`. **ladder**: rungs "
        f"{list(ladder.rungs)} steps, promoting {ladder.promote:.0%} of each rung, promoted "
        "genomes continuing from the rung below, NSGA-II ranking genomes of different rungs by "
        f"the `{ladder.compare}` rule. **no-eviction**: the same with the `no-eviction` rule "
        "(`hrfevo.fidelity`). **single**: NSGA-II, every genome "
        f"trained for {ladder.rungs[-1]} steps. "
        + (MOASHA if "random+ladder" in arms else "")
        + "Each search ran until its evaluations had used "
        f"{args.seconds:g} CPU-seconds (the generation that crossed the line finishes).",
        "",
        "Seeds: "
        + "; ".join(
            f"{arm} {', '.join(str(r['seed']) for r in results if r['arm'] == arm)}" for arm in arms
        )
        + (
            f" (runs of earlier invocations kept in `{args.merge}` were merged, their curves "
            "measured again from their run directories)"
            if args.merge
            else ""
        )
        + ".",
        "",
        "## Result",
        "",
        f"The single-fidelity search ends at a mean hypervolume of {single_final:.4f}; {verdict}.",
        "",
        *why(results, stats, arms),
        *rules(stats),
        "",
        "| search | CPU-seconds | top-rung hypervolume (mean ± sd over seeds) |",
        "|---|---:|---:|",
        *rows,
        "",
        "![hypervolume against CPU-seconds](multifidelity.png)",
        "",
        "## Runs",
        "",
        "| search | seed | generations | CPU-seconds | final hypervolume | top-rung genomes |",
        "|---|---:|---:|---:|---:|---:|",
        *runs,
        "",
    ]
    args.out.write_text("\n".join(lines))


if __name__ == "__main__":
    main()
