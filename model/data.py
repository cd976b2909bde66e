"""Byte-level tokens, corpora with a fixed train/validation split, and random training windows.

A corpus is one byte stream. The first (1 - f) of it is the training split and the last f the
validation split: contiguous, so no validation window overlaps a training window. Local files
are memory-mapped, so a corpus larger than memory still trains; windows are gathered from a
uint8 array by a seeded `np.random.Generator`.

Corpus specs:
    builtin            the Python standard library's own sources (see `builtin_bytes`)
    PATH               any local UTF-8 text file (name a file called "builtin" as ./builtin)
    hf:NAME[:CONFIG]   a Hugging Face dataset's train split, through `datasets`, if installed
"""

from __future__ import annotations

import codecs
import functools
import hashlib
import os
import sysconfig
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

BUILTIN_CAP = 8 * 2**20  # bytes: the builtin corpus stops before the file that would pass 8 MiB
_SKIP_DIRS = frozenset(
    {"site-packages", "dist-packages", "test", "tests", "idlelib", "__pycache__"}
)
_CHUNK = 16 * 2**20  # bytes hashed and UTF-8-checked at a time, so big files stay memory-mapped


class DataError(ValueError):
    """Bad data input. The message is one line naming the corpus and the problem."""


class ByteTokenizer:
    """UTF-8 bytes as tokens: vocabulary 256, no download, exact round trip of any text."""

    vocab_size = 256

    def encode(self, text: str) -> np.ndarray:
        """text -> uint8 token ids (its UTF-8 bytes)."""
        return np.frombuffer(text.encode("utf-8"), dtype=np.uint8).copy()

    def decode(self, ids: Any) -> str:
        """Token ids (array, list or tensor) -> text; invalid UTF-8 becomes U+FFFD, never raises."""
        arr = np.asarray(ids.detach().cpu() if isinstance(ids, Tensor) else ids).reshape(-1)
        if arr.size and (arr.min() < 0 or arr.max() > 255):
            raise ValueError(f"ByteTokenizer.decode: ids must lie in [0, 255], got {arr.max()}")
        return arr.astype(np.uint8).tobytes().decode("utf-8", errors="replace")


@dataclass
class Corpus:
    """A tokenised corpus: train is the first part of the byte stream, val the rest."""

    name: str  # the spec as given: "builtin", a path, or "hf:NAME[:CONFIG]"
    train: np.ndarray  # uint8 (N_train,), possibly a read-only memmap
    val: np.ndarray  # uint8 (N_val,)
    sha256: str  # of the full byte stream, train then val
    val_fraction: float

    def split(self) -> dict[str, Any]:
        """The split as plain data, recorded with every result."""
        n_train, n_val = len(self.train), len(self.val)
        return {
            "corpus": self.name,
            "sha256": self.sha256,
            "tokens": n_train + n_val,
            "train_tokens": n_train,
            "val_tokens": n_val,
            "boundary": n_train,  # train = tokens[:boundary], val = tokens[boundary:]
            "val_fraction": self.val_fraction,
        }


def load_corpus(spec: str, val_fraction: float = 0.1, min_tokens: int = 0) -> Corpus:
    """Load a corpus by spec and split it; DataError if either split has < min_tokens tokens."""
    if not 0.0 < val_fraction < 1.0:
        raise DataError(f"val_fraction={val_fraction!r}: must lie in (0, 1)")
    if spec == "builtin":
        tokens = np.frombuffer(builtin_bytes(), dtype=np.uint8)
        digest = hashlib.sha256(builtin_bytes()).hexdigest()
    elif spec.startswith("hf:"):
        data = _hf_bytes(spec)
        tokens, digest = np.frombuffer(data, dtype=np.uint8), hashlib.sha256(data).hexdigest()
    else:
        tokens, digest = _file_tokens(spec)
    boundary = int(len(tokens) * (1.0 - val_fraction))  # nanoGPT's int(n * 0.9) for f = 0.1
    corpus = Corpus(spec, tokens[:boundary], tokens[boundary:], digest, val_fraction)
    shortest = min(len(corpus.train), len(corpus.val))
    if shortest < min_tokens:
        raise DataError(
            f"corpus {spec!r}: {len(tokens)} bytes split {len(corpus.train)}/{len(corpus.val)}"
            f" (train/val), shorter than one context window ({min_tokens} tokens)"
        )
    return corpus


