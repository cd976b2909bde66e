"""Subcommands of the `hrfevo` CLI, in the order `hrfevo --help` lists them.

Every command is one module here, `hrfevo/commands/<name>.py`. The command's name is the
module's, with `-` for `_` (`export_optuna.py` is `hrfevo export-optuna`). Each module has:

- a docstring whose first line reads "`hrfevo <name>`: <what it does>". The text after the
  colon is the command's line in `hrfevo --help`; the whole docstring, as written (usage
  lines keep their layout), is the description in `hrfevo <name> --help`.
- `add_arguments(parser: argparse.ArgumentParser) -> None`, which adds its arguments, every
  one with `help=` (flags shared by several commands come from `hrfevo.commands.common`).
  `hrfevo.cli` makes the subparser from the name and docstring, calls `add_arguments`, and
  sets `main` as the function to run: a module never calls `add_parser` itself.
- `main(args: argparse.Namespace) -> int`, which does the work and returns the exit status.
  Bad input raises `hrfevo.errors.UsageError` (one line on stderr, exit status 2). Heavy
  modules (torch, ray, pandas, optuna) are imported inside `main`, never at the top, so
  `hrfevo --help` stays quick; `tests/hrfevo/test_cli_features.py` checks all of this.
- optionally `epilog() -> str`: text shown after the arguments in `hrfevo <name> --help`
  (e.g. the presets table), computed only when that help is printed, so it may import torch.

Shared flags and helpers live in `hrfevo.commands.common`, which is not a command.

Registering a command: write the module, import it below and add it to `COMMANDS`.
"""

from types import ModuleType

from hrfevo.commands import (
    calibrate,
    export,
    export_optuna,
    generate,
    report,
    resume,
    run,
    runs,
    status,
    train,
)

COMMANDS: list[ModuleType] = [
    run,
    resume,
    status,
    runs,
    report,
    export,
    export_optuna,
    train,
    generate,
    calibrate,
]
