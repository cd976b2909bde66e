"""The versions of Python and of the libraries whose behaviour a run's numbers depend on.

`run.json` records them when a run starts; an export's model card compares them with the
versions it was exported under.
"""

from __future__ import annotations

import platform
from importlib import metadata

LIBRARIES = ("hrfevo", "torch", "numpy", "deap", "ray", "PyWavelets", "pandas", "moocore")


def versions() -> dict[str, str]:
    """{"python": "3.12.3", "torch": "2.5.1", ...}; "not installed" for a missing library."""
    found = {"python": platform.python_version()}
    for lib in LIBRARIES:
        try:
            found[lib] = metadata.version(lib)
        except metadata.PackageNotFoundError:
            found[lib] = "not installed"
    return found
