"""`TrainConfig`: the budget and optimiser settings of one proxy training run.

The defaults are nanoGPT's Tiny Shakespeare settings (config/train_shakespeare_char.py):
lr 1e-3 decaying to 1e-4, weight decay 0.1, gradient clipping at 1.0, warm-up 100 of 2000 steps.

Two schedules (see `model.train.learning_rate`): "cosine" (nanoGPT's) decays over the whole
budget, so every step's learning rate depends on the budget; "wsd" (warm-up, stable, decay)
holds the peak until a final `decay` share of the steps. With a warm-up given in steps
(`warmup_steps`), a WSD run's learning rate before its decay does not depend on the budget, so
a run of S steps paused before its decay can be continued into a longer one
(`model.train_state`) with the result of training the longer one from scratch.
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass
from typing import Any, NoReturn

from model.config import reject_unknown_fields

_DEVICE = re.compile(r"auto|cpu|cuda(:\d+)?")
SCHEDULES = ("cosine", "wsd")


def _fail(name: str, value: Any, why: str) -> NoReturn:
    raise ValueError(f"TrainConfig.{name}={value!r}: {why}")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass
class TrainConfig:
    """One proxy run. Give exactly one of `steps` and `tokens` (the budget)."""

    steps: int | None = None  # optimiser steps
    tokens: int | None = None  # token budget; steps = tokens // (batch_size · seq_len)
    batch_size: int = 12  # sequences per step
    lr: float = 1e-3  # peak learning rate, reached after the warm-up
    warmup: float = 0.05  # fraction of the steps spent in linear warm-up
    warmup_steps: int | None = None  # the warm-up in steps instead (then `warmup` is unused)
    schedule: str = "cosine"  # "cosine" over the whole budget, or "wsd" (see module doc)
    decay: float = 0.2  # "wsd": the share of the steps in the final decay
    min_lr_ratio: float = 0.1  # the decay ends at lr · min_lr_ratio on the last step
    weight_decay: float = 0.1  # AdamW's decoupled decay, on matrices only
    grad_clip: float = 1.0  # max global gradient norm; 0 disables clipping
    eval_tokens: int = 65536  # validation tokens scored, in windows spread over the whole split
    seed: int = 0  # its "init" and "batches" streams seed initialisation and the batch sampler
    threads: int | None = 1  # torch threads on CPU; None leaves torch's setting alone
    device: str = "auto"  # "auto" (CUDA if visible, else CPU), "cpu", "cuda" or "cuda:N"

    def __post_init__(self) -> None:
        if (self.steps is None) == (self.tokens is None):
            _fail("steps", self.steps, f"give exactly one of steps and tokens={self.tokens!r}")
        for name in ("steps", "tokens", "batch_size", "eval_tokens"):
            value = getattr(self, name)
            if value is not None and not (_is_int(value) and value >= 1):
                _fail(name, value, "must be a positive integer")
        if self.warmup_steps is not None and not (
            _is_int(self.warmup_steps) and self.warmup_steps >= 0
        ):
            _fail("warmup_steps", self.warmup_steps, "must be a non-negative integer or None")
        if self.schedule not in SCHEDULES:
            _fail("schedule", self.schedule, f"choose {' or '.join(SCHEDULES)}")
        if not (_is_int(self.seed) and self.seed >= 0):
            _fail("seed", self.seed, "must be a non-negative integer")
        if self.threads is not None and not (_is_int(self.threads) and self.threads >= 1):
            _fail("threads", self.threads, "must be a positive integer or None")
        self._check_floats()
        if not isinstance(self.device, str) or not _DEVICE.fullmatch(self.device):
            _fail("device", self.device, "choose auto, cpu, cuda or cuda:N")

    def _check_floats(self) -> None:
        rules = (  # (field, accepted range as a predicate, how to say it)
            ("lr", lambda v: 0 < v < math.inf, "must be a positive finite number"),
            ("warmup", lambda v: 0 <= v < 1, "must lie in [0, 1)"),
            ("min_lr_ratio", lambda v: 0 <= v <= 1, "must lie in [0, 1]"),
            ("decay", lambda v: 0 < v <= 1, "must lie in (0, 1]"),
            ("weight_decay", lambda v: 0 <= v < math.inf, "must be a finite number >= 0"),
            ("grad_clip", lambda v: 0 <= v < math.inf, "must be a finite number >= 0 (0: off)"),
        )
        for name, accepts, why in rules:
            value = getattr(self, name)
            if not isinstance(value, int | float) or isinstance(value, bool) or not accepts(value):
                _fail(name, value, why)

    def num_steps(self, seq_len: int) -> int:
        """Optimiser steps of the budget for a context of `seq_len` tokens."""
        if self.steps is not None:
            return self.steps
        assert self.tokens is not None
        steps = self.tokens // (self.batch_size * seq_len)
        if steps < 1:
            _fail("tokens", self.tokens, f"less than one batch ({self.batch_size}×{seq_len})")
        return steps

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainConfig:
        """Inverse of `to_dict`; an unknown key is a ValueError naming it."""
        reject_unknown_fields(cls, d, "TrainConfig")
        return cls(**d)
