"""Proxy training: the config, the schedule, seed streams, determinism, divergence, and
evaluation."""

from __future__ import annotations

import dataclasses
import importlib
import itertools
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from model import ModelConfig, SpectralLM
from model.data import Corpus, eval_starts, load_corpus
from model.train import (
    TrainConfig,
    build_optimizer,
    evaluate,
    learning_rate,
    seed_stream,
    train,
)
from tests.model.tiny import TINY

# The module, not the function: `model` re-exports `train`, which shadows the submodule name.
train_module = importlib.import_module("model.train")


@pytest.fixture(scope="module")
def corpus(text_file: Path) -> Corpus:
    return load_corpus(str(text_file))


def quick(**kw: object) -> TrainConfig:
    return TrainConfig(**({"steps": 6, "batch_size": 4, "eval_tokens": 1024} | kw))  # type: ignore[arg-type]


# --- TrainConfig ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({}, "steps"),
        ({"steps": 5, "tokens": 100}, "steps"),
        ({"steps": 0}, "steps"),
        ({"tokens": -1}, "tokens"),
        ({"steps": 5, "batch_size": 0}, "batch_size"),
        ({"steps": 5, "lr": 0.0}, "lr"),
        ({"steps": 5, "lr": float("nan")}, "lr"),
        ({"steps": 5, "warmup": 1.0}, "warmup"),
        ({"steps": 5, "min_lr_ratio": 1.5}, "min_lr_ratio"),
        ({"steps": 5, "weight_decay": -0.1}, "weight_decay"),
        ({"steps": 5, "grad_clip": -1.0}, "grad_clip"),
        ({"steps": 5, "eval_tokens": 0}, "eval_tokens"),
        ({"steps": 5, "seed": -1}, "seed"),
        ({"steps": 5, "threads": 0}, "threads"),
        ({"steps": 5, "device": "tpu"}, "device"),
        ({"steps": True}, "steps"),
    ],
)
def test_train_config_rejects_bad_values_naming_the_field(kwargs: dict, field: str) -> None:
    with pytest.raises(ValueError, match=rf"TrainConfig\.{field}="):
        TrainConfig(**kwargs)


def test_train_config_round_trips_and_resolves_a_token_budget() -> None:
    cfg = TrainConfig(tokens=10_000, batch_size=4, threads=None, device="cuda:1")
    assert TrainConfig.from_dict(cfg.to_dict()) == cfg
    assert cfg.num_steps(seq_len=32) == 10_000 // (4 * 32)
    assert TrainConfig(steps=7).num_steps(seq_len=32) == 7
    with pytest.raises(ValueError, match="less than one batch"):
        TrainConfig(tokens=100, batch_size=4).num_steps(seq_len=32)
    with pytest.raises(ValueError, match="unknown field"):
        TrainConfig.from_dict({"steps": 5, "momentum": 0.9})


# --- schedule and optimiser ----------------------------------------------------------------


def test_warmup_then_cosine_to_min_lr_within_the_budget() -> None:
    cfg = TrainConfig(steps=100, lr=1e-3, warmup=0.05, min_lr_ratio=0.1)
    lrs = [learning_rate(s, 100, cfg) for s in range(100)]
    assert lrs[0] == pytest.approx(1e-3 / 6)  # warm-up over 5 steps, nanoGPT's (s+1)/(w+1)
    assert lrs[4] == pytest.approx(1e-3 * 5 / 6)
    assert lrs[5] == pytest.approx(1e-3)  # peak right after the warm-up
    assert lrs[99] == pytest.approx(1e-4)  # decayed to lr · min_lr_ratio on the last step
    mid = 5 + (99 - 5) / 2
    assert learning_rate(int(mid), 100, cfg) == pytest.approx(5.5e-4, rel=1e-3)  # cosine mid
    assert all(a >= b for a, b in itertools.pairwise(lrs[5:]))
    assert learning_rate(0, 1, TrainConfig(steps=1, warmup=0.0)) == pytest.approx(1e-3)


def test_weight_decay_only_on_matrices() -> None:
    model = SpectralLM(TINY)
    groups = build_optimizer(model, quick(weight_decay=0.1)).param_groups
    decayed = {id(p) for p in groups[0]["params"]}
    assert groups[0]["weight_decay"] == 0.1 and groups[1]["weight_decay"] == 0.0
    for name, p in model.named_parameters():
        expect = p.dim() >= 2 and not name.endswith("freq_weight")
        assert (id(p) in decayed) == expect, name
    assert sum(len(g["params"]) for g in groups) == len(list(model.parameters()))


