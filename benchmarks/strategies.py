"""Which search strategy finds the better front? Writes reports/strategies.md and .png.

    python -m benchmarks.strategies                 # the report's settings (about an hour)
    python -m benchmarks.strategies --quick         # a smoke-sized check of the script

Every strategy searches the same space with the same evaluator, one genome at a time on one
core, two searches side by side:
- random, nsga2 (HRFEvo's), tpe, optuna-nsga2 and optuna-gp: population 16, every genome
  trained once for `--steps` steps, until at least `--evaluations` genomes are evaluated;
- nsga2+ladder: NSGA-II through a fidelity ladder whose top rung is `--steps` steps, given the
  CPU-seconds the single-fidelity NSGA-II runs used on average.
Each search runs through the benchmarks' harness (`harness.run_arm`) to its stop, and its cost
is counted on the one clock (`hrfevo.stop.cpu_seconds`): the CPU-seconds of its evaluations'
training and scoring, from the journal, as every benchmark counts them. The strategy's own work
(the GP's model fitting is not free) is on no strategy's clock: it shows in the wall time.
Hypervolume is measured on the run's axes (log perplexity and log FLOPs per token,
`SpectralProblem.hv_point`), on genomes with a result at the evaluator's budget.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import REPO, REPORTS, machine_lines
from benchmarks.harness import run_arm
from hrfevo import run
from hrfevo.config import RunConfig, resolve
from hrfevo.fidelity import Fidelity
from hrfevo.pareto import front, hypervolume
from hrfevo.reporting.curves import curve
from hrfevo.stop import MAX_GENERATIONS, Stop, cpu_seconds

SINGLE = ("random", "nsga2", "tpe", "optuna-nsga2", "optuna-gp")
LADDER = "nsga2+ladder"
COLORS = {
    "random": "#7f7f7f",
    "nsga2": "#d62728",
    "tpe": "#1f77b4",
    "optuna-nsga2": "#ff7f0e",
    "optuna-gp": "#9467bd",
    LADDER: "#2ca02c",
}


@dataclasses.dataclass(frozen=True)
class Settings:
    data: str
    steps: int
    population: int
    evaluations: int
    preset: str = "tiny"


def arm_config(arm: str, seed: int, s: Settings) -> RunConfig:
    """The run of one arm: a strategy name, optionally with its own population ("nsga2@8")."""
    arm, _, mu = arm.partition("@")
    population = int(mu) if mu else s.population
    flags = {"data": s.data, "seed": seed, "executor": "serial", "population": population}
    cfg = resolve(s.preset, None, flags)
    budget = cfg.budget | {"steps": s.steps, "tokens": None}
    if arm == LADDER:
        rungs = [max(1, s.steps // 3), s.steps]
        warmup = cfg.budget.get("warmup_steps")
        if warmup is not None:  # the warm-up must end before the first rung's decay
            budget["warmup_steps"] = min(warmup, max(1, rungs[0] // 10))
        fidelity = Fidelity(tuple(rungs), promote=1 / 3)
        return dataclasses.replace(cfg, strategy="nsga2", budget=budget, fidelity=fidelity)
    return dataclasses.replace(cfg, strategy=arm, budget=budget, fidelity=None)


def arm_name(text: str) -> str:
    name, _, mu = text.partition("@")
    if name not in (*SINGLE, LADDER) or (mu and not mu.isdigit()):
        raise argparse.ArgumentTypeError(f"{text!r}: choose from {', '.join([*SINGLE, LADDER])}")
    return text


def search(job: tuple[str, int, Settings, float | None, Path]) -> dict[str, Any]:
    """One arm and seed, until enough evaluations (or, given `seconds`, CPU-seconds)."""
    arm, seed, settings, seconds, out = job
    if seconds is None:
        stop = Stop(MAX_GENERATIONS, evaluations=settings.evaluations)
    else:
        stop = Stop(MAX_GENERATIONS, cpu_seconds=seconds)
    return measure(arm, seed, run_arm(arm_config(arm, seed, settings), out, stop))


def measure(arm: str, seed: int, out: Path) -> dict[str, Any]:
    """The run's hypervolume after each evaluation, and after each generation against the
    CPU-seconds spent so far (`cpu_seconds` of every rung's evaluations)."""
    view = run.RunView(out)
    problem, records = view.problem(), view.records()
    top = [r for r in records if r.get("rung", 0) == problem.rungs - 1]
    by_evaluations = curve(top, problem)["hypervolume"].tolist()
    by_seconds = [
        (
            cpu_seconds(r for r in records if r["generation"] <= g),
            hypervolume(front([r for r in top if r["generation"] <= g], problem), problem),
        )
        for g in range(view.generation)
    ]
    return {
        "arm": arm,
        "seed": seed,
        "dir": str(out),
        "genomes": len({r["key"] for r in records}),
        "by_evaluations": by_evaluations,
        "by_seconds": by_seconds,
        # the cheap end of the final front: hypervolume rewards a front's extremes
        "cheapest": min((r["metrics"]["flops_per_token"] for r in front(top, problem)), default=0),
    }


def at_seconds(curve: list[list[float]], seconds: float) -> float:
    """The hypervolume once `seconds` were spent (NaN before the first generation ended)."""
    reached = [hv for spent, hv in curve if spent <= seconds]
    return reached[-1] if reached else float("nan")


def needed(curve: list[float], target: float) -> int | None:
    """Evaluations a run needed to reach `target` (None: it never did)."""
    hit = [n for n, hv in enumerate(curve, 1) if hv >= target - 1e-12]
    return hit[0] if hit else None


def main(argv: list[str] | None = None) -> Path:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default="builtin")
    p.add_argument("--steps", type=int, default=360, help="training steps per evaluation")
    p.add_argument("--evaluations", type=int, default=128)
    p.add_argument("--population", type=int, default=16)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument(
        "--arms",
        nargs="+",
        default=[*SINGLE, LADDER],
        type=arm_name,
        help=f"{', '.join([*SINGLE, LADDER])}; NAME@MU runs NAME with population MU",
    )
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--work", type=Path, default=Path("populations/strategies"))
    p.add_argument("--out", type=Path, default=REPORTS / "strategies.md")
    p.add_argument(
        "--calibration",
        type=Path,
        default=REPORTS / "calibration" / "builtin" / "calibration.json",
        help="`hrfevo calibrate` output for this corpus: how well --steps ranks genomes",
    )
    p.add_argument("--quick", action="store_true", help="smoke-sized: seconds, not an hour")
    args = p.parse_args(argv)
    settings = Settings(run.absolute_data(args.data), args.steps, args.population, args.evaluations)
    if args.quick:
        settings = Settings(settings.data, 6, 4, 8, preset="smoke")
    tag = f"{settings.preset}-{Path(settings.data).name}-{settings.steps}"
    load = machine_lines(1)
    started = time.time()
    single = [a for a in args.arms if a != LADDER]
    # the slowest strategy first, so that it does not run alone at the end
    single.sort(key=lambda a: a != "optuna-gp")
    jobs = [
        (a, s, settings, None, args.work / f"{tag}-{a}-s{s}") for a in single for s in args.seeds
    ]
    with ProcessPoolExecutor(args.workers) as pool:
        results = list(pool.map(search, jobs))
        if LADDER in args.arms:
            nsga2 = [r["by_seconds"][-1][0] for r in results if r["arm"] == "nsga2"]
            if not nsga2:
                raise SystemExit("the nsga2+ladder arm needs the nsga2 arm's CPU-seconds")
            seconds = float(np.mean(nsga2))
            ladder = [
                (LADDER, s, settings, seconds, args.work / f"{tag}-{LADDER}-s{s}")
                for s in args.seeds
            ]
            results += list(pool.map(search, ladder))
    args.out.with_suffix(".json").write_text(json.dumps(results, indent=1) + "\n")
    write_report(args, settings, results, load, time.time() - started)
    print(f"wrote {args.out}", file=sys.stderr)
    return args.out


