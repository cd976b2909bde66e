"""Forward+backward wall time of the token mixers against causal attention: reports/mixers.md.

Two comparisons, each measured side by side in one run (candidates interleaved, several
repeats, medians reported):
1. the mixer modules alone (wavelet "sum", wavelet "gate", fourier, attention), (B, T, D) -> same;
2. whole one-layer SpectralLMs with each mixer and the same table embedding (vocab 256),
   a cross-entropy loss included.
Width 128, 4 heads, and the same number of tokens per step at every length (B = 16384 // T).

    python -m benchmarks.mixers            # 256 to 16384 tokens, 5 repeats: a few minutes
    python -m benchmarks.mixers --quick    # 256 and 1024, 1 repeat: a smoke run
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from benchmarks.common import REPORTS, load_1min, machine_lines
from model import ModelConfig, SpectralLM
from model.mixers import MIXERS

D_MODEL, N_HEADS, VOCAB = 128, 4, 256
CANDIDATES: dict[str, dict[str, str]] = {  # name -> ModelConfig overrides; attention first
    "attention": {"mixer": "attention"},
    "fourier": {"mixer": "fourier"},
    "wavelet-sum": {"mixer": "wavelet", "band_mixing": "sum"},
    "wavelet-gate": {"mixer": "wavelet", "band_mixing": "gate"},
}
# (kind, seq_len, candidate prefix, minimum speed-up over attention): the targets.
TARGETS = [
    ("mixer", 4096, "fourier", 6.0),
    ("mixer", 4096, "wavelet", 3.0),
    ("model", 4096, "fourier", 2.5),
    ("model", 4096, "wavelet", 1.5),
    ("mixer", 256, "", 1 / 1.5),  # no mixer more than 1.5x slower than attention
    ("model", 256, "", 1 / 1.5),
]


@dataclass
class Case:
    """One thing to time: a closure doing one forward+backward, and its analytic FLOPs/token."""

    kind: str  # "mixer" or "model"
    name: str
    step: Callable[[], None]
    flops_per_token: float


def config(seq_len: int, overrides: dict[str, str]) -> ModelConfig:
    return ModelConfig(
        vocab_size=VOCAB,
        seq_len=seq_len,
        d_model=D_MODEL,
        n_layers=1,
        n_heads=N_HEADS,
        embedding="table",
        **overrides,  # type: ignore[arg-type]
    )


def mixer_case(name: str, seq_len: int, batch: int) -> Case:
    cfg = config(seq_len, CANDIDATES[name])
    module = MIXERS[cfg.layer_mixers[0]](cfg, 0)
    x = torch.randn(batch, seq_len, D_MODEL, requires_grad=True)
    grad = torch.randn(batch, seq_len, D_MODEL)  # a fixed upstream gradient

    def step() -> None:
        module.zero_grad(set_to_none=True)
        x.grad = None
        module(x).backward(grad)

    return Case("mixer", name, step, module.flops_per_token())


def model_case(name: str, seq_len: int, batch: int) -> Case:
    model = SpectralLM(config(seq_len, CANDIDATES[name]))
    idx = torch.randint(0, VOCAB, (batch, seq_len + 1))

    def step() -> None:
        model.zero_grad(set_to_none=True)
        logits = model(idx[:, :-1])  # (B, T, V)
        F.cross_entropy(logits.flatten(0, 1), idx[:, 1:].flatten()).backward()

    return Case("model", name, step, model.flops_per_token())


def time_interleaved(cases: list[Case], repeats: int) -> dict[tuple[str, str], list[float]]:
    """One warm-up each, then `repeats` rounds; each round runs every case once, in a rotated
    order, so slow drifts of the machine (other load, clocks) hit all candidates alike."""
    for case in cases:
        case.step()
    times: dict[tuple[str, str], list[float]] = {(c.kind, c.name): [] for c in cases}
    for r in range(repeats):
        for case in cases[r % len(cases) :] + cases[: r % len(cases)]:
            t0 = time.perf_counter()
            case.step()
            times[(case.kind, case.name)].append(time.perf_counter() - t0)
    return times


@dataclass
class Row:
    kind: str
    seq_len: int
    batch: int
    name: str
    median_s: float
    min_s: float
    flops_per_token: float
    speedup: float = 0.0  # attention's median over this one's
    speedup_min: float = 0.0  # the same from the fastest rounds, which load disturbs least


def measure(seq_len: int, tokens: int, repeats: int) -> list[Row]:
    batch = max(1, tokens // seq_len)
    torch.manual_seed(0)
    cases = [mixer_case(n, seq_len, batch) for n in CANDIDATES]
    cases += [model_case(n, seq_len, batch) for n in CANDIDATES]
    times = time_interleaved(cases, repeats)
    rows = [
        Row(c.kind, seq_len, batch, c.name, *stats(times[(c.kind, c.name)]), c.flops_per_token)
        for c in cases
    ]
    for row in rows:
        base = times[(row.kind, "attention")]
        row.speedup = statistics.median(base) / row.median_s
        row.speedup_min = min(base) / row.min_s
    return rows


def stats(seconds: list[float]) -> tuple[float, float]:
    return statistics.median(seconds), min(seconds)


def pivot(rows: list[Row], kind: str) -> list[str]:
    """A markdown table: one line per length, each candidate's median ms and speed-up."""
    names = list(CANDIDATES)
    lines = [
        "| seq_len | batch | " + " | ".join(names) + " |",
        "|---:|---:|" + "---:|" * len(names),
    ]
    for seq_len in sorted({r.seq_len for r in rows}):
        by_name = {r.name: r for r in rows if r.kind == kind and r.seq_len == seq_len}
        cells = [f"{by_name[n].median_s * 1e3:.1f} ms ({by_name[n].speedup:.2f}x)" for n in names]
        lines.append(f"| {seq_len} | {by_name[names[0]].batch} | " + " | ".join(cells) + " |")
    return lines