# --- seed streams --------------------------------------------------------------------------


def test_seed_streams_are_independent_and_not_the_plain_seed() -> None:
    names = ("init", "batches", "search")
    for seed in (0, 1, 12345):
        draws = {n: np.random.default_rng(seed_stream(seed, n)).random() for n in names}
        plain = np.random.default_rng(seed).random()  # what train() and the search shared
        assert len({*draws.values(), plain}) == 4
        again = np.random.default_rng(seed_stream(seed, "search")).random()
        assert again == draws["search"]  # a stream is a function of (seed, name)
    assert (
        seed_stream(0, "init").generate_state(1)[0] != seed_stream(1, "init").generate_state(1)[0]
    )
    with pytest.raises(ValueError, match="name='mutation'"):
        seed_stream(0, "mutation")


def test_train_draws_init_and_batches_from_their_streams(
    corpus: Corpus, monkeypatch: pytest.MonkeyPatch
) -> None:
    states: list[Any] = []
    inits: list[dict[str, torch.Tensor]] = []
    real_get_batch = train_module.get_batch

    def spy_batch(
        tokens: np.ndarray, b: int, t: int, rng: np.random.Generator
    ) -> tuple[torch.Tensor, torch.Tensor]:
        states.append(rng.bit_generator.state)
        return real_get_batch(tokens, b, t, rng)

    class Spy(SpectralLM):
        def __init__(self, cfg: ModelConfig) -> None:
            super().__init__(cfg)
            inits.append({k: v.clone() for k, v in self.state_dict().items()})

    monkeypatch.setattr(train_module, "get_batch", spy_batch)
    monkeypatch.setattr(train_module, "SpectralLM", Spy)
    train(TINY, quick(seed=3, steps=1), corpus, progress=False)
    batches = np.random.default_rng(seed_stream(3, "batches")).bit_generator.state
    assert states[0] == batches
    assert states[0] != np.random.default_rng(3).bit_generator.state
    torch.manual_seed(int(seed_stream(3, "init").generate_state(1)[0]))
    expected = SpectralLM(TINY).state_dict()
    assert all(torch.equal(inits[0][k], v) for k, v in expected.items())


# --- train() -------------------------------------------------------------------------------


def test_same_config_and_seed_give_the_same_val_loss_to_the_last_bit(corpus: Corpus) -> None:
    rng_before = torch.get_rng_state()
    model_a, a = train(TINY, quick(seed=5), corpus, progress=False)
    model_b, b = train(TINY, quick(seed=5), corpus, progress=False)
    assert a.val_loss == b.val_loss  # exact, not approximate
    for pa, pb in zip(model_a.parameters(), model_b.parameters(), strict=True):
        assert torch.equal(pa, pb)
    assert torch.equal(torch.get_rng_state(), rng_before)  # the global RNG is left alone
    _, c = train(TINY, quick(seed=6), corpus, progress=False)
    assert c.val_loss != a.val_loss


def test_result_fields(corpus: Corpus) -> None:
    cfg = quick(steps=None, tokens=6 * 4 * 32)
    model, r = train(TINY, cfg, corpus, progress=False)
    assert r.status == "ok" and r.steps_done == 6 and r.device == "cpu"
    assert r.train_tokens == 6 * 4 * 32
    assert r.perplexity == pytest.approx(math.exp(r.val_loss))
    assert r.bits_per_byte == pytest.approx(r.val_loss / math.log(2))
    assert r.val_loss < math.log(256)  # six steps already beat uniform guessing
    assert r.params == model.num_parameters() and r.flops_per_token == model.flops_per_token()
    assert r.split == corpus.split() and r.split["test_tokens"] == len(corpus.test) > 0
    assert set(r.timings) == {"build", "data", "train", "eval"}
    assert r.seconds == pytest.approx(sum(r.timings.values()))
    assert r.tokens_per_second > 0
    assert not model.training
    assert set(r.to_dict()) >= {
        "val_loss",
        "perplexity",
        "bits_per_byte",
        "train_tokens",
        "tokens_per_second",
        "flops_per_token",
        "params",
        "seconds",
        "status",
    }


def test_evaluate_reproduces_the_recorded_val_loss(corpus: Corpus) -> None:
    cfg = quick()
    model, r = train(TINY, cfg, corpus, progress=False)
    assert evaluate(model, corpus.val, cfg.eval_tokens, cfg.batch_size) == r.val_loss


