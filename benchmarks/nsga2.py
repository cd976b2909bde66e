"""NSGA-II's mating and variation against pymoo's, and the search loop's own cost. Writes
reports/nsga2.md, reports/nsga2.json and reports/nsga2.png.

    pip install -e '.[bench]'      # pymoo, for its arm (the benchmark says so if it is missing)
    python -m benchmarks.nsga2     # about 20 minutes on one core

On ZDT1, ZDT2, ZDT3 (30 variables) and DTLZ2 (2 objectives, 11 variables), μ = 100 and 100
generations, 20 seeds, each arm's front of everything it evaluated is read at 2,000 and 10,000
evaluations:
- its hypervolume gap: the true front's hypervolume at (11, 11) minus the front's;
- whether it lost an end of the front: no point within 0.1 of one of the true front's two
  ends (distances scaled by each objective's range along the true front).

The arms drive `hrfevo`'s strategy directly (ask, `problem.evaluate`, tell), so they measure the
algorithm, not the journal. Every proposal counts as an evaluation, clones included (the loop
would answer a clone from its journal, but it takes a place in the generation).
- old: the tournaments before issue 12, entrants drawn with replacement (`rng.integers`), μ
  pairs, one child each, every pair crossed, ηc = ηm = 20. The child is the first of the SBX
  pair that `vary` now makes: the same distribution as the old one-child SBX.
- perm, 1 child: permutation tournaments, μ pairs (each member enters four), one child each,
  the old operators: the tournaments' effect alone.
- perm, 2 children, pc × ηc: permutation tournaments (each member enters two), μ/2 pairs, both
  children kept, crossover probability pc ∈ {0.9, 1} and SBX index ηc ∈ {15, 20}; ηm = 20.
- pymoo: pymoo's NSGA2 with its defaults (SBX pc 0.9, ηc 15; PM ηm 20; duplicates eliminated),
  on the same problems (the same functions, through a wrapper that keeps every evaluation).

Then the loop's cost: a 100-generation ZDT1 run through `hrfevo.search.Search` (serial
executor, journal, checkpoint and logs), with the seconds its saves took and the seconds its
logs took, extended by one generation at each save. Against it, the "before" arm: the logs as
every save wrote them before issue 12, rewritten in full from the journal as it stood at that
save, timed by replaying the same journal through a fresh `hrfevo.pareto.Logs` at each save (a
`Logs`' first update rewrites every file from the journal).
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import moocore
import numpy as np

from benchmarks.common import REPORTS, machine_lines
from hrfevo.executors.serial import SerialExecutor
from hrfevo.pareto import Logs
from hrfevo.problems import DTLZ2, ZDT1, ZDT2, ZDT3, UnitCubeProblem
from hrfevo.problems.unit_cube import CROSSOVER_PROB, ETA_C
from hrfevo.search import Search
from hrfevo.strategies.nsga2 import NSGA2, rank_and_crowding
from hrfevo.strategy import Member

MU = 100
READS = {2000: 20, 10000: 100}  # evaluations: generations
PROBLEMS: dict[str, Callable[..., UnitCubeProblem]] = {
    "ZDT1": ZDT1,
    "ZDT2": ZDT2,
    "ZDT3": ZDT3,
    "DTLZ2": DTLZ2,
}
# Each true front's two ends, and each objective's range along it (to scale distances).
ENDS = {name: ((0.0, 1.0), (1.0, 0.0)) for name in PROBLEMS} | {
    "ZDT3": ((0.0, 1.0), (0.85183, -0.77337)),
}
SCALE = {name: (1.0, 1.0) for name in PROBLEMS} | {"ZDT3": (0.85183, 1.77337)}
TOLERANCE = 0.1  # how near an end a point must come, in scaled units
PYMOO = "pymoo defaults"


class WithReplacement(NSGA2):
    """NSGA-II before issue 12: μ pairs of tournaments whose entrants are drawn with
    replacement (so a member may meet itself, or mate with itself), one child per pair."""

    def ask(self) -> list[dict[str, Any]]:
        if not self.population:
            return self.initial()
        scores, n = rank_and_crowding(self.population), len(self.population)

        def tournament() -> Member:
            i, j = (int(x) for x in self.rng.integers(n, size=2))
            (ri, ci), (rj, cj) = scores[i], scores[j]
            return self.population[i if (ri, -ci) <= (rj, -cj) else j]

        pairs = [(tournament(), tournament()) for _ in range(self.size)]
        return [self.problem.vary(a.candidate, b.candidate, self.rng)[0] for a, b in pairs]


class OneChild(NSGA2):
    """Permutation tournaments for μ pairs (each member enters four), one child per pair."""

    def ask(self) -> list[dict[str, Any]]:
        if not self.population:
            return self.initial()
        pairs = self._parents(self.size)
        return [self.problem.vary(a.candidate, b.candidate, self.rng)[0] for a, b in pairs]


@dataclass(frozen=True)
class Arm:
    name: str
    strategy: type[NSGA2]
    crossover_prob: float
    eta_c: float


ARMS = [
    Arm("old", WithReplacement, 1.0, 20.0),
    Arm("perm, 1 child", OneChild, 1.0, 20.0),
    *(
        Arm(f"perm, 2 children, pc {pc:g}, ηc {eta:g}", NSGA2, pc, eta)
        for pc in (0.9, 1.0)
        for eta in (15.0, 20.0)
    ),
]


def run_arm(arm: Arm, problem_name: str, seed: int, generations: int) -> tuple[list[Any], int]:
    """Each generation's objectives (an array per generation), and the clones proposed."""
    problem = PROBLEMS[problem_name](crossover_prob=arm.crossover_prob, eta_c=arm.eta_c)
    strategy = arm.strategy(problem, MU, np.random.default_rng(seed))
    batches, seen, clones = [], set(), 0
    for _ in range(generations):
        candidates = strategy.ask()
        objectives = [problem.objectives(problem.evaluate(c)) for c in candidates]
        for key in map(problem.key, candidates):
            clones += key in seen
            seen.add(key)
        strategy.tell(candidates, [(o,) for o in objectives])
        batches.append(np.array(objectives))
    return batches, clones


