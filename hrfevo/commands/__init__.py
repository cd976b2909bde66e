"""Subcommands of the `hrfevo` CLI, in the order `hrfevo --help` lists them."""

from types import ModuleType

from hrfevo.commands import calibrate, export, generate, report, resume, run, status, train

COMMANDS: list[ModuleType] = [run, resume, status, report, export, train, generate, calibrate]
