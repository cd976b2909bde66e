"""`python -m benchmarks.recall --quick` writes its report: seconds, for the suite."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_the_recall_benchmark_writes_its_report(tmp_path: Path) -> None:
    out = tmp_path / "recall.md"
    argv = [
        sys.executable,
        "-m",
        "benchmarks.recall",
        "--quick",
        "--workers",
        "1",
        "--out",
        str(out),
    ]
    subprocess.run(argv, cwd=REPO, check=True, capture_output=True, timeout=300)
    text = out.read_text()
    assert text.startswith("# Does the MQAR probe separate the mixers?") and "- CPU: " in text
    rows = [line for line in text.splitlines() if line.startswith("| attention")]
    assert len(rows) == 1 and 0.0 <= float(rows[0].split("|")[4]) <= 1.0
