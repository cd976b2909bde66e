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

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from model.checks import check_int, fail, is_number, reject_unknown_fields
from model.config import MAX_SEQ_LEN, MAX_SIZES, ModelConfig
from model.embedding import TableEmbedding
from model.lm import SpectralLM
from model.train import _autocast, _torch_threads, resolve_device, seed_stream
from model.train_config import MAX_STEPS

IGNORE = -100  # a target that is not scored
WHERE = "recall"  # the config section that holds a Probe
MAX_BATCH = 2**20  # sequences per step, or scored at the end


@dataclass(frozen=True)
class Probe:
    """The MQAR probe's settings: the task, and the training that learns it. A config file's
    `recall` section holds these fields; each bad one is a ConfigError naming it."""

    # The defaults are measured (reports/recall.md): the smallest task on which attention
    # learns recall within a few CPU-minutes, and the spectral mixers do not.
    pairs: int = 4  # K key-value pairs per sequence
    seq_len: int | None = None  # the probe's sequences; None: the model's context
    vocab: int | None = 64  # tokens 0..vocab-1 make the task; None: the model's vocabulary
    power_a: float = 0.01  # Zoology's power law for the query gaps
    steps: int = 1500  # optimiser steps on fresh sequences
    batch_size: int = 32
    lr: float = 3e-3  # AdamW, one-cycle: linear warm-up over 10%, cosine to zero
    weight_decay: float = 0.0
    eval_examples: int = 512  # held-out sequences scored at the end

    def __post_init__(self) -> None:
        for name, hi in (
            ("steps", MAX_STEPS),
            ("batch_size", MAX_BATCH),
            ("eval_examples", MAX_BATCH),
        ):
            check_int(name, getattr(self, name), 1, hi, WHERE)
        check_int("pairs", self.pairs, 1, MAX_SEQ_LEN // 4, WHERE)
        if self.seq_len is not None:
            check_int("seq_len", self.seq_len, 4, MAX_SEQ_LEN, WHERE)
        if self.vocab is not None:
            check_int("vocab", self.vocab, 4, MAX_SIZES["vocab_size"], WHERE)
        if not (is_number(self.power_a) and 0 < self.power_a <= 1):
            fail("power_a", self.power_a, "must lie in (0, 1]", WHERE)
        if not (is_number(self.lr) and 0 < self.lr <= 1):
            fail("lr", self.lr, "must lie in (0, 1]", WHERE)
        if not (is_number(self.weight_decay) and self.weight_decay >= 0):
            fail("weight_decay", self.weight_decay, "must not be negative", WHERE)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Probe:
        reject_unknown_fields(cls, d, WHERE)
        return cls(**d)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def length(self, context: int) -> int:
        """The probe's sequence length for a model of this context: its own, or the context."""
        return context if self.seq_len is None else self.seq_len

    def tokens(self, vocab_size: int) -> int:
        """How many of a model's `vocab_size` tokens the task draws from."""
        return vocab_size if self.vocab is None else self.vocab

    def check(self, seq_len: int, vocab_size: int) -> None:
        """ConfigError naming the setting that cannot make an MQAR sequence of this shape for
        a model of `vocab_size` tokens."""
        if self.vocab is not None and self.vocab > vocab_size:
            fail("vocab", self.vocab, f"is more than the model's {vocab_size} tokens", WHERE)
        vocab_size = self.tokens(vocab_size)
        if self.pairs > vocab_size // 2 - 1:
            why = f"a vocabulary of {vocab_size} holds {vocab_size // 2 - 1} distinct keys"
            fail("pairs", self.pairs, why, WHERE)
        if 4 * self.pairs > seq_len:
            why = (
                f"{self.pairs} pairs and as many queries need {4 * self.pairs} tokens, "
                f"more than seq_len={seq_len}"
            )
            fail("pairs", self.pairs, why, WHERE)


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
    cfg: ModelConfig, probe: Probe, seed: int = 0, threads: int | None = 1, device: str = "cpu"
) -> float:
    """Train `cfg`'s architecture, from scratch, on MQAR sequences of the probe's length (the
    model's context unless it sets one); return its accuracy on `probe.eval_examples` held-out
    ones (the share of queries answered right). On CUDA the forward pass runs in bf16 autocast,
    as proxy training's does."""
    T = probe.length(cfg.seq_len)
    probe.check(T, cfg.vocab_size)
    cfg = dataclasses.replace(cfg, seq_len=T)
    where = resolve_device(device)
    train_rng = np.random.default_rng(seed_stream(seed, "batches"))
    test_rng = np.random.default_rng(seed_stream(seed, "search"))  # an independent stream

    def batch(rng: np.random.Generator, n: int) -> tuple[Tensor, Tensor]:
        x, y = mqar(rng, n, T, probe.pairs, probe.tokens(cfg.vocab_size), probe.power_a)
        return x.to(where), y.to(where)

    with _torch_threads(threads), torch.random.fork_rng():
        torch.manual_seed(int(seed_stream(seed, "init").generate_state(1)[0]))
        model = probe_init(SpectralLM(cfg)).to(where)
        optimizer = torch.optim.AdamW(model.parameters(), lr=probe.lr, betas=(0.9, 0.99),
                                      weight_decay=probe.weight_decay)  # fmt: skip
        warmup = max(1, probe.steps // 10)
        schedule = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda s: _one_cycle(s, warmup, probe.steps)
        )
        model.train()
        for _ in range(probe.steps):
            x, y = batch(train_rng, probe.batch_size)
            with _autocast(where):
                logits = model(x)
            loss = F.cross_entropy(logits.float().flatten(0, 1), y.flatten(), ignore_index=IGNORE)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
        model.eval()
        x, y = batch(test_rng, probe.eval_examples)
        with torch.no_grad(), _autocast(where):
            predicted = model(x).argmax(dim=-1)
    scored = y != IGNORE
    return float((predicted[scored] == y[scored]).float().mean())


