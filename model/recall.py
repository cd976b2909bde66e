"""In-context recall: multi-query associative recall (MQAR), the probe of Zoology (Arora et al.
2023), on the byte vocabulary.

A sequence of T tokens opens with K key-value pairs, keys drawn without replacement from the
lower half of the vocabulary and values from the upper half; the rest of it is filler, in which
every key is queried once, at an even offset whose gap from the pairs follows Zoology's power
law (p(g) ∝ a·g^(a-1) over the T/2 - K slots, with a = 0.01: most queries come early, a few
late). The filler is random tokens. Only the token after each query is scored: the model must
predict that key's value, which only the context can tell it.

    inputs  k1 v1 k2 v2 ... kK vK  r r k2 r r r r k1 r ...
    targets  .  .  .  .  ...  .  .  . . v2 . . . . v1 . ...    (. = not scored)

`recall_accuracy` trains a freshly initialised model of an architecture on MQAR alone and
returns its accuracy on held-out sequences; chance is 2/V (one value of V/2).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from model.config import ModelConfig
from model.lm import SpectralLM
from model.train import _torch_threads, seed_stream

IGNORE = -100  # a target that is not scored


@dataclass(frozen=True)
class Probe:
    """The MQAR probe's settings: the task, and the training that learns it."""

    pairs: int = 8  # K key-value pairs per sequence
    power_a: float = 0.01  # Zoology's power law for the query gaps
    steps: int = 1000  # optimiser steps on fresh sequences
    batch_size: int = 64
    lr: float = 3e-3  # AdamW, one-cycle: linear warm-up over 10%, cosine to zero
    weight_decay: float = 0.1
    eval_examples: int = 512  # held-out sequences scored at the end

    def check(self, seq_len: int, vocab_size: int) -> None:
        """ValueError naming the setting that cannot make an MQAR sequence of this shape."""
        if not (isinstance(self.pairs, int) and 1 <= self.pairs <= vocab_size // 2 - 1):
            raise ValueError(f"probe pairs={self.pairs}: must lie in [1, {vocab_size // 2 - 1}]")
        if 4 * self.pairs > seq_len:
            raise ValueError(
                f"probe pairs={self.pairs}: {self.pairs} pairs and as many queries need "
                f"{4 * self.pairs} tokens, more than seq_len={seq_len}"
            )
        if not 0 < self.power_a <= 1:
            raise ValueError(f"probe power_a={self.power_a}: must lie in (0, 1]")
        for name in ("steps", "batch_size", "eval_examples"):
            if not (isinstance(getattr(self, name), int) and getattr(self, name) >= 1):
                raise ValueError(f"probe {name}={getattr(self, name)}: must be at least 1")
        if not self.lr > 0:
            raise ValueError(f"probe lr={self.lr}: must be positive")
        if not self.weight_decay >= 0:
            raise ValueError(f"probe weight_decay={self.weight_decay}: must not be negative")


def mqar(
    rng: np.random.Generator, n: int, seq_len: int, pairs: int, vocab_size: int = 256,
    power_a: float = 0.01,
) -> tuple[Tensor, Tensor]:  # fmt: skip
    """`n` MQAR sequences: (inputs, targets), each (n, seq_len) int64; targets are IGNORE
    except after each query, where they hold the queried key's value."""
    half = vocab_size // 2
    keys = np.stack([rng.choice(np.arange(1, half), pairs, replace=False) for _ in range(n)])
    values = np.stack([rng.choice(np.arange(half, vocab_size), pairs, replace=False)
                       for _ in range(n)])  # fmt: skip
    tokens = rng.integers(0, vocab_size, size=(n, seq_len))  # the filler
    targets = np.full((n, seq_len), IGNORE, dtype=np.int64)
    tokens[:, 0 : 2 * pairs : 2], tokens[:, 1 : 2 * pairs : 2] = keys, values
    slots = (seq_len - 2 * pairs) // 2  # even offsets after the pairs, one token after each
    law = power_a * np.arange(1, slots + 1) ** (power_a - 1)
    for i in range(n):
        gaps = rng.choice(slots, pairs, replace=False, p=law / law.sum())
        where = 2 * pairs + 2 * gaps  # each key, queried once, in the order the gaps fell
        tokens[i, where] = keys[i]
        targets[i, where] = values[i]  # predicted at the query: the next token is the value
    return torch.from_numpy(tokens), torch.from_numpy(targets)


def recall_accuracy(
    cfg: ModelConfig, probe: Probe, seed: int = 0, threads: int | None = 1
) -> float:
    """Train `cfg`'s architecture, from scratch, on MQAR sequences of its seq_len; return its
    accuracy on `probe.eval_examples` held-out ones (the share of queries answered right)."""
    probe.check(cfg.seq_len, cfg.vocab_size)
    train_rng = np.random.default_rng(seed_stream(seed, "batches"))
    test_rng = np.random.default_rng(seed_stream(seed, "search"))  # an independent stream
    with _torch_threads(threads), torch.random.fork_rng():
        torch.manual_seed(int(seed_stream(seed, "init").generate_state(1)[0]))
        model = SpectralLM(cfg)
        optimizer = torch.optim.AdamW(model.parameters(), lr=probe.lr, betas=(0.9, 0.99),
                                      weight_decay=probe.weight_decay)  # fmt: skip
        warmup = max(1, probe.steps // 10)
        schedule = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda s: _one_cycle(s, warmup, probe.steps)
        )
        model.train()
        for _ in range(probe.steps):
            x, y = mqar(train_rng, probe.batch_size, cfg.seq_len, probe.pairs, cfg.vocab_size,
                        probe.power_a)  # fmt: skip
            loss = F.cross_entropy(model(x).flatten(0, 1), y.flatten(), ignore_index=IGNORE)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
        model.eval()
        x, y = mqar(test_rng, probe.eval_examples, cfg.seq_len, probe.pairs, cfg.vocab_size,
                    probe.power_a)  # fmt: skip
        with torch.no_grad():
            predicted = model(x).argmax(dim=-1)
    scored = y != IGNORE
    return float((predicted[scored] == y[scored]).float().mean())


def _one_cycle(step: int, warmup: int, steps: int) -> float:
    if step < warmup:
        return (step + 1) / warmup
    return 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, steps - warmup)))
