"""Executors by name. Adding one: a file here and one `EXECUTORS` entry,
"name": "hrfevo.executors.<file>:<Class>" (imported only when a run uses it; the first entry
is the default)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hrfevo.registry import Registry

if TYPE_CHECKING:
    from hrfevo.executor import Executor

EXECUTORS: Registry[Executor] = Registry(
    "executor",
    {
        "ray": "hrfevo.executors.ray_executor:RayExecutor",
        "serial": "hrfevo.executors.serial:SerialExecutor",
    },
)

__all__ = ["EXECUTORS"]