def summary(results: list[dict[str, Any]], evaluations: int) -> dict[str, dict[Any, Any]]:
    """Per arm: hypervolume at 32, 64 and `evaluations` evaluations, mean and sd over seeds."""
    out: dict[str, dict[Any, Any]] = {}
    for arm in dict.fromkeys(r["arm"] for r in results):
        runs = [r for r in results if r["arm"] == arm]
        row: dict[Any, Any] = {"runs": runs}
        for n in (32, 64, evaluations):
            hv = [r["by_evaluations"][min(n, len(r["by_evaluations"])) - 1] for r in runs]
            row[n] = (float(np.mean(hv)), float(np.std(hv)))
        final = [r["by_seconds"][-1][1] for r in runs]
        row["final"] = (float(np.mean(final)), float(np.std(final)))
        row["seconds"] = float(np.mean([r["by_seconds"][-1][0] for r in runs]))
        out[arm] = row
    return out


def span(results: list[dict[str, Any]]) -> str:
    """When the searches ran: from the first run directory's creation to the last result."""
    dirs = [Path(r["dir"]) for r in results]
    first = min(json.loads((d / "run.json").read_text())["created"] for d in dirs)
    last = max((d / "journal.jsonl").stat().st_mtime for d in dirs)
    end = time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(last))
    return f"from {first} to {end}"


