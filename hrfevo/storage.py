"""Crash-safe files: atomic JSON replacement and an fsynced, append-only JSON-lines journal.

No pickle anywhere: everything on disk is JSON (and safetensors for weights).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write_text(path: Path, text: str) -> None:
    """Write to a temporary file beside `path`, fsync it, then `os.replace` it into place.

    A reader (or a run killed at any instant) sees either the old file or the new one.
    """
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def atomic_write_json(path: Path, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=1, sort_keys=True) + "\n")


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


class Journal:
    """One JSON line per finished evaluation, keyed by `record["key"]`.

    `append` writes, flushes and fsyncs the line before returning, so a record survives a
    kill the moment it is appended. A torn last line (a kill in mid-write) is ignored on read
    and cut off before the next append; a malformed line anywhere else is corruption.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.records: dict[str, dict[str, Any]] = {}
        self._valid_bytes = 0
        if path.exists():
            self._load()

    def _load(self) -> None:
        *complete, _torn = self.path.read_bytes().split(b"\n")  # the tail has no newline yet
        for i, line in enumerate(complete):
            try:
                record = json.loads(line)
            except ValueError:
                raise ValueError(f"{self.path}: line {i + 1} is not valid JSON") from None
            self.records.setdefault(record["key"], record)
            self._valid_bytes += len(line) + 1

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
        self.records.setdefault(record["key"], record)