def run_pymoo(problem_name: str, seed: int, generations: int) -> tuple[list[Any], int]:
    """pymoo's NSGA2 with its defaults; each generation's objectives, and no clones (pymoo
    removes duplicates before it evaluates)."""
    from pymoo.algorithms.moo.nsga2 import NSGA2 as PYMOO_NSGA2
    from pymoo.core.problem import Problem as PymooProblem
    from pymoo.optimize import minimize

    problem = PROBLEMS[problem_name]()
    batches: list[Any] = []

    class Wrapped(PymooProblem):
        def _evaluate(self, X: Any, out: dict[str, Any], *args: Any, **kwargs: Any) -> None:
            out["F"] = np.array([problem.f(x) for x in X])
            batches.append(out["F"])

    n_obj = len(problem.objective_names)
    wrapped = Wrapped(n_var=problem.n_dim, n_obj=n_obj, xl=0.0, xu=1.0)
    minimize(wrapped, PYMOO_NSGA2(pop_size=MU), ("n_eval", MU * generations), seed=seed)
    return batches, 0


def measure(batches: list[Any], problem_name: str) -> tuple[list[float], dict[str, bool]]:
    """The hypervolume gap after each generation, and whether the front lost an end at each
    read."""
    problem = PROBLEMS[problem_name]()
    ref, scale = np.array(problem.hv_reference), np.array(SCALE[problem_name])
    front = np.empty((0, len(ref)))
    gaps, lost = [], {}
    for g, batch in enumerate(batches, start=1):
        points = np.vstack([front, batch])
        front = points[moocore.is_nondominated(points)]
        gaps.append(problem.hv_optimum - float(moocore.hypervolume(front, ref=ref)))
        if g in READS.values():
            near = [np.min(np.linalg.norm((front - e) / scale, axis=1)) for e in ENDS[problem_name]]
            lost[str(g * MU)] = bool(max(near) > TOLERANCE)
    return gaps, lost


