"""Crash-safe files: atomic replacement, staged output directories, a run lock, and an
fsynced, append-only JSON-lines journal.

No pickle anywhere: everything on disk is JSON (and safetensors for weights).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import math
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from hrfevo.errors import UsageError


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_replace(path: Path, write: Callable[[Path], object]) -> None:
    """`write(tmp)` a temporary file beside `path`, fsync it, then `os.replace` it into place.

    A reader (or a process killed at any instant) sees either the old file or the new one.
    """
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        write(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def atomic_write_text(path: Path, text: str) -> None:
    atomic_replace(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def atomic_write_json(path: Path, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=1, sort_keys=True, allow_nan=False) + "\n")


def write_json(path: Path, obj: Any) -> None:
    """Readable JSON for people (metrics, genomes); strict: no NaN or inf."""
    path.write_text(json.dumps(obj, indent=2, allow_nan=False) + "\n", encoding="utf-8")


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def finite(values: dict[str, Any]) -> dict[str, Any]:
    """JSON has no inf or NaN: a diverged run's losses are recorded as null."""
    return {
        k: None if isinstance(v, float) and not math.isfinite(v) else v for k, v in values.items()
    }


def check_new_dir(out: Path) -> None:
    """An output directory must be new or empty, so no earlier result is overwritten, and it
    must be possible to create it, so no work is done for a path that cannot be written.

    Output is written beside `out` and renamed into place (`staged_dir`), or into `out`, so
    the nearest existing directory above it must be one this process may write to.
    """
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} exists and is not a directory")
    if out.is_dir() and any(out.iterdir()):
        raise UsageError(f"--out {out} exists and is not empty (choose a new directory)")
    above = next(p for p in out.absolute().parents if p.exists())  # "/" exists
    if not above.is_dir():
        raise UsageError(f"--out {out}: {above} is a file, not a directory")
    for folder in (above, out) if out.is_dir() else (above,):
        if not os.access(folder, os.W_OK | os.X_OK):
            raise UsageError(f"--out {out}: no permission to write in {folder}")


@contextlib.contextmanager
def staged_dir(out: Path) -> Iterator[Path]:
    """Yield a temporary directory beside `out`; rename it to `out` when the block succeeds.

    A crash or an error inside the block leaves no half-written `out` (`out` must be new or
    empty, see `check_new_dir`).
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        yield tmp
        for path in (tmp, *tmp.iterdir()):  # mkdtemp (and safetensors) make them private
            path.chmod(0o755 if path.is_dir() else 0o644)
            if path.is_file():
                with open(path, "rb+") as f:
                    os.fsync(f.fileno())
        if out.is_dir():
            out.rmdir()  # checked empty; rmdir refuses if something appeared since
        os.replace(tmp, out)
        _fsync_dir(out.parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold an exclusive `flock` on the existing file `path`, or raise a UsageError.

    A run holds the lock on its run.json, so one process at a time appends to its journal.
    The kernel drops the lock when its holder dies, even by SIGKILL, and nothing is written.
    """
    with open(path, "rb") as f:
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UsageError(f"{path.parent} is in use by another hrfevo process") from None
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


def record_id(key: str, rung: int = 0) -> str:
    """A journal line's identity: the genome's key, with "@rung" above rung 0 (one result per
    genome and fidelity)."""
    return key if rung == 0 else f"{key}@{rung}"


class Journal:
    """One JSON line per finished evaluation, keyed by `record_id(key, rung)`.

    `append` writes, flushes and fsyncs the line before returning, so a record survives a
    kill the moment it is appended. A torn last line (a kill in mid-write) is ignored on read
    and cut off before the next append; a malformed line anywhere else is corruption, and so
    is a second line for one (key, rung) (`hrfevo.rundir.check_record` checks the rest).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.records: dict[str, dict[str, Any]] = {}
        self.lines = 0  # complete lines: a checkpoint records it, and resume checks it
        self.line_of: dict[str, int] = {}  # record id -> its line number, for errors
        self._valid_bytes = 0
        if path.exists():
            self._load()

    def _load(self) -> None:
        """Read every complete line; ValueError naming the line for one that is not a JSON
        object with a string key, or that repeats an earlier line's (key, rung)."""
        *complete, _torn = self.path.read_bytes().split(b"\n")  # the tail has no newline yet
        for i, line in enumerate(complete, start=1):
            try:
                record = json.loads(line)
            except ValueError:
                raise ValueError(f"{self.path}: line {i} is not valid JSON") from None
            if not isinstance(record, dict) or not isinstance(record.get("key"), str):
                raise ValueError(f"{self.path}: line {i}: not a record with a string key")
            rid = record_id(record["key"], record.get("rung", 0))
            if rid in self.line_of:
                raise ValueError(
                    f"{self.path}: line {i}: field key {record['key']}, rung "
                    f"{record.get('rung', 0)} repeats line {self.line_of[rid]}'s"
                )
            self.records[rid], self.line_of[rid] = record, i
            self._valid_bytes += len(line) + 1
            self.lines += 1

    def __contains__(self, key: str) -> bool:
        return key in self.records

    def __len__(self) -> int:
        return len(self.records)

    def append(self, record: dict[str, Any]) -> None:
        line = (json.dumps(record, sort_keys=True) + "\n").encode()
        with open(self.path, "ab") as f:
            if f.tell() != self._valid_bytes:  # drop a torn tail left by an earlier kill
                f.truncate(self._valid_bytes)
            f.write(line)
            f.flush()
            os.fsync(f.fileno())
        self._valid_bytes += len(line)
        self.lines += 1
        rid = record_id(record["key"], record.get("rung", 0))
        self.line_of.setdefault(rid, self.lines)
        self.records.setdefault(rid, record)
