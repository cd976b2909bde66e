"""Byte-level tokens, corpora split three ways, random training windows and fixed eval windows.

A corpus is one byte stream split into train, validation and test, with no byte in two splits:
- a text file (or hf:) is cut into three contiguous blocks in order: the first
  1 - val_fraction - test_fraction for training, the next val_fraction for validation and the
  last test_fraction for test. test_fraction = 0 gives nanoGPT's 90/10 cut exactly.
- the builtin corpus is split by whole source files: a file's split is a function of a hash of
  its relative path alone, so no file straddles two splits, and a file keeps its split whatever
  other files this Python ships or in what order.
The search trains on train and ranks on validation; test is held out for the exported model.

Training windows are drawn at random from a uint8 array by a seeded `np.random.Generator`.
Evaluation windows (`eval_starts`) are fixed, non-overlapping and spread evenly over the whole
split, the same for every genome. `contamination` measures how many of them occur verbatim in
the training split. Local files are memory-mapped, so a corpus larger than memory still trains.

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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

BUILTIN_CAP = 8 * 2**20  # bytes: the builtin corpus stops before the file that would pass 8 MiB
SPLITS = ("train", "val", "test")
# Installed packages, tests, IDLE, and encodings/ (generated codec tables that repeat one
# another line for line, so they leak verbatim from train into the held-out splits).
_SKIP_DIRS = frozenset(
    {"site-packages", "dist-packages", "test", "tests", "idlelib", "__pycache__", "encodings"}
)
_CHUNK = 16 * 2**20  # bytes hashed, UTF-8-checked or searched at a time: big files stay mapped


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
    """A tokenised corpus split into train, val and test (test may be empty)."""

    name: str  # the spec as given: "builtin", a path, or "hf:NAME[:CONFIG]"
    train: np.ndarray  # uint8 (N_train,), possibly a read-only memmap
    val: np.ndarray  # uint8 (N_val,)
    test: np.ndarray  # uint8 (N_test,); empty when test_fraction = 0
    sha256: str  # of the full byte stream as loaded (builtin: of builtin_bytes())
    val_fraction: float
    test_fraction: float = 0.0
    method: str = "blocks"  # "blocks" (contiguous cut) or "files" (whole files by path hash)
    files: dict[str, int] = field(default_factory=dict)  # files per split; method "files" only

    def split(self) -> dict[str, Any]:
        """The split as plain data, recorded with every result."""
        sizes = {f"{name}_tokens": len(getattr(self, name)) for name in SPLITS}
        record = {"corpus": self.name, "sha256": self.sha256, "tokens": sum(sizes.values())}
        record |= sizes | {"val_fraction": self.val_fraction, "test_fraction": self.test_fraction}
        record["method"] = self.method
        if self.method == "files":
            record["files"] = dict(self.files)
        return record


def load_corpus(
    spec: str, val_fraction: float = 0.1, test_fraction: float = 0.1, min_tokens: int = 0
) -> Corpus:
    """Load a corpus by spec and split it three ways (see the module docstring).

    DataError if train or val (or test, when test_fraction > 0) has fewer than min_tokens tokens.
    """
    _check_fractions(val_fraction, test_fraction)
    if not spec:  # Path("") is the working directory: never what an empty spec meant
        raise DataError("no corpus given (empty spec): use 'builtin', a text file or hf:NAME")
    if spec == "builtin":
        corpus = _builtin_corpus(val_fraction, test_fraction)
    else:
        if spec.startswith("hf:"):
            data = _hf_bytes(spec)
            tokens, digest = np.frombuffer(data, dtype=np.uint8), hashlib.sha256(data).hexdigest()
        else:
            tokens, digest = _file_tokens(spec)
        n = len(tokens)
        b1 = int(n * (1.0 - val_fraction - test_fraction))  # nanoGPT's int(n * 0.9) at 0.1, 0
        b2 = int(n * (1.0 - test_fraction))  # n when test_fraction = 0
        train, val, test = tokens[:b1], tokens[b1:b2], tokens[b2:]
        corpus = Corpus(spec, train, val, test, digest, val_fraction, test_fraction)
    _check_sizes(corpus, min_tokens)
    return corpus


def _check_fractions(val_fraction: float, test_fraction: float) -> None:
    if not 0.0 < val_fraction < 1.0:
        raise DataError(f"val_fraction={val_fraction!r}: must lie in (0, 1)")
    if not 0.0 <= test_fraction < 1.0:
        raise DataError(f"test_fraction={test_fraction!r}: must lie in [0, 1)")
    if val_fraction + test_fraction >= 1.0:
        raise DataError(
            f"val_fraction={val_fraction!r} + test_fraction={test_fraction!r}: must be < 1"
        )


def _check_sizes(corpus: Corpus, min_tokens: int) -> None:
    """DataError if a split that is used is shorter than min_tokens."""
    used = SPLITS if corpus.test_fraction > 0 else SPLITS[:2]
    if min(len(getattr(corpus, name)) for name in used) < min_tokens:
        sizes = "/".join(str(len(getattr(corpus, name))) for name in SPLITS)
        raise DataError(
            f"corpus {corpus.name!r}: split {sizes} (train/val/test) bytes,"
            f" shorter than one context window ({min_tokens} tokens)"
        )


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
    with no download. Files are taken in sorted relative-path order, skipping tests, IDLE,
    installed packages, generated codec tables and any file that is not UTF-8; each is
    preceded by a header line "# ==== PATH ====". The bytes are fixed for a given Python
    installation (results record their sha256). Built once per process; `load_corpus`
    splits it by file.
    """
    return b"".join(part for _, part in builtin_files())


