"""Calling the CLI in process, and fingerprinting a directory to prove nothing was written."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from hrfevo import cli


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
