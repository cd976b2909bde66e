"""`hrfevo status`: where a run stands (generation, evaluations, failures, front, hypervolume)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def add_parser(sub: Any) -> None:
    p = sub.add_parser("status", help="summarise a run", description=__doc__)
    p.add_argument("run_dir", type=Path, metavar="DIR")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from hrfevo.pareto import hypervolume
    from hrfevo.run import RunView

    view = RunView(args.run_dir)
    problem, records, front = view.problem(), view.records(), view.front()
    failures = sum(r["status"] != "ok" for r in records)
    print(f"run          {args.run_dir}")
    print(f"generation   {view.generation}/{view.target}")
    print(f"evaluations  {len(records)} ({failures} failed)")
    print(f"front        {len(front)} genomes")
    print(f"hypervolume  {hypervolume(front, problem):.4f}")
    names = problem.objective_names
    for r in sorted(front, key=lambda r: r["metrics"][names[0]]):
        values = "  ".join(f"{n} {r['metrics'][n]:<10.4g}" for n in names)
        print(f"  {r['key']}  {values}  {problem.describe(r['candidate'])}")
    return 0
