"""`hrfevo generate`: sample a continuation of a prompt from a trained model directory.

    hrfevo generate DIR --prompt TEXT --max-new-tokens N [--temperature T] [--top-k K] [--seed S]

DIR is what `hrfevo train --out` (or `SpectralLM.save_pretrained`) wrote. The prompt is encoded
as UTF-8 bytes; the prompt and its continuation are printed.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hrfevo.errors import UsageError

if TYPE_CHECKING:
    import torch

    from model import SpectralLM


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "generate",
        help="print a prompt and its continuation sampled from a trained model",
        description=__doc__.splitlines()[0] if __doc__ else None,
    )
    p.add_argument("dir", metavar="DIR", help="a model directory written by `hrfevo train`")
    p.add_argument("--prompt", required=True, help="text to continue (non-empty)")
    p.add_argument("--max-new-tokens", type=int, required=True, help="bytes to generate")
    p.add_argument(
        "--temperature", type=float, default=1.0, help="sampling temperature; 0 is greedy"
    )
    p.add_argument("--top-k", type=int, help="sample only among the k most likely bytes")
    p.add_argument("--seed", type=int, default=0, help="sampling seed (default 0)")
    p.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (default cpu)")
    p.set_defaults(func=run)


def _check_flags(args: argparse.Namespace) -> None:
    if not args.prompt:
        raise UsageError("--prompt must not be empty")
    try:
        args.prompt.encode("utf-8")
    except UnicodeEncodeError:  # undecodable bytes in argv arrive as lone surrogates
        raise UsageError("--prompt is not valid UTF-8 text") from None
    if args.max_new_tokens < 0:
        raise UsageError(f"--max-new-tokens {args.max_new_tokens}: must be >= 0")
    if not (args.temperature >= 0 and math.isfinite(args.temperature)):
        raise UsageError(f"--temperature {args.temperature}: must be a finite number >= 0")
    if args.top_k is not None and args.top_k < 1:
        raise UsageError(f"--top-k {args.top_k}: must be a positive integer")
    if args.seed < 0:
        raise UsageError(f"--seed {args.seed}: must be >= 0")


def load_model(directory: Path, device: str) -> SpectralLM:
    """SpectralLM.from_pretrained, with every way a directory can be wrong as a UsageError."""
    import torch
    from safetensors import SafetensorError

    from model import SpectralLM
    from model.lm import CONFIG_FILE, WEIGHTS_FILE

    if not directory.is_dir():
        raise UsageError(f"model directory {str(directory)!r} not found")
    for name in (CONFIG_FILE, WEIGHTS_FILE):
        if not (directory / name).is_file():
            raise UsageError(f"model directory {str(directory)!r} has no {name}")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise UsageError(f"--device {device}: no CUDA device is visible")
    try:
        model = SpectralLM.from_pretrained(directory, device=torch.device(device))
    except (OSError, ValueError, TypeError, KeyError, RuntimeError, SafetensorError) as e:
        why = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise UsageError(f"model directory {str(directory)!r} cannot be loaded: {why}") from None
    if model.cfg.vocab_size < 256:
        raise UsageError(f"model in {str(directory)!r} has vocab_size {model.cfg.vocab_size} < 256")
    return model.eval()


def _generate(model: SpectralLM, args: argparse.Namespace) -> torch.Tensor:
    import torch

    from model.data import ByteTokenizer

    device = next(model.parameters()).device
    ids = torch.from_numpy(ByteTokenizer().encode(args.prompt).astype("int64"))[None].to(device)
    gen = torch.Generator(device=device).manual_seed(args.seed)
    out = model.generate(ids, args.max_new_tokens, args.temperature, args.top_k, generator=gen)
    return out[0]  # (T_prompt + max_new_tokens,)


def run(args: argparse.Namespace) -> int:
    from model.data import ByteTokenizer

    _check_flags(args)
    model = load_model(Path(args.dir), args.device)
    out = _generate(model, args)
    sys.stdout.write(ByteTokenizer().decode(out) + "\n")
    return 0
