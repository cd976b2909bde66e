"""One smoke run per test session, shared by the tests that only read a finished run."""

from __future__ import annotations

import functools
import json
import shutil
from pathlib import Path

from hrfevo.config import resolve
from hrfevo.run import RUN_FILE, start


@functools.cache
def smoke_run(root: Path, data: Path) -> Path:
    """A finished smoke run (serial executor, the `data` corpus) under `root`. Read it only."""
    cfg = resolve("smoke", None, {"executor": "serial", "data": str(data)})
    return start(cfg, root / "shared-smoke-run")


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
