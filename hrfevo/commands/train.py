"""`hrfevo train`: train one model (a ModelConfig JSON file) and write its metrics and weights.

    hrfevo train --model MODEL.json --data PATH|builtin --steps N --batch-size B --lr LR --out DIR

MODEL.json holds `ModelConfig.to_dict()`. DIR receives metrics.json (the `TrainResult` plus the
model and training configs) and the weights in `save_pretrained` format (config.json and
model.safetensors), so `hrfevo generate DIR` and `SpectralLM.from_pretrained(DIR)` load it.
A run whose loss diverged writes metrics.json alone and exits with status 1. Every input, the
memory training will need included, is checked before anything is written.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hrfevo.errors import UsageError
from hrfevo.storage import check_new_dir, finite, staged_dir, write_json

if TYPE_CHECKING:
    from model import ConfigError, ModelConfig, TrainConfig


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", required=True, metavar="MODEL.json", help="ModelConfig as JSON")
    p.add_argument(
        "--data",
        required=True,
        metavar="PATH|builtin",
        help="a UTF-8 text file, 'builtin' (Python's own sources) or hf:NAME[:CONFIG]",
    )
    budget = p.add_mutually_exclusive_group(required=True)
    budget.add_argument("--steps", type=int, help="optimiser steps")
    budget.add_argument("--tokens", type=int, help="token budget instead of --steps")
    p.add_argument("--batch-size", type=int, default=12, help="sequences per step (default 12)")
    p.add_argument("--lr", type=float, default=1e-3, help="peak learning rate (default 1e-3)")
    p.add_argument("--out", required=True, metavar="DIR", help="new or empty output directory")
    p.add_argument("--seed", type=int, default=0, help="seed for init and batches (default 0)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default auto)")
    p.add_argument("--threads", type=int, help="torch CPU threads (default: torch's own)")
    p.add_argument(
        "--eval-tokens", type=int, default=65536, help="validation tokens scored (default 65536)"
    )


def main(args: argparse.Namespace) -> int:
    # heavy imports here, so `hrfevo --help` stays quick
    from hrfevo.exporter import METRICS_FILE
    from hrfevo.problems.spectral import open_corpus
    from model import ConfigError, train

    train_cfg = _train_config(args)
    model_cfg = load_model_config(Path(args.model))
    try:
        train_cfg.num_steps(model_cfg.seq_len)
    except ConfigError as e:
        raise UsageError(_flag_error(e)) from None
    out = Path(args.out)
    check_new_dir(out)
    _check_memory(model_cfg, train_cfg, args.model)
    corpus = open_corpus(args.data, model_cfg.seq_len + 1)
    model, result = train(model_cfg, train_cfg, corpus)
    metrics = finite(result.to_dict())
    metrics |= {"model": model_cfg.to_dict(), "train": train_cfg.to_dict()}
    with staged_dir(out) as tmp:  # a crash leaves no half-written DIR
        if result.status == "ok":  # a diverged model's weights are no model: not written
            model.save_pretrained(tmp)
        write_json(tmp / METRICS_FILE, metrics)
    if result.status != "ok":
        print(
            f"hrfevo train: {result.status} after {result.steps_done} steps (the loss was not "
            f"finite: a lower --lr?); no weights written, metrics in {out / METRICS_FILE}",
            file=sys.stderr,
        )
        return 1
    print(_summary(metrics, out))
    return 0


def _train_config(args: argparse.Namespace) -> TrainConfig:
    """Check the training flags and build the TrainConfig; UsageError names the flag."""
    from model import ConfigError, TrainConfig, resolve_device

    try:
        cfg = TrainConfig(
            steps=args.steps,
            tokens=args.tokens,
            batch_size=args.batch_size,
            lr=args.lr,
            eval_tokens=args.eval_tokens,
            seed=args.seed,
            threads=args.threads,
            device=args.device,
        )
    except ConfigError as e:  # TrainConfig checks each value once; the flag is named here
        raise UsageError(_flag_error(e)) from None
    try:
        resolve_device(cfg.device)
    except ValueError as e:
        raise UsageError(f"--device {args.device}: {str(e).split(': ', 1)[-1]}") from None
    return cfg


def _flag_error(e: ConfigError) -> str:
    """A TrainConfig field's error as its flag's: `--batch-size 0: must be ...`."""
    return f"--{e.name.replace('_', '-')} {e.value}: {e.why}"


def _check_memory(model_cfg: ModelConfig, train_cfg: TrainConfig, model_file: str) -> None:
    """UsageError, with the estimate, if training cannot fit on the device (`model.memory`):
    blamed on the model when one sequence is too many, else on the batch size."""
    from model import memory_problem, resolve_device

    device = resolve_device(train_cfg.device)
    alone = memory_problem(model_cfg, 1, device)
    if alone:
        raise UsageError(f"model file {model_file!r}, one sequence at a time: {alone}")
    why = memory_problem(model_cfg, train_cfg.batch_size, device)
    if why:
        raise UsageError(f"--batch-size {train_cfg.batch_size}: {why}")


def load_model_config(path: Path) -> ModelConfig:
    """Read MODEL.json; UsageError for a missing file, bad JSON, unknown field or bad value."""
    from model import ModelConfig

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"model file {str(path)!r} not found") from None
    except (OSError, UnicodeDecodeError) as e:
        raise UsageError(f"model file {str(path)!r} cannot be read: {e}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise UsageError(f"model file {str(path)!r} is not valid JSON: {e}") from None
    if not isinstance(data, dict):
        raise UsageError(f"model file {str(path)!r} must hold a JSON object (ModelConfig fields)")
    try:
        cfg = ModelConfig.from_dict(data)
    except (ValueError, TypeError) as e:
        raise UsageError(f"model file {str(path)!r}: {e}") from None
    if cfg.vocab_size < 256:
        raise UsageError(
            f"model file {str(path)!r}: vocab_size={cfg.vocab_size}, byte tokens need 256"
        )
    return cfg


def _summary(m: dict[str, Any], out: Path) -> str:
    return (
        f"val_loss {m['val_loss']:.4f} nats/token (perplexity {m['perplexity']:.2f}, "
        f"{m['bits_per_byte']:.3f} bits/byte), {m['flops_per_token'] / 1e6:.2f} MFLOPs/token, "
        f"{m['params']:,} params, {m['tokens_per_second']:,.0f} tokens/s, "
        f"{m['seconds']:.1f} s -> {out}"
    )
