"""Executors by name. Adding one: a file here and one `EXECUTORS` entry."""

from hrfevo.executor import Executor
from hrfevo.executors.ray_executor import RayExecutor
from hrfevo.executors.serial import SerialExecutor

EXECUTORS: dict[str, type[Executor]] = {"ray": RayExecutor, "serial": SerialExecutor}

__all__ = ["EXECUTORS", "RayExecutor", "SerialExecutor"]
