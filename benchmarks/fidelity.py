"""Which proxy ranks genomes as 16× longer training does? Writes reports/fidelity.md.

    python benchmarks/fidelity.py --data ../shared/data/tinyshakespeare.txt --data builtin

For each corpus: N genomes of the `tiny` space (the transformer baseline and N-1 drawn as
`hrfevo calibrate` draws them) are trained once for `--mult`× the preset's base steps from
scratch (the reference: the budget's cosine schedule), and once along each candidate proxy:
a WSD schedule at one learning rate, read at every rung of the ladder it would be cut into
(a run paused before its decay and continued gives the same numbers, see
`model.train_state`). For each proxy and rung: Kendall τ and Spearman ρ against the
reference, where the baseline ranks, and the cost in training steps.

Every training runs in one process per core; the raw numbers go to reports/fidelity.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from hrfevo.config import resolve  # noqa: E402
from hrfevo.fidelity import kendall_tau, spearman  # noqa: E402
from hrfevo.genome import Genome, describe, to_model_config  # noqa: E402
from hrfevo.run import absolute_data, baseline_genome, make_problem  # noqa: E402
from model.data import load_corpus  # noqa: E402
from model.train import TrainConfig, seed_stream, train  # noqa: E402

RUNGS = (120, 360, 960)  # the ladder read off each proxy run (steps)
LRS = (1e-2, 3e-3)  # the WSD proxies' learning rates
WARMUP = 12  # steps: the WSD warm-up (5% of the smallest rung, rounded up)


def genomes(preset: str, data: str, n: int, seed: int) -> list[dict[str, Any]]:
    """The baseline and n-1 distinct genomes of the preset's space, drawn as calibrate does."""
    cfg = resolve(preset, None, {"data": data, "seed": seed})
    problem = make_problem(cfg)
    rng = np.random.default_rng(seed_stream(seed, "search"))
    out = [baseline_genome(cfg.space).to_dict()]
    keys = {Genome.from_dict(out[0]).key}
    while len(out) < n:
        g = problem.sample(rng)
        if problem.key(g) not in keys:
            keys.add(problem.key(g))
            out.append(g)
    return out


def _train(job: tuple[dict[str, Any], dict[str, Any], str, int, list[int]]) -> list[float]:
    """One genome, one budget: the val loss at each of `reads` (steps) along one run."""
    genome, budget, data, seq_len, reads = job
    torch.set_num_threads(1)
    cfg = to_model_config(Genome.from_dict(genome), 256, seq_len)
    corpus = load_corpus(data, min_tokens=seq_len + 1)
    losses, state = [], None
    for steps in reads:  # each read continues the previous one's state before its decay
        tc = TrainConfig.from_dict(budget | {"steps": steps, "tokens": None})
        keep = budget["schedule"] == "wsd"
        _, result = train(cfg, tc, corpus, progress=False, start=state, trunk=keep)
        losses.append(result.val_loss)
        state = result.trunk
    return losses


def measure(
    data: str, n: int, mult: int, seed: int, workers: int, rungs: tuple[int, ...]
) -> dict[str, Any]:
    cfg = resolve("tiny", None, {"data": data, "seed": seed})
    base = dict(cfg.budget) | {"seed": seed, "threads": 1, "device": "cpu"}
    steps = int(base["steps"])
    seq_len = cfg.space.seq_len
    pool = genomes("tiny", data, n, seed)
    reference = base | {"schedule": "cosine", "warmup_steps": None}
    proxies = {
        f"wsd lr {lr:g}": base | {"schedule": "wsd", "warmup_steps": WARMUP, "lr": lr} for lr in LRS
    }
    proxies["cosine 120, lr 0.01 (old default)"] = base | {"schedule": "cosine"}
    jobs: list[tuple[str, int]] = []
    payload = []
    for name, budget in {"reference": reference, **proxies}.items():
        reads = [steps * mult] if name == "reference" else list(rungs)
        if name.startswith("cosine"):
            reads = [steps]
        for i, g in enumerate(pool):
            jobs.append((name, i))
            payload.append((g, budget, data, seq_len, reads))
    started = time.time()
    with ProcessPoolExecutor(workers) as ex:
        results = list(ex.map(_train, payload))
    losses: dict[str, list[list[float]]] = {}
    for (name, _), r in zip(jobs, results, strict=True):
        losses.setdefault(name, []).append(r)
    return {
        "data": data,
        "genomes": [
            {"key": Genome.from_dict(g).key, "summary": describe(Genome.from_dict(g))} for g in pool
        ],
        "mult": mult,
        "reference_steps": steps * mult,
        "rungs": list(rungs),
        "losses": losses,
        "seconds": time.time() - started,
    }


def table(m: dict[str, Any]) -> list[str]:
    ref = [x[0] for x in m["losses"]["reference"]]
    rows = [
        "| proxy | rung (steps) | Kendall τ | Spearman | baseline rank | steps per genome |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    order = sorted(range(len(ref)), key=lambda i: ref[i])
    rows_out = rows
    for name, per in m["losses"].items():
        if name == "reference":
            continue
        reads = [m["rungs"][i] for i in range(len(per[0]))] if len(per[0]) > 1 else [120]
        for j, steps in enumerate(reads):
            proxy = [x[j] for x in per]
            ok = [i for i in range(len(ref)) if np.isfinite(proxy[i]) and np.isfinite(ref[i])]
            tau = kendall_tau([proxy[i] for i in ok], [ref[i] for i in ok])
            rho = spearman([proxy[i] for i in ok], [ref[i] for i in ok])
            rank = 1 + sorted(ok, key=lambda i: proxy[i]).index(0) if 0 in ok else None
            rows_out.append(f"| {name} | {steps} | {tau:.2f} | {rho:.2f} | {rank} | {steps} |")
    rows_out.append("")
    rows_out.append(
        f"Reference ({m['reference_steps']} steps, cosine, lr 0.01): baseline rank "
        f"{1 + order.index(0)} of {len(ref)}."
    )
    return rows_out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", action="append", default=None)
    p.add_argument("--genomes", type=int, default=16)
    p.add_argument("--mult", type=int, default=16)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    p.add_argument("--rungs", type=int, nargs="+", default=list(RUNGS))
    p.add_argument("--out", type=Path, default=REPO / "reports" / "fidelity.md")
    args = p.parse_args()
    corpora = [absolute_data(d) for d in (args.data or ["builtin"])]
    load = os.getloadavg()
    rungs = tuple(args.rungs)
    results = [measure(d, args.genomes, args.mult, args.seed, args.workers, rungs) for d in corpora]
    args.out.with_suffix(".json").write_text(json.dumps(results, indent=1) + "\n")
    lines = [
        "# Which proxy ranks genomes as 16× longer training does?",
        "",
        "Produced by `benchmarks/fidelity.py`; rerun it to reproduce.",
        "",
        f"- CPU: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
        f"torch {torch.__version__}, one thread per training, {args.workers} at a time",
        f"- load average when it started: {load[0]:.2f}; "
        f"date {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        "",
    ]
    for m in results:
        lines += [
            f"## {Path(m['data']).name}",
            "",
            f"{len(m['genomes'])} genomes, {m['seconds']:.0f} s of wall time.",
            "",
            *table(m),
            "",
        ]
    args.out.write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