def _file_tokens(spec: str) -> tuple[np.ndarray, str]:
    """Memory-map a local text file after checking it exists, is non-empty and is UTF-8."""
    path = Path(spec)
    if not path.exists():
        raise DataError(f"data file {spec!r} not found (use a path to a text file, or 'builtin')")
    if not path.is_file():
        raise DataError(f"data path {spec!r} is not a regular file")
    if path.stat().st_size == 0:
        raise DataError(f"data file {spec!r} is empty")
    try:
        tokens = np.memmap(path, dtype=np.uint8, mode="r")
    except OSError as e:
        raise DataError(f"data file {spec!r} cannot be read: {e.strerror or e}") from None
    return tokens, _check_utf8_and_hash(tokens, spec)


def _check_utf8_and_hash(tokens: np.ndarray, spec: str) -> str:
    """sha256 of the bytes; DataError at the first offset that is not valid UTF-8."""
    decoder, digest = codecs.getincrementaldecoder("utf-8")(), hashlib.sha256()
    for start in range(0, len(tokens), _CHUNK):
        chunk = tokens[start : start + _CHUNK].tobytes()
        digest.update(chunk)
        try:
            decoder.decode(chunk, final=start + _CHUNK >= len(tokens))
        except UnicodeDecodeError as e:
            raise DataError(
                f"data file {spec!r} is not UTF-8 text (bad byte at offset {start + e.start})"
            ) from None
    return digest.hexdigest()


@functools.lru_cache(maxsize=1)
def builtin_bytes() -> bytes:
    """The builtin corpus: this Python's standard-library .py sources, about 8 MiB.

    English prose (docstrings, comments) and code, on every machine that runs this package,
    with no download. Files are taken in sorted relative-path order, skipping tests, IDLE and
    installed packages, and any file that is not UTF-8; each is preceded by a header line. The
    bytes are fixed for a given Python installation (results record their sha256). Built once
    per process.
    """
    root = Path(sysconfig.get_paths()["stdlib"])
    parts: list[bytes] = []
    size = 0
    for rel in _stdlib_sources(root):
        data = (root / rel).read_bytes()
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            continue
        part = f"\n# ==== {rel} ====\n".encode() + data
        if size + len(part) > BUILTIN_CAP:
            break
        parts.append(part)
        size += len(part)
    return b"".join(parts)


def _stdlib_sources(root: Path) -> list[str]:
    """Relative paths (POSIX, sorted) of the standard library's .py files worth reading."""
    found = []
    for dirpath, dirnames, filenames in os.walk(root):  # does not follow symlinked folders
        dirnames[:] = [d for d in dirnames if d not in _SKIP_DIRS]
        rel_dir = Path(dirpath).relative_to(root)
        found += [(rel_dir / f).as_posix() for f in filenames if f.endswith(".py")]
    return sorted(found)


def _hf_bytes(spec: str) -> bytes:
    """The 'text' column of a Hugging Face dataset's train split, joined by newlines."""
    name, _, config = spec[3:].partition(":")
    if not name:
        raise DataError(f"corpus {spec!r}: expected hf:NAME or hf:NAME:CONFIG")
    try:
        import datasets
    except ImportError:
        msg = f"corpus {spec!r} needs the 'datasets' package (pip install datasets)"
        raise DataError(msg) from None
    try:
        ds = datasets.load_dataset(name, config or None, split="train")
    except Exception as e:  # offline hub, unknown name, ...: all one "cannot load" to the user
        first_line = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise DataError(f"corpus {spec!r} cannot be loaded: {first_line}") from None
    if "text" not in ds.column_names:
        raise DataError(f"corpus {spec!r} has no 'text' column (columns: {ds.column_names})")
    data = "\n".join(ds["text"]).encode("utf-8")
    if not data:
        raise DataError(f"corpus {spec!r} is empty")
    return data


def get_batch(
    tokens: np.ndarray, batch_size: int, seq_len: int, rng: np.random.Generator
) -> tuple[Tensor, Tensor]:
    """batch_size random windows of `tokens`: inputs x and next-token targets y, (B, T) int64."""
    if len(tokens) < seq_len + 1:
        raise ValueError(f"get_batch: {len(tokens)} tokens < one window of {seq_len + 1}")
    starts = rng.integers(0, len(tokens) - seq_len, size=batch_size)  # (B,)
    windows = tokens[starts[:, None] + np.arange(seq_len + 1)]  # (B, T+1) uint8
    w = torch.from_numpy(windows.astype(np.int64))
    return w[:, :-1].contiguous(), w[:, 1:].contiguous()
