"""Subcommands of the `hrfevo` CLI, in the order `hrfevo --help` lists them."""

from types import ModuleType

COMMANDS: list[ModuleType] = []
