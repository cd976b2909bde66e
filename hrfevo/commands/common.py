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
from typing import TYPE_CHECKING, Any

from hrfevo.errors import UsageError
from hrfevo.executors import EXECUTORS
from hrfevo.presets import DEFAULT, PRESETS
from hrfevo.units import seconds

if TYPE_CHECKING:
    from hrfevo.progress import Progress

# The flag of each of hrfevo.stop.Stop's limits (its fields), for errors that name them.
LIMIT_FLAGS = {
    "generations": "--generations",
    "evaluations": "--max-evaluations",
    "cpu_seconds": "--cpu-limit",
    "wall_seconds": "--time-limit",
}


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
        help=f"the settings to start from (default: {DEFAULT}; `hrfevo run --help` lists them)",
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


def add_limit_flags(p: argparse.ArgumentParser, default: str) -> None:
    """The limits beside --generations (`hrfevo.stop`): the run stops between generations at
    the first one reached; `default` says what an absent flag keeps ("none" or "the run's")."""
    p.add_argument(
        LIMIT_FLAGS["evaluations"],
        type=int,
        metavar="N",
        help="stop after the generation in which the journal reaches N evaluations (every "
        f"rung counts) (default: {default})",
    )
    p.add_argument(
        LIMIT_FLAGS["wall_seconds"],
        type=duration,
        metavar="DURATION",
        help="stop after the generation in which the run's wall time reaches DURATION: "
        f"seconds, or 90s, 30m, 2h, 1d (default: {default})",
    )
    p.add_argument(
        LIMIT_FLAGS["cpu_seconds"],
        type=duration,
        metavar="DURATION",
        help="stop after the generation in which the evaluations' CPU time (their journaled "
        f"seconds, summed) reaches DURATION (default: {default})",
    )


def duration(text: str) -> float:
    """A DURATION flag's seconds (an argparse type: a bad one is argparse's one-line error)."""
    try:
        return seconds(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def limits(args: argparse.Namespace) -> dict[str, Any]:
    """The limit flags, by Stop field (None: not given); --generations is not one of them."""
    return {
        name: getattr(args, flag.lstrip("-").replace("-", "_"))
        for name, flag in LIMIT_FLAGS.items()
        if name != "generations"
    }


@contextlib.contextmanager
def naming_flags() -> Iterator[None]:
    """A Stop field's ConfigError, raised inside, as a UsageError naming its flag."""
    from model import ConfigError

    try:
        yield
    except ConfigError as e:
        if e.name not in LIMIT_FLAGS:
            raise
        value = f"{e.value:g}" if isinstance(e.value, float) else e.value  # 1800, not 1800.0
        raise UsageError(f"{LIMIT_FLAGS[e.name]} {value}: {e.why}") from None


@contextlib.contextmanager
def resume_hint(run_dir: Path, progress: Progress) -> Iterator[None]:
    """On Ctrl-C or SIGTERM: end the live progress line, and hand the CLI (in the exception's
    args) the exact command that continues the run, once its run.json exists."""
    from hrfevo.rundir import RUN_FILE

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
