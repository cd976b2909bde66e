"""WSD schedules and continued runs: a paused run continued is the longer run from scratch."""

from __future__ import annotations

import pytest
import torch

from model.data import Corpus, load_corpus
from model.train import TrainConfig, decay_start, learning_rate, train
from model.train_state import TrainState
from tests.model.tiny import TINY


@pytest.fixture(scope="module")
def corpus() -> Corpus:
    return load_corpus("builtin")


def wsd(steps: int, **kw: object) -> TrainConfig:
    base = {"steps": steps, "batch_size": 4, "eval_tokens": 1024, "lr": 3e-3}
    return TrainConfig(**(base | {"schedule": "wsd", "warmup_steps": 5} | kw))  # type: ignore[arg-type]


def test_wsd_holds_the_peak_until_its_decay_whatever_the_budget() -> None:
    short, long = wsd(40), wsd(200)
    assert decay_start(40, short) == 32 and decay_start(200, long) == 160
    for step in range(32):  # the stable stage is the same in both budgets
        assert learning_rate(step, 40, short) == learning_rate(step, 200, long)
    assert learning_rate(4, 40, short) == pytest.approx(3e-3 * 5 / 6)  # warm-up
    assert learning_rate(31, 40, short) == 3e-3
    assert learning_rate(39, 40, short) == pytest.approx(3e-4)  # min_lr_ratio 0.1 at the end
    lrs = [learning_rate(s, 40, short) for s in range(32, 40)]
    assert lrs == sorted(lrs, reverse=True) and lrs[0] < 3e-3


def test_a_continued_run_is_the_longer_run_from_scratch(corpus: Corpus) -> None:
    _, short = train(TINY, wsd(40), corpus, progress=False, trunk=True)
    assert short.trunk is not None and short.trunk.step == 32
    state = TrainState.from_bytes(short.trunk.to_bytes())  # across processes, as bytes
    _, continued = train(TINY, wsd(80), corpus, progress=False, start=state, trunk=True)
    _, scratch = train(TINY, wsd(80), corpus, progress=False, trunk=True)
    assert continued.val_loss == scratch.val_loss  # bit for bit, on the CPU
    assert (continued.continued_from, scratch.continued_from) == (32, 0)
    assert continued.train_tokens == scratch.train_tokens == 80 * 4 * 32
    assert continued.trunk is not None and scratch.trunk is not None
    for name, tensor in scratch.trunk.model.items():
        assert torch.equal(continued.trunk.model[name], tensor), name
    assert continued.trunk.rng == scratch.trunk.rng


def test_continuing_needs_a_budget_independent_stable_stage(corpus: Corpus) -> None:
    _, short = train(TINY, wsd(40), corpus, progress=False, trunk=True)
    assert short.trunk is not None
    with pytest.raises(ValueError, match="needs schedule='wsd' with warmup_steps"):
        train(TINY, wsd(80, schedule="cosine"), corpus, progress=False, start=short.trunk)
    with pytest.raises(ValueError, match="needs schedule='wsd' with warmup_steps"):
        train(TINY, wsd(80, warmup_steps=None), corpus, progress=False, trunk=True)
    with pytest.raises(ValueError, match="cannot continue into a 20-step run"):
        train(TINY, wsd(20), corpus, progress=False, start=short.trunk)  # its decay starts at 16


def test_a_blob_that_is_not_a_state_is_refused() -> None:
    with pytest.raises(ValueError, match="not a training state"):
        TrainState.from_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json}      ")
