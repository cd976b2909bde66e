"""`hrfevo export`: a genome of a run as a model that loads and generates on its own.

    hrfevo export RUN --out DIR [--select knee|min-perplexity|max-flops:N|min:OBJ|max:OBJ=N|key:KEY]
                      [--retrain-steps N]

DIR receives config.json and model.safetensors (`SpectralLM.from_pretrained(DIR)` and
`hrfevo generate DIR` load them), genome.json, metrics.json and README.md (the model card, with
the Hub's metadata): a Hub model repository as it stands. Evaluations keep no weights: the
genome is re-trained with the run's budget and seed, which reproduces the proxy run exactly on
the CPU, or for --retrain-steps steps.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_dir", type=Path, metavar="RUN", help="a run directory")
    p.add_argument("--out", type=Path, required=True, metavar="DIR", help="new or empty directory")
    p.add_argument(
        "--select",
        default="knee",
        help="knee (default: best normalised trade-off), min-perplexity, max-flops:N "
        "(best perplexity at or under N FLOPs per token), min:OBJECTIVE (lowest on any "
        "objective, e.g. min:state_bytes), max:OBJECTIVE=N (best perplexity at or under N on it) "
        "or key:KEY (any evaluated genome)",
    )
    p.add_argument(
        "--retrain-steps", type=int, metavar="N", help="train N steps instead of the proxy budget"
    )
    p.add_argument(
        "--device",
        help="cpu or cuda[:N] (default: the device kind the run evaluated the genome on, when "
        "this machine has one, else the CPU)",
    )


def main(args: argparse.Namespace) -> int:
    import json

    from hrfevo.exporter import METRICS_FILE, export

    _check_flags(args)
    out = export(args.run_dir, args.out, args.select, args.retrain_steps, args.device, None)
    m = json.loads((out / METRICS_FILE).read_text(encoding="utf-8"))
    test = f", test_loss {m['test_loss']:.4f}" if m["test_loss"] is not None else ""
    print(
        f"exported {m['key']} ({m['select']}, {m['training']}) -> {out}: val_loss "
        f"{m['val_loss']:.4f}{test}, perplexity {m['perplexity']:.2f}, "
        f"{m['flops_per_token']:,.0f} FLOPs/token, {m['params']:,} params"
    )
    if m["matches_journal"] is False:
        print(
            f"warning: val_loss differs from the journal's {m['journal']['val_loss']:.4f} by "
            f"{m['journal_val_loss_gap']:.2%} (another machine, device or library version?)",
            file=sys.stderr,
        )
    return 0


def _check_flags(args: argparse.Namespace) -> None:
    """The flags alone, before the run is read (UsageError naming the flag)."""
    from hrfevo.errors import UsageError
    from model import MAX_STEPS, resolve_device, valid_device

    steps = args.retrain_steps
    if steps is not None and not 1 <= steps <= MAX_STEPS:
        raise UsageError(f"--retrain-steps {steps}: must be from 1 to {MAX_STEPS}")
    if args.device is None:
        return
    if not valid_device(args.device) or args.device == "auto":  # None is export's own choice
        raise UsageError(f"--device {args.device}: choose cpu, cuda or cuda:N")
    try:
        resolve_device(args.device)
    except ValueError as e:  # cuda:3 on a machine with one GPU, or none
        raise UsageError(f"--device {args.device}: {str(e).split(': ', 1)[-1]}") from None
