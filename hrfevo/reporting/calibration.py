"""`hrfevo calibrate`'s outputs in words: calibration.md, and the lines it prints.

Everything here reads calibration.json's content (`hrfevo.calibrate.calibrate` returns it), so a
calibration measured earlier is summarised again without training anything.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, TextIO

CALIBRATION_JSON, CALIBRATION_MD = "calibration.json", "calibration.md"  # what it writes


def _f(v: float | None, spec: str = ".4f") -> str:
    return "–" if v is None else format(v, spec)


def _place(rank: int | None, n: int) -> str:
    return "–" if rank is None else f"{rank}/{n}"


def verdict(c: dict[str, Any]) -> str:
    """One sentence: how the top rung (what the front uses) ranks genomes against the reference."""
    top = c["rungs"][-1]
    what = f"{c['mult']}× training ({c['reference_steps']} steps)"
    if top["kendall_tau"] is None:
        return f"The proxy's ranking could not be compared with {what}: n = {top['n']}."
    name = "the proxy" if len(c["rungs"]) == 1 else f"the top rung ({top['steps']} steps)"
    return (
        f"{name[0].upper()}{name[1:]} ranks genomes as {what} does with Kendall τ = "
        f"{top['kendall_tau']:.2f} (n = {top['n']})."
    )


def markdown(c: dict[str, Any]) -> str:
    """calibration.md: how to reproduce it, where it ran, and the tables behind the verdict."""
    n, m = c["genomes"], c["machine"]
    rungs = c["rungs"]
    head = " | ".join(f"rung {r['rung']} ({r['steps']} steps)" for r in rungs)
    lines = [
        "# Proxy calibration",
        "",
        verdict(c),
        "",
        f"    {c['command']}",
        "",
        f"Driver {m['host']} ({m.get('cpu', 'CPU')}, {m['cpus']} cores; {m['platform']}); "
        f"evaluations on "
        f"{', '.join(m['workers'])}. hrfevo {c['versions']['hrfevo']}, torch "
        f"{c['versions']['torch']}. Training time: proxy {c['seconds']['proxy']:.1f} s, "
        f"reference {c['seconds']['reference']:.1f} s.",
        "",
        f"| genome | summary | {head} | reference ({c['reference_steps']} steps) |",
        "|---|---|" + "---:|" * (len(rungs) + 1),
    ]
    for row in c["rows"]:
        key = row["key"] + (" (baseline)" if row["baseline"] else "")
        losses = " | ".join(_f(v) for v in [*row["proxy"], row["reference"]])
        lines.append(f"| {key} | {row['summary']} | {losses} |")
    lines += [
        "",
        f"Validation loss (nats/token); rank 1 is the lowest loss, of {n}.",
        "",
        "| rung | steps | Kendall τ | Spearman ρ | baseline rank | n |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rungs:
        lines.append(
            f"| {r['rung']} | {r['steps']} | {_f(r['kendall_tau'], '.3f')} | "
            f"{_f(r['spearman'], '.3f')} | {_place(r['baseline_rank'], n)} | {r['n']} |"
        )
    lines.append(
        f"| reference | {c['reference_steps']} | | | {_place(c['baseline_rank_reference'], n)} | |"
    )
    excluded = sorted({k for r in rungs for k in r["excluded"]})
    if excluded:
        lines += ["", f"Left out (failed or diverged): {', '.join(excluded)}."]
    return "\n".join(lines) + "\n"


def summary(c: dict[str, Any], out: Path, stream: TextIO | None = None) -> None:
    """A few lines on stdout: τ per rung, the baseline's ranks, where the files are."""
    stream = stream if stream is not None else sys.stdout
    n = c["genomes"]
    print(f"calibrated {n} genomes against {c['mult']}× training:", file=stream)
    for r in c["rungs"]:
        print(
            f"  rung {r['rung']} ({r['steps']} steps): Kendall τ {_f(r['kendall_tau'], '.3f')}, "
            f"Spearman ρ {_f(r['spearman'], '.3f')}, baseline rank "
            f"{_place(r['baseline_rank'], n)} (n = {r['n']})",
            file=stream,
        )
    print(
        f"  reference ({c['reference_steps']} steps): baseline rank "
        f"{_place(c['baseline_rank_reference'], n)}",
        file=stream,
    )
    print(f"{verdict(c)}\n-> {out / CALIBRATION_JSON}, {out / CALIBRATION_MD}", file=stream)
