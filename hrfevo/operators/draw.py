"""The random draws every operator shares, each from the RNG it is given (never a global)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import numpy as np

Rng = np.random.Generator
T = TypeVar("T")


def pick(rng: Rng, options: Sequence[T]) -> T:
    """One of `options`, uniformly."""
    return options[int(rng.integers(len(options)))]


def uniform(rng: Rng, lo_hi: Sequence[float]) -> float:
    """A float drawn uniformly from [lo, hi)."""
    return float(rng.uniform(lo_hi[0], lo_hi[1]))


def index(rng: Rng, n: int) -> int:
    """An index into a sequence of length n, uniformly."""
    return int(rng.integers(n))
