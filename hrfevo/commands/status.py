"""`hrfevo status`: where a run stands (generation, evaluations, failures, front, hypervolume,
and with a fidelity ladder how well each rung ranks genomes as the rungs above do)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def add_parser(sub: Any) -> None:
    p = sub.add_parser("status", help="summarise a run", description=__doc__)
    p.add_argument("run_dir", type=Path, metavar="DIR")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from hrfevo.pareto import fidelity_log, hypervolume
    from hrfevo.run import RunView

    view = RunView(args.run_dir)
    problem, records, front = view.problem(), view.records(), view.front()
    failures = sum(r["status"] != "ok" for r in records)
    print(f"run          {args.run_dir}")
    print(f"generation   {view.generation}/{view.target}")
    print(f"evaluations  {len(records)} ({failures} failed)")
    if problem.rungs > 1:
        counts = [sum(r.get("rung", 0) == n for r in records) for n in range(problem.rungs)]
        print(f"rungs        {' / '.join(map(str, counts))} evaluations at rungs 0, 1, ...")
        log = fidelity_log(records, problem, 1 + max(r["generation"] for r in records))
        for row in log[log["generation"] == log["generation"].max()].itertuples():
            tau = f"Kendall τ {row.kendall_tau:.2f}"
            print(f"fidelity     rung {row.rung_from} vs {row.rung_to}: {tau} (n = {row.n})")
    print(f"front        {len(front)} genomes")
    print(f"hypervolume  {hypervolume(front, problem):.4f}")
    names = problem.objective_names
    for r in sorted(front, key=lambda r: r["metrics"][names[0]]):
        values = "  ".join(f"{n} {r['metrics'][n]:<10.4g}" for n in names)
        rung = f"  rung {r.get('rung', 0)}" if problem.rungs > 1 else ""
        print(f"  {r['key']}  {values}{rung}  {problem.describe(r['candidate'])}")
    return 0
