"""Executors by name. Adding one: a file here and one `EXECUTORS` entry."""

from hrfevo.executor import Executor
from hrfevo.executors.serial import SerialExecutor

EXECUTORS: dict[str, type[Executor]] = {"serial": SerialExecutor}

__all__ = ["EXECUTORS", "SerialExecutor"]
