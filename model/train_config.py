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
import re
from dataclasses import dataclass
from typing import Any

from model.checks import check_int, fail, is_int, is_number, reject_unknown_fields

_DEVICE = re.compile(r"auto|cpu|cuda(:\d+)?")
SCHEDULES = ("cosine", "wsd")
WHERE = "TrainConfig"  # how its errors name a field: TrainConfig.lr=0: ...
# Bounds that catch a typo before it costs anything. Sizes that cost memory (the batch, the
# model) are bounded by the memory they need instead: see `model.memory`.
MAX_SEED = 2**32 - 1  # every RNG takes it: numpy's, torch's (a 64-bit long), Python's
MAX_STEPS = 10**9  # optimiser steps: years of training for the smallest model on any machine
MAX_THREADS = 1024  # torch threads


def valid_device(name: Any) -> bool:
    """Whether `name` is a device a config may name: auto, cpu, cuda or cuda:N."""
    return isinstance(name, str) and _DEVICE.fullmatch(name) is not None


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
            fail(
                "steps", self.steps, f"give exactly one of steps and tokens={self.tokens!r}", WHERE
            )
        if self.steps is not None:
            check_int("steps", self.steps, 1, MAX_STEPS, WHERE)
        for name in ("tokens", "batch_size", "eval_tokens"):
            value = getattr(self, name)
            if value is not None and not (is_int(value) and value >= 1):
                fail(name, value, "must be a positive integer", WHERE)
        if self.warmup_steps is not None:
            check_int("warmup_steps", self.warmup_steps, 0, MAX_STEPS, WHERE)
        if self.schedule not in SCHEDULES:
            fail("schedule", self.schedule, f"choose {' or '.join(SCHEDULES)}", WHERE)
        check_int("seed", self.seed, 0, MAX_SEED, WHERE)
        if self.threads is not None:
            check_int("threads", self.threads, 1, MAX_THREADS, WHERE)
        self._check_floats()
        if not valid_device(self.device):
            fail("device", self.device, "choose auto, cpu, cuda or cuda:N", WHERE)

    def _check_floats(self) -> None:
        rules = (  # (field, accepted range as a predicate, how to say it)
            ("lr", lambda v: v > 0, "must be a positive finite number"),
            ("warmup", lambda v: 0 <= v < 1, "must lie in [0, 1)"),
            ("min_lr_ratio", lambda v: 0 <= v <= 1, "must lie in [0, 1]"),
            ("decay", lambda v: 0 < v <= 1, "must lie in (0, 1]"),
            ("weight_decay", lambda v: v >= 0, "must be a finite number >= 0"),
            ("grad_clip", lambda v: v >= 0, "must be a finite number >= 0 (0: off)"),
        )
        for name, accepts, why in rules:
            value = getattr(self, name)
            if not is_number(value) or not accepts(value):
                fail(name, value, why, WHERE)

    def num_steps(self, seq_len: int) -> int:
        """Optimiser steps of the budget for a context of `seq_len` tokens."""
        if self.steps is not None:
            return self.steps
        assert self.tokens is not None
        steps = self.tokens // (self.batch_size * seq_len)
        if steps < 1:
            fail("tokens", self.tokens, f"less than one batch ({self.batch_size}×{seq_len})", WHERE)
        if steps > MAX_STEPS:
            fail(
                "tokens",
                self.tokens,
                f"{steps} steps of {self.batch_size}×{seq_len}, over the {MAX_STEPS} allowed",
                WHERE,
            )
        return steps

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainConfig:
        """Inverse of `to_dict`; an unknown key is a ValueError naming it."""
        reject_unknown_fields(cls, d, WHERE)
        return cls(**d)
