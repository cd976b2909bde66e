"""Damaged copies of a finished run, for the tests of what reads runs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from hrfevo.run import RUN_FILE


def empty_copy(run: Path, out: Path) -> Path:
    """A run directory with the run's run.json and no evaluations."""
    out.mkdir(parents=True)
    shutil.copy(run / RUN_FILE, out / RUN_FILE)
    return out


def copy_with_failure(run: Path, out: Path) -> Path:
    """A copy of the run with one more journal line: a failed evaluation in generation 0."""
    shutil.copytree(run, out)
    first = json.loads((out / "journal.jsonl").read_text().splitlines()[0])
    failed = first | {"key": "f" * 16, "status": "failed", "metrics": {}, "error": "boom | bad"}
    with open(out / "journal.jsonl", "a") as f:
        f.write(json.dumps(failed) + "\n")
    return out