@functools.lru_cache(maxsize=1)
def builtin_files() -> tuple[tuple[str, bytes], ...]:
    """(relative path, header line + source) of each file of `builtin_bytes`, in its order."""
    root = Path(sysconfig.get_paths()["stdlib"])
    files: list[tuple[str, bytes]] = []
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
        files.append((rel, part))
        size += len(part)
    return tuple(files)


def file_split(rel: str, val_fraction: float, test_fraction: float) -> str:
    """The split ("train", "val" or "test") of the builtin file at relative path `rel`.

    u = the first 8 bytes of sha256(rel) as a fraction in [0, 1): train below
    1 - val - test, test from 1 - test up, val between. A function of the path alone, and the
    test files depend on test_fraction alone, so changing val_fraction never unseals one.
    """
    u = int.from_bytes(hashlib.sha256(rel.encode()).digest()[:8], "big") / 2**64
    if u < 1.0 - val_fraction - test_fraction:
        return "train"
    return "val" if u < 1.0 - test_fraction else "test"


def _builtin_corpus(val_fraction: float, test_fraction: float) -> Corpus:
    """The builtin corpus split by whole files; each split keeps the files' sorted order."""
    parts: dict[str, list[bytes]] = {name: [] for name in SPLITS}
    for rel, part in builtin_files():
        parts[file_split(rel, val_fraction, test_fraction)].append(part)
    train, val, test = (np.frombuffer(b"".join(parts[name]), np.uint8) for name in SPLITS)
    digest = hashlib.sha256(builtin_bytes()).hexdigest()
    files = {name: len(parts[name]) for name in SPLITS}
    return Corpus("builtin", train, val, test, digest, val_fraction, test_fraction, "files", files)


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


def eval_starts(n_tokens: int, seq_len: int, n_windows: int) -> np.ndarray:
    """Starts of the fixed evaluation windows of a split of n_tokens tokens: (n,) int64.

    A window is the seq_len + 1 tokens at [s, s + seq_len]: seq_len inputs and their next-token
    targets. n is n_windows clipped to [1, (n_tokens - 1) // seq_len], the most windows whose
    targets fit without overlap. The starts are i · L // (n - 1) for L = n_tokens - seq_len - 1,
    the last possible start: strictly increasing from 0 to L, so the windows cover the split end
    to end, and at least seq_len apart (L >= (n - 1) · seq_len), so no target is scored twice.
    """
    if n_tokens < seq_len + 1:
        raise ValueError(f"eval_starts: {n_tokens} tokens < one window of {seq_len + 1}")
    n = max(1, min(n_windows, (n_tokens - 1) // seq_len))
    last = n_tokens - seq_len - 1
    return np.arange(n, dtype=np.int64) * last // max(1, n - 1)


def contamination(corpus: Corpus, seq_len: int, eval_tokens: int) -> dict[str, float]:
    """Share of the evaluation windows of val (and of test, if non-empty) found in corpus.train.

    The windows are the ones `evaluate` scores with this seq_len and eval_tokens, each the
    seq_len + 1 tokens it reads; one counts when those bytes occur verbatim anywhere in the
    training split, where the model may have learned them by heart. Train is searched a chunk at
    a time, so a memory-mapped corpus stays mapped.
    """
    windows: dict[str, list[bytes]] = {}
    for name in ("val", "test"):
        tokens = getattr(corpus, name)
        if name == "val" or len(tokens):
            starts = eval_starts(len(tokens), seq_len, eval_tokens // seq_len)
            windows[name] = [tokens[s : s + seq_len + 1].tobytes() for s in starts]
    found = _found_in(corpus.train, {w for ws in windows.values() for w in ws}, seq_len + 1)
    return {name: sum(w in found for w in ws) / len(ws) for name, ws in windows.items()}


def _found_in(haystack: np.ndarray, needles: set[bytes], width: int) -> set[bytes]:
    """The needles (each `width` bytes long) that occur in haystack."""
    found: set[bytes] = set()
    for start in range(0, len(haystack) - width + 1, _CHUNK):
        chunk = haystack[start : start + _CHUNK + width - 1].tobytes()  # overlap: no window lost
        found |= {w for w in needles - found if w in chunk}
    return found
