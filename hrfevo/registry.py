"""A registry of named, pluggable classes (strategies, executors), each imported on first use.

An entry maps a name to "package.module:Class". Listing the names, or testing one, imports
nothing, so the CLI's `choices` and help and the config checks read them without the cost of
torch, Ray or Optuna; `registry[name]` imports the class (litgpt keeps choices as strings
and resolves them when building, for the same reason).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from typing import Generic, TypeVar

T = TypeVar("T")


class Registry(Mapping[str, type[T]], Generic[T]):
    """Names -> classes, as an ordered read-only mapping; the first name is the default."""

    def __init__(self, kind: str, entries: dict[str, str]) -> None:
        for name, target in entries.items():
            module, _, attr = target.partition(":")
            if not module or not attr:
                raise ValueError(f"{kind} {name!r}: {target!r} is not 'package.module:Class'")
        self.kind, self.entries = kind, dict(entries)

    def __getitem__(self, name: str) -> type[T]:
        if name not in self.entries:
            raise KeyError(f"unknown {self.kind} {name!r} (choose from {self.choices_text()})")
        module, _, attr = self.entries[name].partition(":")
        cls: type[T] = getattr(importlib.import_module(module), attr)
        return cls

    def __iter__(self) -> Iterator[str]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def __contains__(self, name: object) -> bool:
        return name in self.entries  # without importing anything

    def choices_text(self) -> str:
        """The names as a sentence fragment: "a, b or c"."""
        names = list(self.entries)
        return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"