def _round(x: float) -> float:
    return float(f"{x:.6g}")  # for the JSON: six significant digits are plenty


def benchmark(seeds: list[int], generations: int, with_pymoo: bool) -> dict[str, Any]:
    arms: list[tuple[str, Callable[[str, int, int], tuple[list[Any], int]]]] = [
        (arm.name, functools.partial(run_arm, arm)) for arm in ARMS
    ]
    if with_pymoo:
        arms.append((PYMOO, run_pymoo))
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {}
    curves: dict[str, dict[str, list[float]]] = {}
    for name, run in arms:
        runs[name], curves[name] = {}, {}
        for problem in PROBLEMS:
            start, results, all_gaps = time.perf_counter(), [], []
            for seed in seeds:
                batches, clones = run(problem, seed, generations)
                gaps, lost = measure(batches, problem)
                all_gaps.append(gaps)
                results.append(
                    {
                        "seed": seed,
                        "gap": {str(g * MU): _round(gaps[g - 1]) for g in READS.values()},
                        "lost": lost,
                        "clones": clones,
                    }
                )
            runs[name][problem] = results
            curves[name][problem] = [_round(x) for x in np.median(all_gaps, axis=0)]
            seconds = time.perf_counter() - start
            print(f"{name:34s} {problem:6s} {seconds:6.1f} s", file=sys.stderr, flush=True)
    return {"runs": runs, "curves": curves}


# ---- the loop's cost -------------------------------------------------------------------------


def _timed(spent: dict[str, float], key: str, f: Callable[..., Any]) -> Callable[..., Any]:
    def call(*args: Any) -> Any:
        start = time.perf_counter()
        out = f(*args)
        spent[key] += time.perf_counter() - start
        return out

    return call


def rewritten_logs(run_dir: Path, records: list[Any], problem: Any, generations: int) -> float:
    """Seconds that logging the same run costs when every save rewrites each log in full from
    the journal as it stood then, as before issue 12: a fresh `Logs` per save, whose first
    update is such a rewrite."""
    done = [sum(r["generation"] < g for r in records) for g in range(generations + 1)]
    records = sorted(records, key=lambda r: r["generation"])  # so that a prefix is a generation's
    spent = 0.0
    for g in range(1, generations + 1):
        so_far = records[: done[g]]  # what the journal held at that save
        start = time.perf_counter()
        Logs(run_dir, problem).update(so_far, g)
        spent += time.perf_counter() - start
    return spent


def loop_cost(mu: int, generations: int = 100) -> dict[str, float]:
    """Seconds of a ZDT1 run through Search, of its saves (checkpoint and logs), and of its
    logs alone; then of logging the same run by rewriting the logs at every save."""
    problem = ZDT1()
    with tempfile.TemporaryDirectory() as tmp:
        strategy = NSGA2(problem, mu, np.random.default_rng(0))
        search = Search(Path(tmp), problem, strategy, SerialExecutor(problem))
        spent = {"save": 0.0, "logs": 0.0}
        search.save = _timed(spent, "save", search.save)  # type: ignore[method-assign]
        search.logs.update = _timed(spent, "logs", search.logs.update)  # type: ignore[method-assign]
        start = time.perf_counter()
        search.run(generations)
        total = time.perf_counter() - start
        before = rewritten_logs(Path(tmp), search.records(), problem, generations)
    return {"total": total, **spent, "before": before}


# ---- the report ------------------------------------------------------------------------------


def _mean_se(values: list[float]) -> tuple[float, float]:
    return float(np.mean(values)), float(np.std(values, ddof=1) / math.sqrt(len(values)))