def flops_table(rows: list[Row]) -> list[str]:
    names = list(CANDIDATES)
    lines = [
        "| seq_len | " + " | ".join(f"{n} module / model" for n in names) + " |",
        "|---:|" + "---:|" * len(names),
    ]
    for seq_len in sorted({r.seq_len for r in rows}):
        f = {(r.kind, r.name): r.flops_per_token / 1e6 for r in rows if r.seq_len == seq_len}
        cells = [f"{f[('mixer', n)]:.2f} / {f[('model', n)]:.2f}" for n in names]
        lines.append(f"| {seq_len} | " + " | ".join(cells) + " |")
    return lines


def target_lines(rows: list[Row]) -> tuple[list[str], bool]:
    """One table line per target and candidate, and whether every measured target was met."""
    lines = [
        "| target | candidate | speed-up (medians) | met | speed-up (fastest rounds) |",
        "|---|---|---:|---|---:|",
    ]
    all_met = True
    for kind, seq_len, prefix, minimum in TARGETS:
        goal = f"{kind}s at {seq_len}: " + (
            f"{prefix} >= {minimum:g}x faster" if prefix else "none > 1.5x slower"
        )
        hits = [
            r
            for r in rows
            if (r.kind, r.seq_len) == (kind, seq_len)
            and r.name != "attention"
            and r.name.startswith(prefix)
        ]
        if not hits:
            lines.append(f"| {goal} | - | not measured | - | - |")
        for r in hits:
            met = r.speedup >= minimum
            all_met &= met
            verdict = "yes" if met else "**NO**"
            lines.append(
                f"| {goal} | {r.name} | {r.speedup:.2f}x | {verdict} | {r.speedup_min:.2f}x |"
            )
    return lines, all_met


PROFILE_NOTE = """## What the profile showed, and what changed

A first run (torch.profiler, 4096 tokens) found the FFT mixers spending most of their time in
autograd's backward of the padded `rfft`: a full-length complex FFT plus zero fills, 2-5x the
cost of the forward FFTs. `model/mixers/fftconv.py` now writes the backward out: each gradient
is again a real causal (or anti-causal) FFT convolution on the same grid. Padding explicitly
before `rfft` (rather than `rfft(x, n=...)`) halved the forward FFT time on strided inputs, and
the wavelet mixer pads to the nearest 5-smooth length (4320 instead of 8192 at 4096 tokens),
since its filters are short. The wavelet filters are built in the time domain, so they stay
exactly one-sided in any precision. The maths is unchanged; the causality, PyWavelets-parity
and gradient (gradcheck) tests cover it."""

