"""What several commands share: flags, and the command that continues a stopped run.

Not a command itself (only `COMMANDS` lists those). Choices come from the registries
(`hrfevo.presets`, `hrfevo.executors`), which list their names without importing torch or Ray.
"""

from __future__ import annotations

import argparse
import contextlib
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from hrfevo.executors import EXECUTORS
from hrfevo.presets import PRESETS

if TYPE_CHECKING:
    from hrfevo.progress import Progress


def add_config_flags(p: argparse.ArgumentParser) -> None:
    """--config, --preset, --data and --seed: where a run's settings come from."""
    p.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help="YAML or JSON file of RunConfig fields; it overrides the preset, flags override it",
    )
    p.add_argument(
        "--preset",
        choices=list(PRESETS),
        help="the settings to start from (default: tiny; `hrfevo run --help` lists them)",
    )
    p.add_argument(
        "--data",
        metavar="SPEC",
        help="'builtin' (default: this Python's standard library), a UTF-8 text file, or "
        "hf:NAME[:CONFIG]",
    )
    p.add_argument(
        "--seed",
        type=int,
        metavar="N",
        help="seeds the search and every proxy training run (default 0)",
    )


def add_execution_flags(p: argparse.ArgumentParser, default: str) -> None:
    """Where and how evaluations run; `default` says what an absent flag keeps ("the preset's"
    or "the run's")."""
    p.add_argument(
        "--executor",
        choices=list(EXECUTORS),
        help="where evaluations run: ray (local Ray, or a cluster with --ray-address) or serial "
        f"(in this process, one at a time) (default: {default}"
        + (f": {preset_executors()})" if default == "the preset's" else ")"),
    )
    p.add_argument(
        "--ray-address",
        metavar="ADDRESS",
        help="join this Ray cluster ('auto' or host:port) instead of starting a local Ray",
    )
    p.add_argument(
        "--ray-dashboard",
        action="store_true",
        default=None,
        help="serve Ray's dashboard (127.0.0.1:8265) from the local Ray (off by default)",
    )
    p.add_argument(
        "--cpus-per-eval",
        type=int,
        metavar="N",
        help=f"CPU cores (torch threads) per evaluation (default: {default})",
    )
    p.add_argument(
        "--gpus-per-eval",
        type=float,
        metavar="F",
        help=f"GPUs per evaluation, e.g. 0.25 to share one among four (default: {default})",
    )
    p.add_argument(
        "--eval-timeout",
        type=float,
        metavar="SECONDS",
        help="wall-clock limit per evaluation; needs --executor ray (serial cannot stop one). "
        "One past it is a machine fault: retried, then the run stops (exit 3) until "
        "`hrfevo resume`, where 0 clears the limit",
    )


@contextlib.contextmanager
def resume_hint(run_dir: Path, progress: Progress) -> Iterator[None]:
    """On Ctrl-C or SIGTERM: end the live progress line, and hand the CLI (in the exception's
    args) the exact command that continues the run, once its run.json exists."""
    from hrfevo.run import RUN_FILE

    try:
        yield
    except KeyboardInterrupt as stop:
        progress.end_line()
        if (run_dir / RUN_FILE).is_file():
            stop.args = (f"hrfevo resume {shlex.quote(str(run_dir))}",)
        raise


def preset_executors() -> str:
    """Each preset's executor, e.g. "serial for smoke, ray for tiny and small"."""
    by_executor: dict[str, list[str]] = {}
    for name, preset in PRESETS.items():  # a preset without one keeps the default, the first
        by_executor.setdefault(preset.get("executor", next(iter(EXECUTORS))), []).append(name)
    return ", ".join(
        f"{executor} for {' and '.join(names)}" for executor, names in by_executor.items()
    )
