"""How noisy is a measured latency? Writes reports/latency.md.

`hrfevo run` journals each genome's generation latency (`model.speed.generation_latency`: the
median of 15 timed full-context forward passes at batch 1, after 3 untimed ones). This measures
how far that figure moves when nothing changes but the machine: for attention, Fourier and
wavelet models at two contexts, the measurement is repeated `--runs` times on the machine as
it is, and again, side by side in the same invocation, with one more busy process per core
(what a shared machine, or Ray running other evaluations, does to it).

    python -m benchmarks.latency                 # 10 runs per model and arm, contexts 64 and 512
    python -m benchmarks.latency --quick --out /tmp/latency.md   # seconds, for the tests
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import torch

from benchmarks.common import REPORTS, load_1min, machine_lines
from model import ModelConfig, SpectralLM
from model.speed import generation_latency

MODELS: dict[str, dict[str, object]] = {  # d_model 64, 2 layers: `tiny`-sized genomes
    "attention": {"mixer": "attention", "embedding": "table"},
    "fourier": {"mixer": "fourier", "embedding": "table"},
    "wavelet db4/2": {"mixer": "wavelet", "wavelet": "db4", "wavelet_levels": 2},
}


def _spin() -> None:  # pragma: no cover (runs in a child process until terminated)
    while True:
        pass


@contextmanager
def busy(processes: int) -> Iterator[None]:
    """`processes` processes that keep a core busy each, for the duration."""
    spinners = [multiprocessing.Process(target=_spin, daemon=True) for _ in range(processes)]
    for p in spinners:
        p.start()
    time.sleep(0.5)  # let the scheduler spread them
    try:
        yield
    finally:
        for p in spinners:
            p.terminate()
            p.join()


def measure(
    context: int, genes: dict[str, object], runs: int, repeats: int
) -> list[tuple[float, float]]:
    """(median, IQR) in ms of `runs` measurements, each as `hrfevo run` makes it."""
    torch.manual_seed(0)
    cfg = ModelConfig(vocab_size=256, seq_len=context, d_model=64, n_layers=2, **genes)  # type: ignore[arg-type]
    model = SpectralLM(cfg)
    out = []
    for _ in range(runs):
        median, spread = generation_latency(model, threads=1, repeats=repeats)
        out.append((1e3 * median, 1e3 * spread))
    return out


def row(name: str, context: int, arm: str, runs: list[tuple[float, float]]) -> str:
    medians = [m for m, _ in runs]
    mid = statistics.median(medians)
    iqr = statistics.median(s / m for m, s in runs)
    return (
        f"| {name} | {context} | {arm} | {mid:.3f} | {min(medians):.3f}–{max(medians):.3f} | "
        f"{max(medians) / min(medians):.2f} | {100 * iqr:.0f}% |"
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=10, help="measurements per model and arm")
    p.add_argument("--contexts", type=int, nargs="+", default=[64, 512])
    p.add_argument("--quick", action="store_true", help="2 runs of 5 passes at context 32")
    p.add_argument("--out", type=Path, default=REPORTS / "latency.md")
    args = p.parse_args()
    runs, repeats, contexts = (2, 5, [32]) if args.quick else (args.runs, 15, args.contexts)
    cores = os.cpu_count() or 1
    load = load_1min()
    header = machine_lines(threads=1)
    rows, ratios = [], []
    for context in contexts:
        for name, genes in MODELS.items():
            found = measure(context, genes, runs, repeats)
            with busy(cores):
                loaded = measure(context, genes, runs, repeats)
            busy_arm = f"+{cores} busy"
            rows += [row(name, context, "as found", found), row(name, context, busy_arm, loaded)]
            q = statistics.median(m for m, _ in found)
            ratios.append(statistics.median(m for m, _ in loaded) / q)
            shown = f"{name} at {context}: {q:.3f} ms as found, ×{ratios[-1]:.2f} busier"
            print(shown, file=sys.stderr)
    spreads = [float(r.split("|")[6]) for r in rows if "| as found |" in r]
    busy_spreads = [float(r.split("|")[6]) for r in rows if "| as found |" not in r]
    command = "python -m benchmarks.latency" + (" --quick" if args.quick else f" --runs {runs}")
    lines = [
        "# How noisy is a measured latency?",
        "",
        f"Produced by `benchmarks/latency.py`; rerun it to reproduce:\n\n    {command}",
        "",
        *header,
        "",
        "## Verdict",
        "",
        f"- On the machine as found (load {load:.2f} on {cores} cores: whatever else ran), "
        f"{runs} repeated measurements of the same model differ by at most "
        f"×{max(spreads):.2f} (the largest max/min over models and contexts). Each is the "
        f"median of {repeats} passes (their interquartile range is the last column), and the "
        "median over runs is the figure to trust.",
        f"- With {cores} more processes keeping every core busy, the median latency changes by "
        f"×{min(ratios):.2f}–×{max(ratios):.2f} and repeated measurements by up to "
        f"×{max(busy_spreads):.2f}: a run whose evaluations share their cores journals "
        "latencies that are not comparable with those of a run that had them to itself.",
        "- What to do: compare latencies only within one run, or runs on the same idle machine "
        "with one evaluation per core (`--cpus-per-eval` × the evaluations at once ≤ the "
        "cores); for a cost that does not move, use `flops_per_token` or `state_bytes`, which "
        "are exact.",
        "",
        "## Numbers",
        "",
        "Milliseconds to generate one token at batch 1 and a full context (one forward pass of "
        "the context: `SpectralLM.generate` recomputes it for every token), one thread.",
        "",
        "| model | context | machine | median of runs (ms) | min–max of runs | max/min | "
        "within-run IQR / median |",
        "|---|---:|---|---:|---:|---:|---:|",
        *rows,
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
