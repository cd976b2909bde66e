"""The `hrfevo` command: a thin map from subcommands to the functions that do the work.

Each subcommand is a module in `hrfevo/commands/` (its convention is in that package's
docstring): this module makes its subparser from the module's name and docstring, lets it add
its arguments, and runs its `main`. Heavy imports (torch, ray) happen inside `main`, so
`hrfevo --help` is quick.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from types import FrameType, ModuleType
from typing import Any, NoReturn

from hrfevo import __version__
from hrfevo.commands import COMMANDS
from hrfevo.errors import DivergedError, MachineFaultError, UsageError

DESCRIPTION = """\
HRFEvo: evolutionary search for causal spectral language models.

A run evolves genomes (harmonic basis functions, wavelet filter banks and size genes), trains
each briefly and keeps the Pareto front of perplexity against FLOPs per token.

  hrfevo run [--preset tiny]       start a search (`hrfevo run --help`: the presets)
  hrfevo status DIR                where a run stands; `hrfevo runs` lists them all
  hrfevo export DIR --out MODEL    the chosen genome as a model; `hrfevo generate MODEL`
"""


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad flag is one line on stderr (no usage dump) and exit status 2, and
    `epilog_text` (a command's `epilog()`) is computed only when the help is printed."""

    epilog_text: Callable[[], str] | None = None

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")

    def format_help(self) -> str:
        if self.epilog_text is not None:
            self.epilog, self.epilog_text = self.epilog_text(), None
        return super().format_help()


def command_name(module: ModuleType) -> str:
    """`hrfevo.commands.export_optuna` -> "export-optuna"."""
    return module.__name__.rsplit(".", 1)[-1].replace("_", "-")


def summary(module: ModuleType) -> str:
    """The command's line in `hrfevo --help`: its docstring's first line, after the colon."""
    first = (module.__doc__ or "").strip().splitlines()[0] if module.__doc__ else ""
    prefix = f"`hrfevo {command_name(module)}`: "
    if not first.startswith(prefix):
        raise ValueError(f"{module.__name__}: docstring must start with {prefix!r}")
    return first[len(prefix) :].rstrip(".")


def add_command(subparsers: Any, module: ModuleType) -> argparse.ArgumentParser:
    """Make the module's subparser, let it add its arguments, and set its `main` to run."""
    parser: _Parser = subparsers.add_parser(
        command_name(module),
        help=summary(module),
        description=module.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.epilog_text = getattr(module, "epilog", None)
    module.add_arguments(parser)
    parser.set_defaults(func=module.main)
    return parser


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="hrfevo",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="`hrfevo COMMAND --help` gives a command's arguments.",
    )
    parser.add_argument("--version", action="version", version=f"hrfevo {__version__}")
    sub = parser.add_subparsers(
        dest="command", required=True, parser_class=_Parser, metavar="COMMAND"
    )
    for module in COMMANDS:
        add_command(sub, module)
    return parser


class Terminated(KeyboardInterrupt):
    """SIGTERM (`kill`, a batch scheduler's time limit): stop as Ctrl-C does, so the executor
    shuts its Ray down and `hrfevo resume` continues the run later."""


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise Terminated


def _stopped(command: str, how: str, stop: KeyboardInterrupt) -> str:
    """'hrfevo run: interrupted', and the command that continues the run when one can
    (`hrfevo.commands.common.resume_hint` puts it in the exception's args)."""
    then = f"; continue with: {stop.args[0]}" if stop.args else ""
    return f"hrfevo {command}: {how}{then}"


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _terminate) if in_main_thread else None
    try:
        return int(args.func(args) or 0)
    except UsageError as e:
        print(f"hrfevo {args.command}: error: {e}", file=sys.stderr)
        return 2
    except DivergedError as e:  # the work ran; its result is no model
        print(f"hrfevo {args.command}: {e}", file=sys.stderr)
        return 1
    except MachineFaultError as e:  # the run is intact; resume continues it
        print(f"hrfevo {args.command}: stopped: {e}", file=sys.stderr)
        return 3
    except Terminated as e:
        print(_stopped(args.command, "terminated", e), file=sys.stderr)
        return 128 + signal.SIGTERM
    except KeyboardInterrupt as e:
        print(_stopped(args.command, "interrupted", e), file=sys.stderr)
        return 128 + signal.SIGINT
    except BrokenPipeError:  # `hrfevo status RUN | head`: the reader left, which is fine
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    finally:
        if in_main_thread:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
