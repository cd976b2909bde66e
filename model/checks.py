"""The checks the config dataclasses share: one error that names the field and its value.

`ModelConfig`, `TrainConfig` and hrfevo's `SearchSpace` and `RunConfig` all raise `ConfigError`
through `fail`, as `where.name=value: why`. A caller that knows where the values came from
re-homes the error with `within`: hrfevo reports a bad `TrainConfig.batch_size` of a run's
budget as `budget.batch_size`, and `hrfevo train` as its flag `--batch-size`.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, NoReturn, TypeGuard


class ConfigError(ValueError):
    """A bad value of one field: `where.name=value: why` (`name=value: why` without `where`)."""

    def __init__(self, name: str, value: Any, why: str, where: str = "") -> None:
        self.where, self.name, self.value, self.why = where, name, value, why
        super().__init__(
            f"{where}.{name}={value!r}: {why}" if where else f"{name}={value!r}: {why}"
        )

    def within(self, where: str) -> ConfigError:
        """The same error, named as a field of `where` (a config section, say)."""
        return ConfigError(self.name, self.value, self.why, where)


def fail(name: str, value: Any, why: str, where: str = "") -> NoReturn:
    """Raise the ConfigError `where.name=value: why`."""
    raise ConfigError(name, value, why, where)


def is_int(value: Any) -> TypeGuard[int]:
    """A JSON integer: an int, and not a bool (which Python counts as one)."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> TypeGuard[int | float]:
    """A finite JSON number (an int or a float, not a bool): JSON cannot hold inf or NaN."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def check_int(name: str, value: Any, lo: int, hi: int, where: str = "") -> None:
    """ConfigError unless `value` is an integer in [lo, hi]."""
    if not (is_int(value) and lo <= value <= hi):
        fail(name, value, f"must be an integer from {lo} to {hi}", where)


def reject_unknown_fields(cls: type, d: Any, where: str) -> None:
    """Raise a ValueError unless `d` is a mapping whose keys are all fields of dataclass `cls`."""
    if not isinstance(d, dict):
        raise ValueError(f"{where}: expected a mapping of fields, got {type(d).__name__}")
    unknown = sorted(set(d) - {f.name for f in dataclasses.fields(cls)})
    if unknown:
        raise ValueError(f"{where}: unknown field(s) {', '.join(map(str, unknown))}")
