"""The `hrfevo` command: a thin map from subcommands to the functions that do the work.

Each subcommand lives in `hrfevo/commands/<name>.py` with `add_parser(subparsers)`, which
registers its flags and sets `func`. Heavy imports (torch, ray) happen inside `func`, so
`hrfevo --help` is quick.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType
from typing import NoReturn

from hrfevo.commands import COMMANDS
from hrfevo.errors import MachineFaultError, UsageError


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad flag is one line on stderr (no usage dump) and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="hrfevo", description=__doc__.splitlines()[0] if __doc__ else None)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for command in COMMANDS:
        command.add_parser(sub)
    return parser


class Terminated(KeyboardInterrupt):
    """SIGTERM (`kill`, a batch scheduler's time limit): stop as Ctrl-C does, so the executor
    shuts its Ray down and `hrfevo resume` continues the run later."""


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise Terminated


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _terminate) if in_main_thread else None
    try:
        return int(args.func(args) or 0)
    except UsageError as e:
        print(f"hrfevo {args.command}: error: {e}", file=sys.stderr)
        return 2
    except MachineFaultError as e:  # the run is intact; resume continues it
        print(f"hrfevo {args.command}: stopped: {e}", file=sys.stderr)
        return 3
    except Terminated:
        print(f"hrfevo {args.command}: terminated", file=sys.stderr)
        return 128 + signal.SIGTERM
    except KeyboardInterrupt:
        print(f"hrfevo {args.command}: interrupted", file=sys.stderr)
        return 128 + signal.SIGINT
    except BrokenPipeError:  # `hrfevo status RUN | head`: the reader left, which is fine
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    finally:
        if in_main_thread:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