def trust(path: Path, s: Settings) -> str:
    """What `hrfevo calibrate` measured for this evaluator's budget, as a sentence."""
    if not path.is_file():
        return f"No `hrfevo calibrate` output at {path}: this evaluator's ranking is unmeasured."
    cal = json.loads(path.read_text())
    rung = next((r for r in cal["rungs"] if r["steps"] == s.steps), None)
    if rung is None or cal["data"]["spec"] not in (s.data, Path(s.data).name):
        return f"`{path.name}` has no calibration of {s.steps} steps on this corpus."
    return (
        f"Why this evaluator: `{cal['command']}` ranks {cal['genomes']} genomes after "
        f"{s.steps} steps as {cal['reference_steps']} steps do with Kendall τ "
        f"{rung['kendall_tau']:.2f} and Spearman ρ {rung['spearman']:.2f} "
        f"(`{path.relative_to(REPO) if path.is_relative_to(REPO) else path}`), the best "
        f"ranking affordable for {s.evaluations} genomes × every arm and seed on 2 cores "
        f"(960 steps rank better, τ {cal['kendall_tau']:.2f}, at 2.7× the cost)."
    )


def verdict(stats: dict[str, dict[Any, Any]], evaluations: int) -> list[str]:
    """Which strategy to use, from the numbers. The goal: the default (nsga2) reaches random
    search's final hypervolume within half the evaluations."""
    single = {a: row for a, row in stats.items() if a != LADDER}
    ranked = sorted(single, key=lambda a: -single[a][evaluations][0])
    out = [
        f"- Hypervolume at {evaluations} evaluations, best first: "
        + ", ".join(
            f"{a} {single[a][evaluations][0]:.4f} ± {single[a][evaluations][1]:.4f}" for a in ranked
        )
        + f". The spread between strategies is {spread(single, evaluations)} the seeds' sd."
    ]
    if "random" in single:
        target = single["random"][evaluations][0]
        for arm in (a for a in ranked if a.partition("@")[0] == "nsga2"):
            out.append(goal(arm, single[arm], single["random"], evaluations))
    if LADDER in stats and "nsga2" in stats:
        ladder, flat = stats[LADDER]["final"], stats["nsga2"]["final"]
        out.append(
            f"- At equal CPU-seconds ({stats[LADDER]['seconds']:.0f}), NSGA-II through the "
            f"fidelity ladder ends at {ladder[0]:.4f} ± {ladder[1]:.4f}, against "
            f"{flat[0]:.4f} ± {flat[1]:.4f} with one fidelity and random search's "
            f"{target:.4f} after {single['random']['seconds']:.0f} CPU-seconds: it trains "
            f"{np.mean([r['genomes'] for r in stats[LADDER]['runs']]):.0f} genomes at rung 0 "
            f"for the cost of {np.mean([r['genomes'] for r in stats['nsga2']['runs']]):.0f}."
        )
    cheap = ", ".join(
        f"{a} {np.mean([r['cheapest'] for r in row['runs']]):,.0f}" for a, row in stats.items()
    )
    out.append(f"- The cheapest genome on the final front, FLOPs per token (mean): {cheap}.")
    return out


def spread(single: dict[str, dict[Any, Any]], evaluations: int) -> str:
    means = [row[evaluations][0] for row in single.values()]
    noise = float(np.mean([row[evaluations][1] for row in single.values()]))
    return "within" if max(means) - min(means) <= noise else "larger than"