def gaps(runs: dict[str, Any], name: str, problem: str, read: str) -> list[float]:
    return [r["gap"][read] for r in runs[name][problem]]


def ranking(runs: dict[str, Any]) -> dict[str, float]:
    """Each of our arms' mean rank (1 = smallest mean gap) over every problem and read."""
    ours = [arm.name for arm in ARMS]
    ranks: dict[str, list[int]] = {name: [] for name in ours}
    for problem in PROBLEMS:
        for read in map(str, READS):
            means = {n: np.mean(gaps(runs, n, problem, read)) for n in ours}
            for place, name in enumerate(sorted(ours, key=lambda n: means[n]), start=1):
                ranks[name].append(place)
    return {name: float(np.mean(r)) for name, r in ranks.items()}


def lost(runs: dict[str, Any], name: str, problem: str) -> int:
    """Runs that lost an end of the front by 10,000 evaluations."""
    return sum(r["lost"][str(max(READS))] for r in runs[name][problem])


def default_arm() -> str:
    """The arm the library's defaults are: two children, CROSSOVER_PROB, ETA_C."""
    return f"perm, 2 children, pc {CROSSOVER_PROB:g}, ηc {ETA_C:g}"


def versus(runs: dict[str, Any], a: str, b: str) -> list[str]:
    """A table row per problem: a's mean gap against b's at each read, `better` or `worse`
    where they differ by more than twice the standard error of the difference."""
    lines = [f"| problem | {a} against {b}, 2k | 10k | lost an end at 10k |", "|---|---|---|---:|"]
    for problem in PROBLEMS:
        cells = []
        for read in map(str, READS):
            (ma, sa), (mb, sb) = (
                _mean_se(gaps(runs, a, problem, read)),
                _mean_se(gaps(runs, b, problem, read)),
            )
            verdict = "even"
            if abs(ma - mb) > 2 * math.hypot(sa, sb):
                verdict = "**better**" if ma < mb else "**worse**"
            cells.append(f"{verdict} ({ma:.4g} vs {mb:.4g})")
        n = len(runs[a][problem])
        ends = f"{lost(runs, a, problem)}/{n} vs {lost(runs, b, problem)}/{n}"
        lines.append(f"| {problem} | {' | '.join(cells)} | {ends} |")
    return [*lines, ""]


def clone_share(runs: dict[str, Any], name: str) -> float:
    results = [r for p in PROBLEMS for r in runs[name][p]]
    return sum(r["clones"] for r in results) / (len(results) * MU * max(READS.values()))


def findings(runs: dict[str, Any]) -> list[str]:
    """One line per setting: the arms that differ in it alone, by mean rank and lost ends."""
    ranks = ranking(runs)

    def arm(children: int, pc: float, eta: float) -> str:
        return "perm, 1 child" if children == 1 else f"perm, 2 children, pc {pc:g}, ηc {eta:g}"

    def side(name: str) -> str:
        ends = sum(lost(runs, name, p) for p in PROBLEMS)
        return f"rank {ranks[name]:.2f}, {ends} lost ends, {clone_share(runs, name):.1%} clones"

    def pooled(names: list[str]) -> str:
        ends = sum(lost(runs, n, p) for n in names for p in PROBLEMS)
        rank = np.mean([ranks[n] for n in names])
        return f"mean rank {rank:.2f}, {ends} lost ends"

    return [
        f"- Tournaments alone (the old operators, one child): permutations {side(arm(1, 1, 20))}; "
        f"with replacement {side('old')}.",
        f"- Two children per pair (pc 1, ηc 20): {side(arm(2, 1, 20))}; one child "
        f"{side(arm(1, 1, 20))}.",
        f"- ηc (two children, both pc): 15 {pooled([arm(2, pc, 15) for pc in (0.9, 1)])}; "
        f"20 {pooled([arm(2, pc, 20) for pc in (0.9, 1)])}. "
        f"On ZDT2 alone: {sum(lost(runs, arm(2, pc, 15), 'ZDT2') for pc in (0.9, 1))} against "
        f"{sum(lost(runs, arm(2, pc, 20), 'ZDT2') for pc in (0.9, 1))} lost ends.",
        f"- pc (two children, both ηc): 1 {pooled([arm(2, 1, eta) for eta in (15, 20)])}, "
        f"{clone_share(runs, arm(2, 1, 15)):.1%} clones; 0.9 "
        f"{pooled([arm(2, 0.9, eta) for eta in (15, 20)])}, "
        f"{clone_share(runs, arm(2, 0.9, 15)):.1%} clones (a pair left uncrossed is two "
        "copies, and a copy that mutation misses, (1 - 1/n)^n ≈ 36% of them, is a clone).",
        "",
    ]


