"""HRFEvo: evolutionary search for causal spectral language models."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hrfevo.api import RunData, load_run
    from hrfevo.exporter import export
    from hrfevo.reporting.reporter import report

__version__ = "0.1.0"
__all__ = ["RunData", "__version__", "export", "load_run", "report"]

# Imported on first use, so that `hrfevo --help` does not wait for torch and pandas.
_LAZY = {
    "RunData": "hrfevo.api",
    "load_run": "hrfevo.api",
    "export": "hrfevo.exporter",
    "report": "hrfevo.reporting.reporter",
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'hrfevo' has no attribute {name!r}")
    return getattr(importlib.import_module(_LAZY[name]), name)
