"""Numbers as people read and type them, for live output, dry runs, listings and flags."""

from __future__ import annotations

import math


def duration(seconds: float) -> str:
    """47 s, 12.3 min, 2.1 h (and "?" when unknown)."""
    if not math.isfinite(seconds):
        return "?"
    if seconds < 90:
        return f"{seconds:.0f} s" if seconds >= 10 else f"{seconds:.1f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def clock(seconds: float) -> str:
    """Elapsed time as h:mm:ss (or m:ss under an hour)."""
    s = max(0, round(seconds))
    h, m = divmod(s // 60, 60)
    return f"{h}:{m:02d}:{s % 60:02d}" if h else f"{m}:{s % 60:02d}"


DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}  # the suffixes `seconds` reads


def seconds(text: str) -> float:
    """Seconds from a duration as people type it: 90, 90s, 30m, 2h or 1.5d. ValueError for
    anything else, infinity and NaN included (range checks are the caller's)."""
    unit = text[-1:].lower()
    number = text[:-1] if unit in DURATION_UNITS else text
    try:
        value = float(number) * DURATION_UNITS.get(unit, 1)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise ValueError(f"{text!r} is not a duration: give seconds, or a number with s, m, h or d")
    return value