GPU_NOTE = """## GPU

Not measured: no GPU was available in this session. On CUDA the intended setting is bf16
autocast with the FFTs in fp32 (`model/mixers/fftconv.py` turns autocast off around them), and
attention would run through a fused `scaled_dot_product_attention` kernel, so the CPU ratios
above should not be read as GPU ratios."""

METHOD = """## How it was measured

Each step is one forward and one backward pass: for a module, `module(x).backward(g)` with a
fixed upstream gradient; for a model, cross-entropy on random tokens, then `backward()`. All
candidates of one length are built first, each runs once as a warm-up, then every round runs
all of them once in a rotated order; the table gives the median over rounds and, in brackets,
attention's median divided by the candidate's (above 1: faster than attention). Tokens per step
are constant (B·T = {tokens}), so a flat row means cost linear in T. FLOPs are the analytic
forward counts of `flops_per_token()` (2 per multiply-add, 2.5·N·log2 N per real FFT), in
millions per token; the wavelet mixers use db4 with 3 levels (the defaults)."""


BUSY_NOTE = """**Other processes loaded the machine during this run** (1-minute load about
{load:.1f} on {cores} cores besides this run's threads). Descheduled threads stall
multi-threaded kernels, and short, numerous ops (the FFT mixers, most of all the gated wavelet
mixer) suffer more than long ones (attention), so misses below may be artefacts of the load:
rerun on a quiet machine{alt}."""


def others_load(start: float, end: float, threads: int) -> float:
    """Load from other processes: at the start, and at the end minus our own threads."""
    return max(start, end - threads)


def busy_note(load: float, threads: int) -> list[str]:
    cores = os.cpu_count() or 1
    alt = ", or compare with `--threads 1`, which load disturbs less" if threads > 1 else ""
    return [BUSY_NOTE.format(load=load, cores=cores, alt=alt), ""] if load > 0.5 * cores else []


def report(rows: list[Row], args: argparse.Namespace, machine: list[str], load: float) -> str:
    targets, all_met = target_lines(rows)
    verdict = "every measured target is met" if all_met else "**some targets are missed**"
    parts = [
        "# Token mixers against causal attention (CPU)",
        "",
        f"Forward+backward wall time, width {D_MODEL}, {N_HEADS} heads; {verdict}.",
        "",
        *machine,
        "",
        *busy_note(load, args.threads),
        "## Targets",
        "",
        *targets,
        "",
        "## Mixer modules: median time per step (speed-up over attention)",
        "",
        *pivot(rows, "mixer"),
        "",
        f"## One-layer SpectralLMs, table embedding, vocab {VOCAB}: median time per step",
        "",
        *pivot(rows, "model"),
        "",
        "## Analytic forward FLOPs per token (millions)",
        "",
        *flops_table(rows),
        "",
        METHOD.format(tokens=args.tokens),
        "",
        PROFILE_NOTE,
        "",
        GPU_NOTE,
    ]
    return "\n".join(parts) + "\n"


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--quick", action="store_true", help="256 and 1024 tokens, 1 repeat")
    p.add_argument("--repeats", type=int, default=5, help="timed rounds per length")
    p.add_argument("--tokens", type=int, default=16384, help="tokens per step (B·T)")
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="torch threads")
    p.add_argument("--out", type=Path, default=REPORTS / "mixers.md")
    args = p.parse_args(argv)
    args.lengths = [256, 1024] if args.quick else [256, 1024, 4096, 16384]
    args.repeats = 1 if args.quick else args.repeats
    return args


def main(argv: list[str] | None = None) -> Path:
    args = parse(argv)
    torch.set_num_threads(args.threads)
    command = "python -m benchmarks.mixers " + " ".join(sys.argv[1:] if argv is None else argv)
    machine = [*machine_lines(args.threads), f"- command: `{command.strip()}`"]
    load = load_1min()  # before this run adds its own
    rows: list[Row] = []
    for seq_len in args.lengths:
        rows += measure(seq_len, args.tokens, args.repeats)
        print(f"seq_len {seq_len}: done", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    end = load_1min()
    machine.append(f"- 1-minute load average when the run ended (this run included): {end:.2f}")
    load = others_load(load, end, args.threads)
    args.out.write_text(report(rows, args, machine, load))
    print(f"wrote {args.out}")
    return args.out


if __name__ == "__main__":
    main()
