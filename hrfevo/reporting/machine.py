"""What a measurement ran on, as Markdown lines for the head of a report: every benchmark's
report and `hrfevo calibrate`'s name the CPU, cores, torch, Python and date the same way."""

from __future__ import annotations

import datetime
import os
import platform
from pathlib import Path

import torch


def cpu_model() -> str:
    """The CPU's marketing name from /proc/cpuinfo, or what `platform` knows elsewhere."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def load_1min() -> float:
    """The 1-minute load average (0 where the OS has none)."""
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0


def machine_lines(threads: int, load: bool = True) -> list[str]:
    """Markdown bullet lines: CPU, cores, torch threads, versions, load (unless `load` is
    False: a report written from results measured earlier) and date."""
    now_load = ", ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return [
        f"- CPU: {cpu_model()}, {os.cpu_count()} cores visible; torch threads: {threads}",
        f"- torch {torch.__version__}, Python {platform.python_version()}, {platform.platform()}",
        *([f"- load average (1, 5, 15 min) when the run started: {now_load}"] if load else []),
        f"- date: {now}",
    ]
