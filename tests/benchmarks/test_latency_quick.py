"""`python -m benchmarks.latency --quick` writes its report: seconds, for the suite."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_the_latency_benchmark_writes_its_report(tmp_path: Path) -> None:
    out = tmp_path / "latency.md"
    argv = [sys.executable, "-m", "benchmarks.latency", "--quick", "--out", str(out)]
    subprocess.run(argv, cwd=REPO, check=True, capture_output=True, timeout=300)
    text = out.read_text()
    assert text.startswith("# How noisy is a measured latency?") and "- CPU: " in text
    rows = [line for line in text.splitlines() if line.startswith(("| attention", "| fourier"))]
    assert len(rows) == 4 and all(float(r.split("|")[4]) > 0 for r in rows)
