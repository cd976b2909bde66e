"""Refactors change no behaviour: a seeded ladder run gives the journal, fronts, logs and report
recorded in `pinned_run.json` before the code was moved.

Numbers are compared to a relative 1e-6 (1e-3 in the report, which rounds them), so that another
CPU's last bits do not fail the pin; everything else (keys, genes, rungs, order, words) must be
identical. Timings, hosts, paths and dates are left out, and so are the metrics a worker
measures (latency), which a rerun measures anew. After a change that is *meant* to alter
what a run writes, record the pin again, and say why in the commit:

    python -m tests.hrfevo.test_pinned
"""

from __future__ import annotations

import csv
import io
import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.hrfevo.clitools import determined, determined_csv

PINNED = Path(__file__).with_name("pinned_run.json")
OVERRIDES: dict[str, Any] = {
    "executor": "serial",
    "data": "builtin",
    "seed": 3,
    "population": 6,
    "generations": 3,
    "fidelity": {"rungs": [4, 8, 16], "promote": 0.5},
    "budget": {"schedule": "wsd", "warmup_steps": 1},
}
LOGS = ("pareto.csv", "hypervolume.csv", "fidelity.csv")
NUMBER = re.compile(r"(-?\d[\d,]*(?:\.\d+)?(?:e[-+]?\d+)?)")
VOLATILE = ("`/", "Written by")  # the report's lines that name the directory, host and date


def record_run(out: Path) -> dict[str, Any]:
    """Run the pinned configuration in `out`, report it, and return what it wrote."""
    from hrfevo.cli import main
    from hrfevo.config import resolve
    from hrfevo.run import start

    start(resolve("smoke", None, OVERRIDES), out)
    assert main(["report", str(out), "--out", str(out / "report")]) == 0
    journal = [json.loads(line) for line in (out / "journal.jsonl").read_text().splitlines()]
    summary = (out / "report" / "summary.md").read_text().splitlines()
    for r in journal:
        r["metrics"] = determined(r["metrics"])  # latency is measured anew by every run
    logs = {name: list(csv.reader(io.StringIO(determined_csv(out / name)))) for name in LOGS}
    return {
        "journal": [
            {k: v for k, v in r.items() if k not in ("timings", "worker")} for r in journal
        ],
        "logs": logs,
        "archive": json.loads((out / "checkpoint.json").read_text())["archive"],
        "summary": [line for line in summary if not line.startswith(VOLATILE)],
    }


def same(got: Any, want: Any, rel: float, where: str = "") -> None:
    """Assert `got` equals `want`, numbers (and numeric strings) to `rel`."""
    if isinstance(want, dict):
        assert sorted(got) == sorted(want), where
        for k in want:
            same(got[k], want[k], rel, f"{where}.{k}")
    elif isinstance(want, list):
        assert len(got) == len(want), where
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            same(g, w, rel, f"{where}[{i}]")
    elif isinstance(want, float) and not isinstance(want, bool):
        assert got == pytest.approx(want, rel=rel), where
    elif isinstance(want, str):
        g, w = NUMBER.split(got), NUMBER.split(want)
        assert len(g) == len(w) and g[::2] == w[::2], f"{where}: {got!r} != {want!r}"
        for a, b in zip(g[1::2], w[1::2], strict=True):
            x, y = float(a.replace(",", "")), float(b.replace(",", ""))
            assert x == pytest.approx(y, rel=rel), f"{where}: {got!r} != {want!r}"
    else:
        assert got == want, where


def test_a_seeded_run_writes_what_it_wrote_before_the_refactor(tmp_path: Path) -> None:
    got, want = record_run(tmp_path / "run"), json.loads(PINNED.read_text())
    assert any(r["rung"] == 2 for r in want["journal"]), "the pin never reached the top rung"
    same({k: got[k] for k in ("journal", "logs", "archive")},
         {k: want[k] for k in ("journal", "logs", "archive")}, rel=1e-6)  # fmt: skip
    same(got["summary"], want["summary"], rel=1e-3, where="summary.md")


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        PINNED.write_text(json.dumps(record_run(Path(tmp) / "run"), indent=1) + "\n")
    print(f"recorded {PINNED}", file=sys.stderr)
