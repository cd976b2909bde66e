"""Does the MQAR probe separate the mixers as Zoology found? Writes reports/recall.md.

`model.recall` trains an architecture on multi-query associative recall and scores it on
held-out sequences. Zoology's result, to reproduce before trusting the probe: attention solves
MQAR at small width, while gated convolutions need width that grows with the sequence. This
trains attention, Fourier and wavelet models (2 layers, table embeddings) at each width and
sequence length, over several seeds, with the probe's settings, and tabulates the accuracy:

    python -m benchmarks.recall                                   # widths 32 64 128, T 64 256
    python -m benchmarks.recall --pairs 4 --steps 2000 --lr 3e-3  # another probe setting
    python -m benchmarks.recall --quick --out /tmp/recall.md      # seconds, for the tests

Every probe runs on one thread, `--workers` at a time (processes), so its seconds compare.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from benchmarks.common import REPORTS, machine_lines
from hrfevo.config import resolve
from hrfevo.genome import to_model_config
from hrfevo.run import baseline_genome
from model import ModelConfig, load_corpus, train
from model.recall import Probe, recall_accuracy

MIXERS: dict[str, dict[str, object]] = {
    "attention": {"mixer": "attention"},
    "fourier": {"mixer": "fourier"},
    "wavelet db2/3": {"mixer": "wavelet", "wavelet": "db2", "wavelet_levels": 3},
}
Job = tuple[str, int, int, int, Probe]  # mixer, width, seq_len, seed, probe
TOP_RUNG = "the tiny preset's top rung"  # the job that prices a probe


def probe(job: Job) -> tuple[Job, float, float]:
    """One probe: the job, its accuracy and its seconds."""
    name, width, seq_len, seed, settings = job
    if name == TOP_RUNG:
        return job, float("nan"), top_rung_seconds()
    heads = max(1, width // 16)
    genes = {"embedding": "table", "n_heads": heads, **MIXERS[name]}
    cfg = ModelConfig(vocab_size=256, seq_len=seq_len, d_model=width, n_layers=2, **genes)  # type: ignore[arg-type]
    began = time.perf_counter()
    accuracy = recall_accuracy(cfg, settings, seed=seed, threads=1)
    return job, accuracy, time.perf_counter() - began


def top_rung_seconds() -> float:
    """What the probe is priced against: the default run's transformer baseline trained for the
    top rung's steps on builtin, one thread, timed beside the probes."""
    cfg = resolve("tiny", None, {})
    assert cfg.fidelity is not None
    model_cfg = to_model_config(baseline_genome(cfg.space), cfg.space.vocab_size, cfg.space.seq_len)
    budget = dataclasses.replace(cfg.train_config(), steps=cfg.fidelity.rungs[-1], tokens=None)
    corpus = load_corpus("builtin", min_tokens=cfg.space.seq_len + 1)
    began = time.perf_counter()
    train(model_cfg, budget, corpus, progress=False)
    return time.perf_counter() - began