def test_evaluate_scores_exactly_the_windows_spread_over_the_split() -> None:
    torch.manual_seed(0)
    model = SpectralLM(TINY).eval()
    tokens = np.random.default_rng(0).integers(0, 256, 1000).astype(np.uint8)
    loss = evaluate(model, tokens, eval_tokens=96, batch_size=2)  # 3 windows of 32
    starts = eval_starts(len(tokens), 32, 3)
    assert starts.tolist() == [0, 483, 967]  # the start, the middle and the very end
    rows = starts[:, None] + np.arange(33)  # (3, T+1)
    with torch.no_grad():
        w = torch.from_numpy(tokens[rows].astype(np.int64))
        x, y = w[:, :-1], w[:, 1:]
        ref = torch.nn.functional.cross_entropy(model(x).flatten(0, 1), y.flatten())
    assert loss == pytest.approx(ref.item(), rel=1e-6)
    outside = np.ones(len(tokens), bool)
    outside[rows.ravel()] = False
    changed = tokens.copy()
    changed[outside] = 0  # bytes no window reads
    assert evaluate(model, changed, 96, 2) == loss
    changed[-1] ^= 1  # the last target of the last window
    assert evaluate(model, changed, 96, 2) != loss
    assert evaluate(model, tokens, eval_tokens=5, batch_size=2) > 0  # at least one window


def test_train_never_reads_the_test_split(corpus: Corpus) -> None:
    rng = np.random.default_rng(1)
    other = rng.integers(0, 256, len(corpus.test)).astype(np.uint8)
    swapped = dataclasses.replace(corpus, test=other)
    _, a = train(TINY, quick(), corpus, progress=False)
    _, b = train(TINY, quick(), swapped, progress=False)
    assert a.val_loss == b.val_loss


def test_a_diverging_run_is_reported_not_raised(corpus: Corpus) -> None:
    _, r = train(TINY, quick(steps=60, lr=1e4, grad_clip=0.0), corpus, progress=False)
    assert r.status == "diverged"
    assert r.val_loss == math.inf and r.perplexity == math.inf
    assert r.steps_done <= 60


def test_a_loss_too_large_for_a_finite_perplexity_is_diverged(
    corpus: Corpus, monkeypatch: pytest.MonkeyPatch
) -> None:
    """exp(700) overflows a float: such a model has no perplexity to rank, only a penalty."""
    monkeypatch.setattr(train_module, "evaluate", lambda *args: 750.0)
    _, r = train(TINY, quick(), corpus, progress=False)
    assert (r.val_loss, r.perplexity, r.status) == (750.0, math.inf, "diverged")


def test_a_poisoned_parameter_stops_the_run_early(
    corpus: Corpus, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Poisoned(SpectralLM):
        def __init__(self, cfg: ModelConfig) -> None:
            super().__init__(cfg)
            with torch.no_grad():
                self.norm.weight[0] = float("nan")

    monkeypatch.setattr(train_module, "SpectralLM", Poisoned)
    steps = 3 * train_module.CHECK_EVERY
    _, r = train(TINY, quick(steps=steps), corpus, progress=False)
    assert r.status == "diverged" and r.val_loss == math.inf
    assert r.steps_done == train_module.CHECK_EVERY  # caught at the first check, not the end
    assert r.timings["eval"] < 0.05  # a diverged model is not evaluated


def test_threads_are_restored_and_progress_is_quiet_off_a_terminal(
    corpus: Corpus, capsys: pytest.CaptureFixture[str]
) -> None:
    torch.set_num_threads(1)
    train(TINY, quick(threads=2), corpus)  # progress=None: stderr is not a terminal here
    assert torch.get_num_threads() == 1
    assert capsys.readouterr().err == ""
    train(TINY, quick(), corpus, progress=True)
    assert "6/6" in capsys.readouterr().err


@pytest.mark.parametrize("short", ["val", "test"])
def test_a_split_shorter_than_a_window_is_rejected(short: str) -> None:
    sizes = {"train": 100, "val": 100, "test": 100} | {short: 10}
    train_, val, test = (np.zeros(sizes[k], np.uint8) for k in ("train", "val", "test"))
    tiny = Corpus("tiny", train_, val, test, "0" * 64, val_fraction=0.1, test_fraction=0.1)
    with pytest.raises(ValueError, match=f"{short} split shorter than one window"):
        train(TINY, quick(), tiny, progress=False)


def test_an_empty_test_split_is_allowed(text_file: Path) -> None:
    corpus = load_corpus(str(text_file), test_fraction=0.0)
    _, r = train(TINY, quick(steps=1), corpus, progress=False)
    assert r.status == "ok" and r.split["test_tokens"] == 0