def probe_init(model: SpectralLM) -> SpectralLM:
    """`model` with its linear layers at PyTorch's own initialisation (uniform within
    ±1/√fan-in) and its embedding table N(0, 1/D), in place of GPT-2's N(0, 0.02) for both.

    At the probe's widths (32 to 128) 0.02 is far below 1/√D: every attention score starts
    near zero, and the two-layer circuit that recall needs forms late, if at all. With the
    table at N(0, 1/D) the tied head's logits start at unit scale too. Measured while choosing
    the defaults (attention, width 64, T 64, 4 pairs, vocabulary 64, batch 32, lr 3e-3, one
    thread): from GPT-2's initialisation, or with only the linear layers reset, accuracy stayed
    at 0.24-0.29 (a guess among the sequence's 4 values) for 2,000 to 4,000 steps; with the
    table at N(0, 1) as well, one seed in three learnt recall within 2,000 steps; from this
    initialisation every one of seeds 0-5 reached 1.00 in the default 1,500 steps (5 of 6 in
    1,000, none of 6 at lr 1e-2: `python -m benchmarks.recall --mixers attention --widths 64
    --seq-lens 64 --seeds 6 --steps 1000` reruns one of these). Proxy training keeps GPT-2's:
    its loss does not wait on such a circuit. Every mixer's linear layers are reset alike;
    filters and harmonic bases keep their own initialisation."""
    for module in model.modules():
        if isinstance(module, nn.Linear):
            module.reset_parameters()
    if isinstance(model.embed, TableEmbedding):
        nn.init.normal_(model.embed.table.weight, std=model.cfg.d_model**-0.5)
    return model


def _one_cycle(step: int, warmup: int, steps: int) -> float:
    if step < warmup:
        return (step + 1) / warmup
    return 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, steps - warmup)))
