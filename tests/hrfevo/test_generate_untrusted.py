"""`hrfevo generate` on a tampered model directory (issue 24): exit 2 with one line on stderr and
no traceback, in under 10 s and 1.5 GB, and the directory left as it was.

Each case runs in a child process, measured on its own: `os.wait4` gives that child's peak
resident memory (`resource.getrusage(RUSAGE_CHILDREN)` would give the largest of every child
this test process has waited for). The in-process tests of every tampering class, with their
messages, are in tests/model/test_pretrained.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from tests.hrfevo.clitools import tree_digest
from tests.model.tampering import tampered

# Bounds on unbounded work (reading /dev/zero, building an absurd model), not speed targets:
# generous enough for a loaded 2-core machine, far below what the unbounded work would take.
SECONDS, PEAK_BYTES = 60.0, 1.5e9
CASES = [  # one per class: config fields, the meta build at the limits, links, weights
    "vocab_size absurd",
    "n_layers absurd",
    "seq_len absurd",
    "d_model absurd",
    "vocab_size at its limit",
    "n_layers at its limit",
    "config linked to /dev/zero",
    "weights truncated",
    "weights linked out of the directory",
    "weights of another model",
    "not safetensors",
]


def measured(argv: list[str]) -> tuple[int, str, float, int]:
    """`python -m hrfevo ARGV` in a child: exit status, stderr, seconds, peak RSS in bytes."""
    with tempfile.TemporaryFile() as err:
        start = time.monotonic()
        child = subprocess.Popen(
            [sys.executable, "-m", "hrfevo", *argv], stdout=subprocess.DEVNULL, stderr=err
        )
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.monotonic() - start
        child.returncode = os.waitstatus_to_exitcode(status)  # reaped: Popen must not wait
        err.seek(0)
        return child.returncode, err.read().decode(), seconds, usage.ru_maxrss * 1024


@pytest.mark.parametrize("name", CASES)
def test_generate_refuses_a_tampered_directory_quickly_and_cheaply(
    name: str, tmp_path: Path
) -> None:
    d = tampered(name, tmp_path)
    before = tree_digest(tmp_path)
    code, err, seconds, peak = measured(
        ["generate", str(d), "--prompt", "x", "--max-new-tokens", "1"]
    )
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith(f"hrfevo generate: error: model directory {str(d)!r} cannot be loaded")
    assert seconds < SECONDS and peak < PEAK_BYTES, (seconds, peak)
    assert tree_digest(tmp_path) == before