def tables(runs: dict[str, Any]) -> list[str]:
    lines = []
    for problem in PROBLEMS:
        lines += [
            f"### {problem}",
            "",
            "| arm | gap at 2k | gap at 10k | lost an end at 10k | clones |",
            "|---|---:|---:|---:|---:|",
        ]
        for name, by_problem in runs.items():
            results = by_problem[problem]
            cells = []
            for read in map(str, READS):
                mean, se = _mean_se(gaps(runs, name, problem, read))
                cells.append(f"{mean:.4f} ± {se:.4f}")
            cells.append(f"{lost(runs, name, problem)}/{len(results)}")
            clones = sum(r["clones"] for r in results) / (len(results) * MU * max(READS.values()))
            bold = "**" if name == default_arm() else ""
            lines.append(f"| {bold}{name}{bold} | {' | '.join(cells)} | {clones:.1%} |")
        lines.append("")
    return lines


def figure(curves: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(PROBLEMS), figsize=(4 * len(PROBLEMS), 3.4))
    for ax, problem in zip(axes, PROBLEMS, strict=True):
        for name in ("old", default_arm(), PYMOO):
            if name in curves:
                median = curves[name][problem]
                ax.semilogy(MU * np.arange(1, len(median) + 1), median, label=name)
        ax.set(title=problem, xlabel="evaluations", ylabel="hypervolume gap (median)")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def loop_table(cost: dict[str, Any]) -> list[str]:
    lines = [
        "| μ | run | saves (checkpoint and logs) | logs, extended | logs, rewritten (before) |",
        "|---:|---:|---:|---:|---:|",
    ]
    for mu, c in cost.items():
        share = c["before"] / (c["total"] - c["logs"] + c["before"])  # the run, logged the old way
        before = f"{c['before']:.2f} s ({share:.0%} of the run)"
        lines.append(
            f"| {mu} | {c['total']:.1f} s | {c['save']:.2f} s | "
            f"{c['logs']:.2f} s ({c['logs'] / c['total']:.1%} of the run) | {before} |"
        )
    return [*lines, ""]


