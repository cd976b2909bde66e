"""Calling the CLI in process, fingerprinting a directory to prove nothing was written, and
what of a run two runs must share (everything but the metrics a worker measures)."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from hrfevo import cli
from hrfevo.problems.spectral import MEASURED_METRICS


def tree_digest(root: Path) -> dict[str, str]:
    """Every file under root, by relative path, with the sha256 of its bytes."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def invoke(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """`hrfevo ARGV` in this process: its exit status, stdout and stderr."""
    try:
        code = cli.main(argv)
    except SystemExit as e:  # --help, --version and argparse's own errors
        code = int(e.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """`hrfevo ARGV` in this process: its exit status and stderr."""
    code, _, err = invoke(argv, capsys)
    return code, err


def determined(metrics: dict[str, Any]) -> dict[str, Any]:
    """A record's metrics without those measured on the worker (latency): what a rerun of the
    same seed reproduces bit for bit."""
    return {k: v for k, v in metrics.items() if k not in MEASURED_METRICS}


def determined_csv(path: Path) -> str:
    """A derived log's text without the measured metrics' columns."""
    table = pd.read_csv(path)
    out = io.StringIO()
    table.drop(columns=[c for c in MEASURED_METRICS if c in table]).to_csv(out, index=False)
    return out.getvalue()
