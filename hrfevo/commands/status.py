"""`hrfevo status`: where a run stands, and its current front.

    hrfevo status DIR

Prints the generations finished (numbered from 0, the initial population, as in pareto.csv,
hypervolume.csv and the plots), the evaluations and failures, with a fidelity ladder how well
each rung ranks genomes as the rungs above do, and the front with its hypervolume: one line
per genome, its key, objectives and genome notation (explained below). With a ladder the front
holds only results confirmed at the top rung; each rung below has its own provisional front,
listed apart and labelled.
"""

from __future__ import annotations

import argparse
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hrfevo.fidelity import Fidelity
    from hrfevo.problem import Problem


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_dir", type=Path, metavar="DIR", help="a run directory")


def epilog() -> str:
    """How to read a genome's one line (`hrfevo.genome.describe`), on a real example."""
    from hrfevo.genome import ArchGenes, Genome, WaveletGenes, describe
    from model import BAND_MIXING_CHOICES, EMBEDDING_CHOICES, MIXER_CHOICES, default_basis

    arch = ArchGenes(
        d_model=32, n_layers=2, mixers=("wavelet", "fourier"), ffn_mult=3.13, spectral_share=0.61
    )
    example = Genome(tuple(default_basis(10, 32)), WaveletGenes("sym2", 2, "sum"), arch)
    letters = ", ".join(f"{m[0].upper()} {m}" for m in MIXER_CHOICES)
    parts = describe(example).split()
    meaning = [
        "d_model, the width of the residual stream",
        f"one letter per layer, its token mixer: {letters}",
        "the wavelet (a PyWavelets name), its levels and band mixing "
        f"({' or '.join(BAND_MIXING_CHOICES)}); only with a wavelet layer",
        f"the embedding ({', '.join(EMBEDDING_CHOICES)}) and its number of harmonic basis "
        "functions (none for a table)",
        "the FFN's hidden width as a multiple of d_model, and α, its spectral share",
    ]
    lines = [
        textwrap.fill(text, 96, initial_indent=f"  {part:<14} ", subsequent_indent=" " * 17)
        for part, text in zip(parts, meaning, strict=True)
    ]
    return "genome notation, e.g. " + " ".join(parts) + ":\n" + "\n".join(lines)


def main(args: argparse.Namespace) -> int:
    from hrfevo.pareto import fidelity_log, hypervolume
    from hrfevo.pareto import provisional as provisional_fronts
    from hrfevo.run import RunView

    view = RunView(args.run_dir)
    problem, records, front = view.problem(), view.records(), view.front()
    failures = sum(r["status"] != "ok" for r in records)
    print(f"run          {args.run_dir}")
    print(f"generations  {finished(view.generation, view.target)}")
    print(f"evaluations  {len(records)} ({failures} failed)")
    if problem.rungs > 1 and records:
        counts = [sum(r.get("rung", 0) == n for r in records) for n in range(problem.rungs)]
        print(f"rungs        {' / '.join(map(str, counts))} evaluations at rungs 0, 1, ...")
        log = fidelity_log(records, problem, 1 + max(r["generation"] for r in records))
        for row in log[log["generation"] == log["generation"].max()].itertuples():
            tau = f"Kendall τ {row.kendall_tau:.2f}"
            print(f"fidelity     rung {row.rung_from} vs {row.rung_to}: {tau} (n = {row.n})")
    ladder = view.config.fidelity
    print(f"front        {front_line(front, ladder)}")
    print(f"hypervolume  {hypervolume(front, problem):.4f}")
    members(front, problem)
    if ladder:  # the rungs below, highest first: each its own front, labelled
        for rung, provisional in reversed(provisional_fronts(records, problem).items()):
            steps = f"{ladder.rungs[rung]} steps"
            if rung == 0 and ladder.forecast_from:
                steps += f", ranked by the forecast of rung {ladder.top} from two reads"
            print(f"provisional  rung {rung} ({steps}), not comparable with the front:")
            members(provisional, problem)
    return 0


def front_line(front: list[dict[str, Any]], ladder: Fidelity | None) -> str:
    """What the front holds; with a ladder, says plainly when nothing is confirmed yet."""
    if ladder is None:
        return f"{len(front)} genomes"
    top = f"the top rung (rung {ladder.top}, {ladder.rungs[-1]} steps)"
    if not front:
        return f"none yet: no genome has been trained to {top}"
    return f"{len(front)} genomes, confirmed at {top}"


def members(front: list[dict[str, Any]], problem: Problem) -> None:
    """One line per front member: key, objectives (as ranked: a forecast at rung 0 of a ladder
    that makes one), genome notation."""
    names = problem.objective_names
    for r in sorted(front, key=problem.objectives):
        ranked = zip(names, problem.objectives(r), strict=True)
        values = "  ".join(f"{n} {v:<10.4g}" for n, v in ranked)
        print(f"  {r['key']}  {values}  {problem.describe(r['candidate'])}")


def finished(done: int, target: int) -> str:
    """'2 of 4 finished (0–1)': generations are numbered from 0, the initial population."""
    which = "" if not done else f" ({done - 1})" if done == 1 else f" (0–{done - 1})"
    state = "" if done < target else ", the run is complete"
    return f"{done} of {target} finished{which}{state}"
