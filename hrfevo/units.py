"""Numbers as people read them, for live output, dry runs and listings."""

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
