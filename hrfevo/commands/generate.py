"""`hrfevo generate`: sample a continuation of a prompt from a trained model directory.

    hrfevo generate DIR --prompt TEXT --max-new-tokens N [--temperature T] [--top-k K] [--seed S]

DIR is what `hrfevo export --out` or `hrfevo train --out` (or `SpectralLM.save_pretrained`)
wrote. The prompt is encoded as UTF-8 bytes; the prompt is printed, then its continuation as it
is sampled. A prompt longer than the model's context is cropped to its last bytes (with a note
on stderr), and the context slides as the continuation grows.
"""

from __future__ import annotations

import argparse
import codecs
import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from hrfevo.errors import UsageError

if TYPE_CHECKING:
    from model import SpectralLM


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "dir",
        metavar="DIR",
        help="a model directory: what `hrfevo export --out` or `hrfevo train --out` wrote",
    )
    p.add_argument("--prompt", required=True, help="text to continue (non-empty)")
    p.add_argument(
        "--max-new-tokens", type=int, required=True, metavar="N", help="bytes to generate"
    )
    p.add_argument(
        "--temperature", type=float, default=1.0, help="sampling temperature; 0 is greedy"
    )
    p.add_argument("--top-k", type=int, help="sample only among the k most likely bytes")
    p.add_argument("--seed", type=int, default=0, help="sampling seed (default 0)")
    p.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (default cpu)")


MAX_NEW_TOKENS = 1_000_000  # a megabyte of text: hours of sampling on a CPU, one byte at a time


def _check_flags(args: argparse.Namespace) -> None:
    from model import MAX_SEED, resolve_device, valid_device

    if not args.prompt:
        raise UsageError("--prompt must not be empty")
    try:
        args.prompt.encode("utf-8")
    except UnicodeEncodeError:  # undecodable bytes in argv arrive as lone surrogates
        raise UsageError("--prompt is not valid UTF-8 text") from None
    if not 0 <= args.max_new_tokens <= MAX_NEW_TOKENS:
        raise UsageError(
            f"--max-new-tokens {args.max_new_tokens}: must be from 0 to {MAX_NEW_TOKENS}"
        )
    if not (args.temperature >= 0 and math.isfinite(args.temperature)):
        raise UsageError(f"--temperature {args.temperature}: must be a finite number >= 0")
    if args.top_k is not None and args.top_k < 1:
        raise UsageError(f"--top-k {args.top_k}: must be a positive integer")
    if not 0 <= args.seed <= MAX_SEED:
        raise UsageError(f"--seed {args.seed}: must be from 0 to {MAX_SEED}")
    if not valid_device(args.device):
        raise UsageError(f"--device {args.device}: choose auto, cpu, cuda or cuda:N")
    try:
        resolve_device(args.device)
    except ValueError as e:  # cuda:3 on a machine with one GPU, or none
        raise UsageError(f"--device {args.device}: {str(e).split(': ', 1)[-1]}") from None


def load_model(directory: Path, device: str, top_k: int | None = None) -> SpectralLM:
    """SpectralLM.from_pretrained, with every way a directory can be wrong as a UsageError.

    The directory is untrusted input: from_pretrained checks its config and the weights' header
    before it allocates anything, and says what is wrong in one line naming the directory.
    """
    import torch
    from safetensors import SafetensorError

    from model import SpectralLM, resolve_device

    if not directory.is_dir():  # a Hub id is for SpectralLM.from_pretrained, not this command
        raise UsageError(f"model directory {str(directory)!r} not found")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise UsageError(f"--device {device}: no CUDA device is visible")
    try:
        model = SpectralLM.from_pretrained(directory, device=resolve_device(device))
    except (OSError, ValueError, TypeError, KeyError, RuntimeError, SafetensorError) as e:
        why = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        if not isinstance(e, ValueError):  # the checks' ValueErrors name the directory already
            why = f"model directory {str(directory)!r} cannot be loaded: {why}"
        raise UsageError(why) from None
    if model.cfg.vocab_size < 256:
        raise UsageError(f"model in {str(directory)!r} has vocab_size {model.cfg.vocab_size} < 256")
    if top_k is not None and top_k > model.cfg.vocab_size:
        raise UsageError(f"--top-k {top_k}: the model has {model.cfg.vocab_size} tokens")
    return model.eval()


def stream(model: SpectralLM, args: argparse.Namespace, out: TextIO) -> None:
    """Write the prompt, then each sampled byte as soon as it is drawn (UTF-8 decoded as it
    goes: a character split over several bytes appears once whole). The same bytes as
    `model.generate(prompt, max_new_tokens)`: each step draws from the same generator."""
    import torch

    from model import ByteTokenizer

    device = next(model.parameters()).device
    prompt = ByteTokenizer().encode(args.prompt)  # (T_prompt,) uint8
    if len(prompt) > model.cfg.seq_len:
        print(
            f"note: the prompt is {len(prompt)} bytes and the model's context "
            f"{model.cfg.seq_len}: it sees only the prompt's last {model.cfg.seq_len} bytes",
            file=sys.stderr,
        )
    ids = torch.from_numpy(prompt.astype("int64"))[None].to(device)  # (1, T)
    gen = torch.Generator(device=device).manual_seed(args.seed)
    text = codecs.getincrementaldecoder("utf-8")(errors="replace")
    out.write(text.decode(prompt.tobytes()))
    out.flush()
    with torch.no_grad():
        for _ in range(args.max_new_tokens):
            # Only the last seq_len bytes are read: keeping more would grow without end.
            context = ids[:, -model.cfg.seq_len :]
            ids = model.generate(context, 1, args.temperature, args.top_k, generator=gen)
            out.write(text.decode(bytes([int(ids[0, -1])])))
            out.flush()
    out.write(text.decode(b"", final=True) + "\n")
    out.flush()


def main(args: argparse.Namespace) -> int:
    _check_flags(args)
    model = load_model(Path(args.dir), args.device, args.top_k)
    stream(model, args, sys.stdout)
    return 0
