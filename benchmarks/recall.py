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
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from benchmarks.common import REPORTS, machine_lines
from model import ModelConfig
from model.recall import Probe, recall_accuracy

MIXERS: dict[str, dict[str, object]] = {
    "attention": {"mixer": "attention"},
    "fourier": {"mixer": "fourier"},
    "wavelet db2/3": {"mixer": "wavelet", "wavelet": "db2", "wavelet_levels": 3},
}
Job = tuple[str, int, int, int, Probe]  # mixer, width, seq_len, seed, probe


def probe(job: Job) -> tuple[Job, float, float]:
    """One probe: the job, its accuracy and its seconds."""
    name, width, seq_len, seed, settings = job
    heads = max(1, width // 16)
    genes = {"embedding": "table", "n_heads": heads, **MIXERS[name]}
    cfg = ModelConfig(vocab_size=256, seq_len=seq_len, d_model=width, n_layers=2, **genes)  # type: ignore[arg-type]
    began = time.perf_counter()
    accuracy = recall_accuracy(cfg, settings, seed=seed, threads=1)
    return job, accuracy, time.perf_counter() - began


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--widths", type=int, nargs="+", default=[32, 64, 128])
    p.add_argument("--seq-lens", type=int, nargs="+", default=[64, 256])
    p.add_argument("--seeds", type=int, default=2, help="probes per cell")
    p.add_argument("--pairs", type=int, default=Probe.pairs)
    p.add_argument("--steps", type=int, default=Probe.steps)
    p.add_argument("--lr", type=float, default=Probe.lr)
    p.add_argument("--workers", type=int, default=2, help="probes at a time")
    p.add_argument("--quick", action="store_true", help="toy sizes: seconds")
    p.add_argument("--out", type=Path, default=REPORTS / "recall.md")
    args = p.parse_args()
    settings = Probe(pairs=args.pairs, steps=args.steps, lr=args.lr)
    widths, seq_lens, seeds = args.widths, args.seq_lens, args.seeds
    if args.quick:
        settings = Probe(pairs=2, steps=20, batch_size=8, eval_examples=32)
        widths, seq_lens, seeds = [16], [32], 1
    for T in seq_lens:
        try:
            settings.check(T, 256)
        except ValueError as e:
            raise SystemExit(f"recall.py: {e}") from None
    header = machine_lines(threads=1)
    jobs = [(m, w, T, s, settings) for T in seq_lens for w in widths for m in MIXERS
            for s in range(seeds)]  # fmt: skip
    results: dict[tuple[str, int, int], list[float]] = {}
    seconds: list[float] = []
    with ProcessPoolExecutor(args.workers) as pool:
        for (name, width, T, seed, _), accuracy, spent in pool.map(probe, jobs):
            results.setdefault((name, width, T), []).append(accuracy)
            seconds.append(spent)
            print(f"{name} d{width} T{T} seed {seed}: {accuracy:.3f} ({spent:.0f} s)",
                  file=sys.stderr)  # fmt: skip
    chance = 2 / 256
    rows = [
        f"| {name} | {w} | {T} | {statistics.mean(v):.3f} | {min(v):.3f}–{max(v):.3f} |"
        for (name, w, T), v in results.items()
    ]
    best = {name: max(statistics.mean(v) for (n, _, _), v in results.items() if n == name)
            for name in MIXERS}  # fmt: skip
    flags = "--quick"
    if not args.quick:
        flags = (
            f"--widths {' '.join(map(str, widths))} --seq-lens {' '.join(map(str, seq_lens))} "
            f"--seeds {seeds} --pairs {settings.pairs} --steps {settings.steps} "
            f"--lr {settings.lr:g}"
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
        "- Best mean accuracy of each mixer over the widths and sequence lengths: "
        + ", ".join(f"{name} {acc:.3f}" for name, acc in best.items())
        + f" (chance {chance:.4f}).",
        f"- One probe costs {statistics.median(seconds):.0f} s (median) on one thread; "
        f"{sum(seconds) / 3600:.2f} CPU-hours in all.",
        "",
        "## Settings",
        "",
        f"{settings.pairs} key-value pairs per sequence, keys below 128 and values above, queries "
        f"at power-law gaps (a = {settings.power_a}); 2 layers, table embeddings, heads of "
        f"width 16; AdamW at {settings.lr:g} (one-cycle), weight decay {settings.weight_decay}, "
        f"{settings.steps} steps of {settings.batch_size} fresh sequences; accuracy on "
        f"{settings.eval_examples} held-out sequences, {seeds} seed(s) per cell.",
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


if __name__ == "__main__":
    main()
