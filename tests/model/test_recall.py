"""MQAR: the sequences follow Zoology's rules on the byte vocabulary, and a model that cannot
see the context scores chance."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from model import ModelConfig
from model.mixers import MIXERS
from model.recall import IGNORE, Probe, mqar, recall_accuracy


def test_every_key_is_queried_once_after_the_pairs_and_its_value_is_the_target() -> None:
    T, K, V = 64, 6, 256
    x, y = mqar(np.random.default_rng(0), 50, T, K, V)
    assert x.shape == y.shape == (50, T) and x.dtype == y.dtype == torch.int64
    for tokens, targets in zip(x.tolist(), y.tolist(), strict=True):
        keys, values = tokens[0 : 2 * K : 2], tokens[1 : 2 * K : 2]
        assert len(set(keys)) == K and all(1 <= k < V // 2 for k in keys)
        assert len(set(values)) == K and all(V // 2 <= v < V for v in values)
        queries = [t for t in range(T) if targets[t] != IGNORE]
        assert len(queries) == K and all(t >= 2 * K and (t - 2 * K) % 2 == 0 for t in queries)
        assert sorted(tokens[t] for t in queries) == sorted(keys)
        assert all(targets[t] == values[keys.index(tokens[t])] for t in queries)
    again = mqar(np.random.default_rng(0), 50, T, K, V)
    assert torch.equal(again[0], x) and torch.equal(again[1], y)


def test_the_power_law_puts_most_queries_early() -> None:
    _, y = mqar(np.random.default_rng(1), 400, 256, 4)
    where = torch.nonzero(y != IGNORE)[:, 1].float() - 8  # offset after the 4 pairs
    assert where.median() < 248 / 4  # a = 0.01: the first quarter holds most gaps


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"pairs": 0}, "pairs=0"),
        ({"pairs": 9}, "more than seq_len=32"),
        ({"power_a": 0.0}, "power_a"),
        ({"steps": 0}, "steps=0"),
        ({"vocab": 300}, "recall.vocab=300: is more than the model's 256 tokens"),
        ({"vocab": 8, "pairs": 4}, "recall.pairs=4: a vocabulary of 8 holds 3 distinct keys"),
        ({"seq_len": 2}, "recall.seq_len=2"),
        ({"lr": 0}, "recall.lr=0"),
        ({"weight_decay": -0.1}, "recall.weight_decay=-0.1"),
        ({"batch_size": 1.5}, "recall.batch_size=1.5"),
    ],
)
def test_an_impossible_probe_is_refused_naming_the_setting(changes: dict, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        Probe(**changes).check(32, 256)


def test_a_vocabulary_slice_draws_every_token_below_it() -> None:
    x, y = mqar(np.random.default_rng(2), 20, 64, 4, vocab_size=16)
    assert int(x.max()) < 16 and int(y[y != IGNORE].min()) >= 8


def test_a_model_that_cannot_see_the_context_scores_chance(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every mixer outputs zeros, so each position sees only its own token: a query's value
    cannot be known, and accuracy stays near chance (1 in 128) however it trains."""
    for mixer in MIXERS.values():
        monkeypatch.setattr(mixer, "forward", lambda self, x: torch.zeros_like(x))
    cfg = ModelConfig(vocab_size=256, seq_len=32, d_model=32, n_layers=1, mixer="attention",
                      embedding="table")  # fmt: skip
    probe = Probe(pairs=4, vocab=None, steps=150, batch_size=32, lr=1e-2, eval_examples=256)
    accuracy = recall_accuracy(cfg, probe, seed=0)
    assert accuracy < 0.03, accuracy  # chance is 0.0078; 1,024 queries scored


@pytest.mark.slow
def test_attention_learns_to_recall_at_the_probes_defaults() -> None:
    """The positive control, at the defaults reports/recall.md measured: two attention layers
    of width 64 answer far above 1/K, the score of a model that knows the answer is one of the
    sequence's K values but not which (0.25), so the probe measures recall, not that."""
    cfg = ModelConfig(vocab_size=256, seq_len=64, d_model=64, n_layers=2, mixer="attention",
                      embedding="table", n_heads=4)  # fmt: skip
    assert recall_accuracy(cfg, Probe(), seed=0) > 0.8


def test_the_probe_trains_at_its_own_length_and_vocabulary(monkeypatch: pytest.MonkeyPatch) -> None:
    import model.recall as recall

    shapes: list[tuple[int, int]] = []
    real = recall.mqar

    def spy(rng: np.random.Generator, n: int, seq_len: int, pairs: int, vocab_size: int,
            power_a: float) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
        shapes.append((seq_len, vocab_size))
        return real(rng, n, seq_len, pairs, vocab_size, power_a)

    monkeypatch.setattr(recall, "mqar", spy)
    cfg = ModelConfig(vocab_size=256, seq_len=64, d_model=16, n_layers=1, mixer="fourier",
                      embedding="table")  # fmt: skip
    probe = Probe(pairs=2, seq_len=16, vocab=32, steps=2, batch_size=2, eval_examples=4)
    assert 0.0 <= recall_accuracy(cfg, probe) <= 1.0
    assert set(shapes) == {(16, 32)} and len(shapes) == 3  # two steps and the held-out set