def probe_flags(p: argparse.ArgumentParser) -> None:
    """A flag for every probe setting, defaulting to `Probe`'s."""
    for f in dataclasses.fields(Probe):
        kind = float if f.name in ("lr", "weight_decay", "power_a") else int
        default = f.default
        p.add_argument("--" + f.name.replace("_", "-"), type=kind, default=default,
                       help=f"probe {f.name} (default {default})")  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--widths", type=int, nargs="+", default=[32, 64, 128])
    p.add_argument("--seq-lens", type=int, nargs="+", default=[64, 256])
    p.add_argument("--seeds", type=int, default=2, help="probes per cell")
    p.add_argument("--mixers", nargs="+", default=list(MIXERS), choices=list(MIXERS))
    probe_flags(p)
    p.add_argument("--workers", type=int, default=2, help="probes at a time")
    p.add_argument("--quick", action="store_true", help="toy sizes: seconds")
    p.add_argument("--out", type=Path, default=REPORTS / "recall.md")
    args = p.parse_args()
    fields = {f.name: getattr(args, f.name) for f in dataclasses.fields(Probe)}
    try:
        settings = Probe(**fields)
    except ValueError as e:
        raise SystemExit(f"recall.py: {e}") from None
    widths, seq_lens, seeds = args.widths, args.seq_lens, args.seeds
    if args.quick:
        settings = Probe(pairs=2, steps=20, batch_size=8, eval_examples=32)
        widths, seq_lens, seeds = [16], [32], 1
    for T in seq_lens:
        try:
            settings.check(settings.length(T), 256)
        except ValueError as e:
            raise SystemExit(f"recall.py: {e}") from None
    header = machine_lines(threads=1)
    jobs: list[Job] = [(m, w, T, s, settings) for T in seq_lens for w in widths
                       for m in args.mixers for s in range(seeds)]  # fmt: skip
    if not args.quick:
        jobs.insert(len(jobs) // 2, (TOP_RUNG, 0, 0, 0, settings))
    results: dict[tuple[str, int, int], list[float]] = {}
    seconds: list[float] = []
    top = float("nan")
    with ProcessPoolExecutor(args.workers) as pool:
        for (name, width, T, seed, _), accuracy, spent in pool.map(probe, jobs):
            if name == TOP_RUNG:
                top = spent
                print(f"{name}: {spent:.0f} s", file=sys.stderr)
                continue
            results.setdefault((name, width, T), []).append(accuracy)
            seconds.append(spent)
            print(f"{name} d{width} T{T} seed {seed}: {accuracy:.3f} ({spent:.0f} s)",
                  file=sys.stderr)  # fmt: skip
    tokens = settings.tokens(256)
    chance = 2 / tokens
    mean = {cell: statistics.mean(v) for cell, v in results.items()}
    rows = [
        f"| {name} | {w} | {T} | {mean[name, w, T]:.3f} | {min(v):.3f}–{max(v):.3f} |"
        for (name, w, T), v in results.items()
    ]
    flags = "--quick"
    if not args.quick:
        changed = [
            f"--{f.name.replace('_', '-')} {getattr(settings, f.name):g}"
            for f in dataclasses.fields(Probe)
            if getattr(settings, f.name) != f.default
        ]
        flags = " ".join(
            [
                f"--widths {' '.join(map(str, widths))}",
                f"--seq-lens {' '.join(map(str, seq_lens))}",
                f"--seeds {seeds}",
                *([f"--mixers {' '.join(args.mixers)}"] if args.mixers != list(MIXERS) else []),
                *changed,
            ]
        )
    probe_cost = statistics.median(seconds)
    cost = f"- One probe costs {probe_cost:.0f} s (median) on one thread"
    if not math.isnan(top):  # measured
        cost += (
            f", {probe_cost / top:.2f}× the {top:.0f} s of {TOP_RUNG} (the transformer "
            "baseline, timed beside the probes)"
        )
    lines = [
        "# Does the MQAR probe separate the mixers?",
        "",
        f"Produced by `benchmarks/recall.py`; rerun it to reproduce:\n\n"
        f"    python -m benchmarks.recall {flags}",
        "",
        *header,
        "",
        "## Verdict",
        "",
        *verdict(mean, args.mixers, widths, seq_lens, chance, settings.pairs),
        cost + f"; {sum(seconds) / 3600:.2f} CPU-hours in all.",
        "",
        "## Settings",
        "",
        f"{settings.pairs} key-value pairs per sequence, keys from the lower half of {tokens} "
        f"tokens and values from the upper half, queries at power-law gaps (a = "
        f"{settings.power_a}); 2 layers, table embeddings, heads of width 16; AdamW at "
        f"{settings.lr:g} (one-cycle), weight decay {settings.weight_decay}, {settings.steps} "
        f"steps of {settings.batch_size} fresh sequences; accuracy on {settings.eval_examples} "
        f"held-out sequences, {seeds} seed(s) per cell. Linear layers start at PyTorch's "
        "initialisation and the embedding table at N(0, 1/D), not at GPT-2's N(0, 0.02) "
        f"(`model.recall.probe_init`). Chance is {chance:.4f}; a model that has learnt to "
        "answer with one of the "
        f"sequence's {settings.pairs} values but cannot tell which scores "
        f"{1 / settings.pairs:.3f}, so only accuracy well above that is recall.",
        "",
        "## Numbers",
        "",
        "| mixer | width | sequence | mean accuracy | min–max over seeds |",
        "|---|---:|---:|---:|---:|",
        *rows,
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {args.out}", file=sys.stderr)


def verdict(
    mean: dict[tuple[str, int, int], float],
    mixers: list[str],
    widths: list[int],
    seq_lens: list[int],
    chance: float,
    pairs: int,
) -> list[str]:
    """What the table says: each mixer at the smallest width, and how it moves with the
    sequence at each width (Zoology: convolutions fall as T grows unless the width does)."""
    small = min(widths)
    out = [
        f"- At width {small}: "
        + "; ".join(
            f"{m} " + ", ".join(f"{mean[m, small, T]:.3f} at T {T}" for T in seq_lens)
            for m in mixers
        )
        + f" (chance {chance:.4f}; {1 / pairs:.3f} for a model that answers with one of the "
        "sequence's values, unable to tell which: no recall)."
    ]
    if len(seq_lens) > 1:
        short, long = min(seq_lens), max(seq_lens)
        for m in mixers:
            moves = ", ".join(
                f"{mean[m, w, short] - mean[m, w, long]:+.3f} at width {w}" for w in widths
            )
            out.append(f"- {m}, accuracy lost from T {short} to T {long}: {moves}.")
    return out


if __name__ == "__main__":
    main()
