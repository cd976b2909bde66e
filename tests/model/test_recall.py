"""MQAR: the sequences follow Zoology's rules on the byte vocabulary, and a model that cannot
see the context scores chance."""

from __future__ import annotations

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
    ],
)
def test_an_impossible_probe_is_refused_naming_the_setting(changes: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Probe(**changes).check(32, 256)


def test_a_model_that_cannot_see_the_context_scores_chance(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every mixer outputs zeros, so each position sees only its own token: a query's value
    cannot be known, and accuracy stays near chance (1 in 128) however it trains."""
    for mixer in MIXERS.values():
        monkeypatch.setattr(mixer, "forward", lambda self, x: torch.zeros_like(x))
    cfg = ModelConfig(vocab_size=256, seq_len=32, d_model=32, n_layers=1, mixer="attention",
                      embedding="table")  # fmt: skip
    probe = Probe(pairs=4, steps=150, batch_size=32, lr=1e-2, eval_examples=256)
    accuracy = recall_accuracy(cfg, probe, seed=0)
    assert accuracy < 0.03, accuracy  # chance is 0.0078; 1,024 queries scored


def test_attention_learns_to_recall_where_the_blind_model_cannot() -> None:
    """The positive control: two attention layers, 300 steps on two pairs, answer far above
    chance (measured 0.35 against 0.0078), so the probe measures what the context holds."""
    cfg = ModelConfig(vocab_size=256, seq_len=32, d_model=32, n_layers=2, mixer="attention",
                      embedding="table", n_heads=2)  # fmt: skip
    probe = Probe(pairs=2, steps=300, batch_size=32, lr=1e-2, eval_examples=256)
    assert recall_accuracy(cfg, probe, seed=0) > 0.15
