"""What every benchmark shares: where the repository, its reports and the Tiny Shakespeare
corpus are, nanoGPT's number to compare with, and the machine header that opens each report
(`hrfevo.reporting.machine`, which `hrfevo calibrate` writes too)."""

from __future__ import annotations

from pathlib import Path

from hrfevo.reporting.machine import cpu_model, load_1min, machine_lines

__all__ = [
    "NANOGPT_VAL_LOSS",
    "REPO",
    "REPORTS",
    "SHAKESPEARE",
    "cpu_model",
    "load_1min",
    "machine_lines",
]

REPO = Path(__file__).resolve().parents[1]
REPORTS = REPO / "reports"  # where each benchmark writes its report unless told otherwise
# Karpathy's Tiny Shakespeare (1,115,394 bytes), kept beside the repository rather than in it
SHAKESPEARE = REPO.parent / "shared" / "data" / "tinyshakespeare.txt"
# nanoGPT's README, its CPU run on Tiny Shakespeare ("I only have a macbook": 4 layers, 4 heads,
# d_model 128, context 64, batch 12, 2,000 iterations): validation loss 1.88
NANOGPT_VAL_LOSS = 1.88