def report(results: dict[str, Any], command: str) -> str:
    runs, meta = results["runs"], results["meta"]
    ranks = ranking(runs)
    seeds, total = meta["seeds"], len(meta["seeds"]) * len(PROBLEMS)
    lines = [
        "# NSGA-II: mating, variation, and the loop's cost",
        "",
        f"Produced by `benchmarks/nsga2.py`; rerun it to reproduce: `{command}` "
        f"({meta['minutes']:.0f} min of wall time).",
        "",
        *meta["machine"],
        "",
        f"μ = {MU}, {len(seeds)} seeds ({seeds[0]}–{seeds[-1]}), every arm of one seed starting "
        "from the same random population. The gap is the true front's hypervolume at (11, 11) "
        "minus that of the front of everything evaluated (mean ± standard error over seeds); an "
        f"end is lost when no point of that front comes within {TOLERANCE} of it (at 2,000 "
        "evaluations no arm's ZDT front is near the true front anywhere, so only 10,000 is "
        "shown). See the script's docstring for the arms.",
        "",
    ]
    if not meta["pymoo"]:
        lines += [
            "**pymoo was not installed: its arm is missing** (`pip install -e '.[bench]'`)",
            "",
        ]
    lines += [
        "## Ranking",
        "",
        "Mean rank of each of our arms by mean gap, over the 4 problems × 2 reads (1 = best):",
        "",
        "| arm | mean rank | lost an end at 10k (all problems) |",
        "|---|---:|---:|",
    ]
    for name in [*sorted(ranks, key=lambda n: ranks[n]), *([PYMOO] if PYMOO in runs else [])]:
        rank = f"{ranks[name]:.2f}" if name in ranks else "–"
        lost_all = sum(lost(runs, name, p) for p in PROBLEMS)
        lines.append(f"| {name} | {rank} | {lost_all}/{total} |")
    best = min(ranks, key=lambda n: ranks[n])
    lines += [
        "",
        "Each setting against the arms that differ from it in that setting alone (lost ends "
        f"at 10k, of {total} runs per arm, summed over the two arms where two are pooled; "
        "clones: proposals equal to an earlier one):",
        "",
        *findings(runs),
        f"The library's defaults (in bold below) are `{default_arm()}`: "
        "`hrfevo.problems.unit_cube`'s CROSSOVER_PROB and ETA_C, and NSGA2's two children"
        + (" — the best mean rank." if best == default_arm() else f"; `{best}` ranks best."),
        "Against the old settings and pymoo's, by mean gap: **better** or **worse** where the "
        "means differ by more than twice the standard error of their difference, else even.",
        "",
        *versus(runs, default_arm(), "old"),
    ]
    if PYMOO in runs:
        lines += versus(runs, default_arm(), PYMOO)
    lines += [
        "## By problem",
        "",
        *tables(runs),
        "![median gap against evaluations](nsga2.png)",
        "",
        "## The loop's cost",
        "",
        "A 100-generation ZDT1 run (30 variables) through `Search` with the serial executor, in "
        "seconds: the run, its saves, and its logs, extended by one generation at each save; "
        "then (before) the same run's logs as every save wrote them before issue 12, each file "
        "rewritten in full from the journal as it stood at that save (a fresh "
        "`hrfevo.pareto.Logs` per save: its first update is such a rewrite).",
        "",
        *loop_table(results["loop_cost"]),
    ]
    return "\n".join(lines) + "\n"


def pymoo_available() -> bool:
    try:
        import pymoo  # noqa: F401
    except ImportError:
        print(
            "pymoo is not installed: the pymoo arm is left out (pip install -e '.[bench]')",
            file=sys.stderr,
        )
        return False
    return True


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20, help="seeds 0..N-1")
    parser.add_argument("--out", type=Path, default=REPORTS, help="report folder")
    parser.add_argument(
        "--loop-only",
        action="store_true",
        help="measure only the loop's cost, into <out>/nsga2.json",
    )
    args = parser.parse_args(argv)
    path = args.out / "nsga2.json"
    if args.loop_only:
        results = json.loads(path.read_text())
    else:
        start = time.perf_counter()
        with_pymoo = pymoo_available()
        results = benchmark(list(range(args.seeds)), max(READS.values()), with_pymoo)
        results["meta"] = {
            "seeds": list(range(args.seeds)),
            "pymoo": with_pymoo,
            "minutes": (time.perf_counter() - start) / 60,
            "machine": machine_lines(1),
        }
    results["loop_cost"] = {mu: loop_cost(mu) for mu in (16, MU)}
    args.out.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, separators=(",", ":")) + "\n")
    figure(results["curves"], args.out / "nsga2.png")
    command = "python -m benchmarks.nsga2" + (f" --seeds {args.seeds}" if args.seeds != 20 else "")
    (args.out / "nsga2.md").write_text(report(results, command))
    print(args.out / "nsga2.md")


if __name__ == "__main__":
    main()