def goal(arm: str, row: dict[Any, Any], random: dict[Any, Any], evaluations: int) -> str:
    """Evaluations `arm` needs to reach random search's final hypervolume: the seeds' mean,
    and each seed's own random run (the two share generation 0)."""
    target = random[evaluations][0]
    pooled = [needed(r["by_evaluations"], target) for r in row["runs"]]
    own = {r["seed"]: r["by_evaluations"][evaluations - 1] for r in random["runs"]}
    paired = [needed(r["by_evaluations"], own[r["seed"]]) for r in row["runs"] if r["seed"] in own]
    met = all(c is not None and c <= evaluations // 2 for c in pooled)

    def show(counts: list[int | None]) -> str:
        return ", ".join("never" if c is None else str(c) for c in counts)

    return (
        f"- {arm} reaches random search's mean final hypervolume ({target:.4f}) after "
        f"{show(pooled)} evaluations (one per seed), and each seed's own random run's after "
        f"{show(paired)}: the goal of at most {evaluations // 2} is "
        f"{'met' if met else 'missed'}."
    )


def write_report(
    args: argparse.Namespace,
    s: Settings,
    results: list[dict[str, Any]],
    machine: list[str],
    wall: float,
) -> None:
    stats = summary(results, s.evaluations)
    target = stats["random"][s.evaluations][0] if "random" in stats else None
    lines = [
        "# Which search strategy finds the better front?",
        "",
        "Produced by `benchmarks/strategies.py`; rerun it to reproduce:",
        "",
        f"    python -m benchmarks.strategies --data {args.data} --steps {s.steps} "
        f"--evaluations {s.evaluations} --population {s.population} "
        f"--seeds {' '.join(map(str, args.seeds))} --arms {' '.join(args.arms)}",
        "",
        *machine,
        f"- the searches ran {span(results)}, {args.workers} at a time, one thread each "
        f"(this invocation: {wall / 60:.0f} min; finished searches are measured, not rerun)",
        "",
        f"Space: the `{s.preset}` preset's. Evaluator: every genome trained for {s.steps} steps "
        f"(WSD, the preset's learning rate) on `{Path(s.data).name}`, scored on the validation "
        f"split. Population {s.population} (an arm NAME@MU: MU); each search ran until it had "
        "evaluated at least "
        f"{s.evaluations} distinct genomes (a genome proposed twice is evaluated once). "
        "Hypervolume on the run's axes: log-perplexity over ln V and log10 FLOPs per token, "
        "reference point (1, 9): uniform guessing and 1 GFLOP per token. CPU-seconds: the "
        "evaluations' own training and scoring time, summed from the journal "
        "(`hrfevo.stop.cpu_seconds`, the one clock of every benchmark); the strategies' own work "
        "(the GP's fitting) is not counted.",
        "",
        trust(args.calibration, s),
        "",
        "## Verdict",
        "",
        *verdict(stats, s.evaluations),
        "",
        "## Numbers",
        "",
        "| strategy | HV at 32 evals | HV at 64 | HV at "
        f"{s.evaluations} | evals to reach random's HV at {s.evaluations} | CPU-seconds |",
        "|---|---:|---:|---:|---|---:|",
    ]
    for arm, row in stats.items():
        if arm == LADDER:
            continue
        reach = "—"
        if target is not None:
            counts = [needed(r["by_evaluations"], target) for r in row["runs"]]
            reach = ", ".join("not reached" if c is None else str(c) for c in counts)
        cells = [f"{row[n][0]:.4f} ± {row[n][1]:.4f}" for n in (32, 64, s.evaluations)]
        lines.append(f"| {arm} | {' | '.join(cells)} | {reach} | {row['seconds']:.0f} |")
    if LADDER in stats:
        row = stats[LADDER]
        lines += [
            "",
            f"At equal CPU-seconds ({row['seconds']:.0f}, the single-fidelity NSGA-II runs' mean): "
            f"NSGA-II through the ladder [{s.steps // 3}, {s.steps}] steps ends at "
            f"{row['final'][0]:.4f} ± {row['final'][1]:.4f}, against "
            f"{stats['nsga2']['final'][0]:.4f} ± {stats['nsga2']['final'][1]:.4f} for NSGA-II "
            "with one fidelity.",
        ]
    lines += ["", "![hypervolume against evaluations and CPU-seconds](strategies.png)", ""]
    args.out.write_text("\n".join(lines) + "\n")
    plot(args.out.with_suffix(".png"), stats, s.evaluations)


def plot(path: Path, stats: dict[str, dict[Any, Any]], evaluations: int) -> None:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 4.5), layout="constrained")
    by_n, by_s = fig.subplots(1, 2, sharey=True)
    horizon = max(r["by_seconds"][-1][0] for row in stats.values() for r in row["runs"])
    grid = np.linspace(0, horizon, 200)
    for arm, row in stats.items():
        color, runs = COLORS.get(arm, "#8c564b"), row["runs"]
        if arm != LADDER:
            n = min(len(r["by_evaluations"]) for r in runs)
            hv = np.array([r["by_evaluations"][:n] for r in runs])
            x = np.arange(1, n + 1)
            by_n.plot(x, hv.mean(0), color=color, label=arm)
            by_n.fill_between(
                x, hv.mean(0) - hv.std(0), hv.mean(0) + hv.std(0), color=color, alpha=0.15, lw=0
            )
        hv = np.array([[at_seconds(r["by_seconds"], t) for t in grid] for r in runs])
        by_s.plot(grid, hv.mean(0), color=color, label=arm)
        by_s.fill_between(
            grid, hv.mean(0) - hv.std(0), hv.mean(0) + hv.std(0), color=color, alpha=0.15, lw=0
        )
    by_n.axvline(evaluations // 2, color="k", lw=0.6, ls=":")
    by_n.set_xlabel("genomes evaluated")
    by_s.set_xlabel("CPU-seconds of training and evaluation (the journal's)")
    for ax in (by_n, by_s):
        ax.set_ylabel("hypervolume, mean ± sd over seeds (axis not from 0)")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    fig.savefig(path, dpi=120)


if __name__ == "__main__":
    main()
