"""Processes from /proc, for tests that kill runs or Ray workers or look for leftover Ray
processes."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Proc:
    pid: int
    ppid: int
    sid: int  # session id: a process started with start_new_session=True leads its own
    cmdline: str  # Ray workers show their task here, e.g. "ray::_evaluate" or "ray::IDLE"


def processes() -> list[Proc]:
    found = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
            cmdline = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # exited meanwhile
            continue
        fields = stat[stat.rfind(")") + 2 :].split()  # the name in (...) may hold spaces
        found.append(Proc(int(d.name), int(fields[1]), int(fields[3]), cmdline.strip()))
    return found


def descendants(pid: int) -> list[Proc]:
    procs = processes()
    family, out = {pid}, []
    for _ in range(8):  # Ray's tree is driver -> raylet -> workers: a few levels deep
        new = [p for p in procs if p.ppid in family and p.pid not in family]
        family |= {p.pid for p in new}
        out += new
    return out


def in_session(sid: int) -> list[Proc]:
    return [p for p in processes() if p.sid == sid]


def wait_until_gone(sid: int, seconds: float) -> list[Proc]:
    """The processes of session `sid` still alive after up to `seconds` (none, if all went)."""
    deadline = time.monotonic() + seconds
    while (left := in_session(sid)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return left


def kill_after(cmd: list[str], journal: Path, lines: int) -> int:
    """Start cmd, SIGKILL it once the journal has `lines` lines; return the lines at death."""
    proc = subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if journal.exists() and journal.read_bytes().count(b"\n") >= lines:
            break
        time.sleep(0.005)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    return journal.read_bytes().count(b"\n")
