"""Proxy training: briefly train a whole model, then measure its validation loss and FLOPs.

This is the fitness of every genome, so it is fast, deterministic and never crashes:
- AdamW with decoupled weight decay on matrices only, linear warm-up then cosine decay to
  lr · min_lr_ratio inside the budget, and global gradient clipping (as nanoGPT's train.py);
  or a WSD schedule whose stable stage can be paused and continued into a longer run
  (`start`, `trunk`; see `model.train_state`).
- Randomness comes from independent streams of `TrainConfig.seed` (`seed_stream`): "init"
  seeds the model's initialisation (the global torch RNG is forked and restored), "batches" the
  batch sampler, and "search" is left to the caller's search, so no two draw the same numbers.
  On the CPU the same config and seed give the same val_loss to the last bit.
- The validation loss is scored on fixed windows spread evenly over the whole validation split
  (`model.data.eval_starts`), the same for every genome. The test split is checked to hold a
  window but never evaluated here: the search must not see it.
- A NaN or inf loss stops the run with status "diverged" and val_loss = inf; nothing raises.
- On CUDA the forward runs under bf16 autocast; the mixers keep their FFTs in fp32.
"""

from __future__ import annotations

import contextlib
import math
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from tqdm import tqdm

from model.config import ModelConfig
from model.data import Corpus, eval_starts, get_batch
from model.ffn import SpectralFFN
from model.lm import SpectralLM
from model.train_config import TrainConfig
from model.train_state import TrainState

ADAM_BETAS = (0.9, 0.99)  # nanoGPT's Tiny Shakespeare setting: beta2 0.99 for small batches
CHECK_EVERY = 25  # steps between divergence checks; each one syncs a GPU once
STREAMS = ("init", "batches", "search")  # the independent random streams of one seed

__all__ = ["TrainConfig", "TrainResult", "evaluate", "learning_rate", "seed_stream", "train"]


@dataclass
class TrainResult:
    """What one proxy run measured. Losses are in nats per token (one token = one byte)."""

    val_loss: float  # mean cross-entropy on the validation split; inf if diverged
    perplexity: float  # exp(val_loss)
    bits_per_byte: float  # val_loss / ln 2
    train_tokens: int  # steps_done · batch_size · seq_len
    tokens_per_second: float  # train_tokens / seconds spent in the training loop
    flops_per_token: float  # analytic forward FLOPs per token at seq_len
    params: int  # trainable parameters of the model as built
    seconds: float  # wall time of train(): build + training loop + evaluation
    status: str  # "ok" or "diverged"
    steps_done: int
    device: str
    split: dict[str, Any] = field(default_factory=dict)  # Corpus.split()
    timings: dict[str, float] = field(default_factory=dict)  # build, data, train, eval seconds
    continued_from: int = 0  # the step a continued run started at (0: from scratch)
    trunk: TrainState | None = field(default=None, repr=False)  # see train(trunk=True)

    def to_dict(self) -> dict[str, Any]:
        """The measurements as plain data (the trunk state is not data: see TrainState)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "trunk"}


def seed_stream(seed: int, name: str) -> np.random.SeedSequence:
    """The independent random stream `name` of `seed`: SeedSequence(seed).spawn(3)[i].

    "init" seeds the model's initialisation and "batches" the training batch sampler, both in
    train(); "search" is reserved for a caller's search RNG (hrfevo's), so a search seeded like
    its proxy runs still draws numbers of its own.
    """
    if name not in STREAMS:
        raise ValueError(f"seed_stream: name={name!r}: choose one of {', '.join(STREAMS)}")
    return np.random.SeedSequence(seed).spawn(len(STREAMS))[STREAMS.index(name)]


def warmup_steps(steps: int, cfg: TrainConfig) -> int:
    return cfg.warmup_steps if cfg.warmup_steps is not None else round(cfg.warmup * steps)


def decay_start(steps: int, cfg: TrainConfig) -> int:
    """The first step of a WSD run's decay: the stable stage ends (and can be paused) here."""
    return steps - max(1, round(cfg.decay * steps))


def learning_rate(step: int, steps: int, cfg: TrainConfig) -> float:
    """Linear warm-up to cfg.lr, then decay to cfg.lr · min_lr_ratio at the last step: cosine
    over the rest of the budget, or ("wsd") constant until `decay_start`, then linear."""
    warm = warmup_steps(steps, cfg)
    if step < warm:
        return cfg.lr * (step + 1) / (warm + 1)  # nanoGPT's warm-up: never exactly zero
    min_lr = cfg.lr * cfg.min_lr_ratio
    if cfg.schedule == "wsd":
        first = decay_start(steps, cfg)
        if step < first:
            return cfg.lr
        return cfg.lr - (cfg.lr - min_lr) * (step + 1 - first) / (steps - first)
    progress = (step - warm) / max(1, steps - 1 - warm)  # 0 after warm-up, 1 on the last step
    return min_lr + 0.5 * (1.0 + math.cos(math.pi * progress)) * (cfg.lr - min_lr)


def build_optimizer(model: SpectralLM, cfg: TrainConfig) -> torch.optim.AdamW:
    """AdamW that decays matrices (linear weights, embeddings, filters) but not vectors.

    The spectral FFN's weights are D/2+1 complex scalars stored as real pairs: a vector, and
    decaying it would pull the spectral path towards zero rather than towards the identity.
    """
    vectors = {id(m.freq_weight) for m in model.modules() if isinstance(m, SpectralFFN)}
    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in params if p.dim() >= 2 and id(p) not in vectors]
    rest = [p for p in params if p.dim() < 2 or id(p) in vectors]
    groups = [
        {"params": decay, "weight_decay": cfg.weight_decay},
        {"params": rest, "weight_decay": 0.0},
    ]
    # The fused kernel updates every tensor in one pass: ~4 ms less per step on a small model.
    fused = params[0].is_cuda or _version(torch.__version__) >= (2, 4)  # CPU kernel from 2.4
    return torch.optim.AdamW(groups, lr=cfg.lr, betas=ADAM_BETAS, fused=fused)


def _version(text: str) -> tuple[int, int]:
    major, minor = text.split(".")[:2]
    return int(major), int(minor)


def resolve_device(name: str) -> torch.device:
    """The device a TrainConfig names; "auto" is CUDA when one is visible, else the CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda":
        visible = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if (device.index or 0) >= visible:
            raise ValueError(f"TrainConfig.device={name!r}: {visible} CUDA device(s) visible")
    return device


def _autocast(device: torch.device) -> contextlib.AbstractContextManager[Any]:
    """bf16 autocast on CUDA (FFTs opt out inside the mixers); full precision on the CPU."""
    if device.type == "cuda":
        return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


@contextlib.contextmanager
def _torch_threads(threads: int | None) -> Iterator[None]:
    """Set torch's intra-op threads for the run and restore the caller's setting after."""
    before = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _loss(model: SpectralLM, x: Tensor, y: Tensor, reduction: str = "mean") -> Tensor:
    """Cross-entropy of next-token predictions, in fp32 even when the forward ran in bf16."""
    with _autocast(x.device):
        logits = model(x)  # (B, T, V)
    return F.cross_entropy(logits.float().flatten(0, 1), y.flatten(), reduction=reduction)


@torch.inference_mode()
def evaluate(model: SpectralLM, tokens: np.ndarray, eval_tokens: int, batch_size: int) -> float:
    """Mean cross-entropy (nats/token) on fixed windows spread evenly over all of `tokens`.

    No randomness: the max(1, eval_tokens // seq_len) non-overlapping windows of
    `eval_starts` (fewer if the split is short) are scored, the same for every model, so
    re-evaluating a saved model reproduces the recorded val_loss on the same device/threads.
    """
    T = model.cfg.seq_len
    if len(tokens) < T + 1:
        raise ValueError(f"evaluate: {len(tokens)} tokens < one window of {T + 1}")
    starts = eval_starts(len(tokens), T, eval_tokens // T)  # (n,)
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    total = torch.zeros((), dtype=torch.float64, device=device)
    for first in range(0, len(starts), batch_size):
        rows = starts[first : first + batch_size]  # (b,)
        w = torch.from_numpy(tokens[rows[:, None] + np.arange(T + 1)].astype(np.int64))
        w = w.to(device)  # (b, T+1)
        total += _loss(model, w[:, :-1], w[:, 1:], reduction="sum").double()
    model.train(was_training)
    return total.item() / (len(starts) * T)


def _show_progress(progress: bool | None) -> bool:
    return sys.stderr.isatty() if progress is None else progress


@dataclass
class _Loop:
    """What the optimiser steps report: how far they got, and what they saw."""

    done: int  # steps taken, counting those of a continued state
    finite: bool  # every loss checked was finite
    data_s: float  # seconds spent drawing batches
    trunk: TrainState | None  # the state before the step `pause_at`, if asked for


def _train_steps(
    model: SpectralLM,
    optimizer: torch.optim.Optimizer,
    tokens: np.ndarray,
    cfg: TrainConfig,
    steps: int,
    bar: tqdm[Any],
    rng: np.random.Generator,
    first: int = 0,
    pause_at: int | None = None,
) -> _Loop:
    """Run the optimiser steps `first`..steps-1, capturing the state before step `pause_at`.

    Stops early, after the step that made the running loss non-finite (checked every
    CHECK_EVERY steps and at the end, so the GPU is not synced every step).
    """
    device, T = next(model.parameters()).device, model.cfg.seq_len
    params = [p for p in model.parameters() if p.requires_grad]
    running, since, data_s = torch.zeros((), device=device), 0, 0.0
    trunk = None
    model.train()
    bar.update(first)
    for step in range(first, steps):
        if step == pause_at:
            trunk = TrainState.capture(step, model, optimizer, rng)
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(step, steps, cfg)
        drawn = time.perf_counter()
        x, y = get_batch(tokens, cfg.batch_size, T, rng)  # (B, T) each
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        data_s += time.perf_counter() - drawn
        loss = _loss(model, x, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.grad_clip > 0:
            nn.utils.clip_grad_norm_(params, cfg.grad_clip)
        optimizer.step()
        running += loss.detach()  # a NaN or inf anywhere in the window survives the sum
        since += 1
        if since == CHECK_EVERY or step + 1 == steps:
            mean = running.item() / since
            if not math.isfinite(mean):
                return _Loop(step + 1, False, data_s, None)
            bar.set_postfix(loss=f"{mean:.3f}", refresh=False)
            bar.update(since)
            running.zero_()
            since = 0
    return _Loop(steps, True, data_s, trunk)


def _check_windows(corpus: Corpus, seq_len: int) -> None:
    """ValueError unless every split holds a window; an empty test split is not used."""
    parts = [("train", corpus.train), ("val", corpus.val)]
    if len(corpus.test):
        parts.append(("test", corpus.test))
    for part, tokens in parts:
        if len(tokens) < seq_len + 1:
            raise ValueError(f"corpus {corpus.name!r}: {part} split shorter than one window")


def train(
    model_cfg: ModelConfig,
    train_cfg: TrainConfig,
    corpus: Corpus,
    *,
    progress: bool | None = None,
    start: TrainState | None = None,
    trunk: bool = False,
) -> tuple[SpectralLM, TrainResult]:
    """Build the model, train it on corpus.train within the budget, evaluate on corpus.val.

    corpus.test is never read, only checked to hold a window, so the export can score it.

    `start` continues a paused run instead of starting from scratch; with `trunk`, a "wsd"
    run keeps its state before its decay in `result.trunk`, for a longer run to continue.
    Both need the "wsd" schedule with `warmup_steps`, the one whose stable stage does not
    depend on the budget; then a continued run equals one trained from scratch.

    progress=None shows a bar only when stderr is a terminal. The model comes back in eval
    mode on the device used.
    """
    began = time.perf_counter()
    device = resolve_device(train_cfg.device)
    steps = train_cfg.num_steps(model_cfg.seq_len)
    _check_windows(corpus, model_cfg.seq_len)
    pause_at = _check_continuation(train_cfg, steps, start, trunk)
    cuda = [device.index or 0] if device.type == "cuda" else []
    with _torch_threads(train_cfg.threads), torch.random.fork_rng(devices=cuda):
        init = seed_stream(train_cfg.seed, "init").generate_state(1)[0]  # uint32
        torch.manual_seed(int(init))  # the forked global RNG drives initialisation
        model = SpectralLM(model_cfg).to(device)
        optimizer = build_optimizer(model, train_cfg)
        rng = np.random.default_rng(seed_stream(train_cfg.seed, "batches"))  # the sampler's
        if start is not None:
            start.restore(model, optimizer, rng)
        built = time.perf_counter()
        with tqdm(total=steps, disable=not _show_progress(progress), unit="step") as bar:
            loop = _train_steps(
                model, optimizer, corpus.train, train_cfg, steps, bar, rng,
                first=start.step if start else 0, pause_at=pause_at,
            )  # fmt: skip
        done, finite, data_s = loop.done, loop.finite, loop.data_s
        trained = time.perf_counter()
        val_loss = math.inf  # a diverged run is not evaluated
        if finite:
            val_loss = evaluate(model, corpus.val, train_cfg.eval_tokens, train_cfg.batch_size)
            val_loss = val_loss if math.isfinite(val_loss) else math.inf  # NaN weights: diverged
    model.eval()
    end = time.perf_counter()
    timings = {
        "build": built - began,
        "data": data_s,
        "train": trained - built - data_s,
        "eval": end - trained,
    }
    first = start.step if start else 0
    result = _result(model, train_cfg, corpus, val_loss, done, first, trained - built, timings)
    result.trunk = loop.trunk if finite else None
    return model, result


def _check_continuation(
    cfg: TrainConfig, steps: int, start: TrainState | None, trunk: bool
) -> int | None:
    """The step to pause before (for `trunk`), after checking that `start` can be continued."""
    if not (start or trunk):
        return None
    if cfg.schedule != "wsd" or cfg.warmup_steps is None:
        raise ValueError("continuing a run needs schedule='wsd' with warmup_steps set")
    pause_at = decay_start(steps, cfg)
    if pause_at < cfg.warmup_steps:
        raise ValueError(
            f"a {steps}-step run decays from step {pause_at}, inside its warm-up of "
            f"{cfg.warmup_steps} steps: it has no stable stage to pause or continue"
        )
    if start is not None and not cfg.warmup_steps <= start.step <= pause_at:
        raise ValueError(
            f"a state at step {start.step} cannot continue into a {steps}-step run: its stable "
            f"stage runs from step {cfg.warmup_steps} to {pause_at}"
        )
    return pause_at if trunk else None


def _result(
    model: SpectralLM,
    cfg: TrainConfig,
    corpus: Corpus,
    val_loss: float,
    steps_done: int,
    first: int,
    loop_s: float,
    timings: dict[str, float],
) -> TrainResult:
    train_tokens = steps_done * cfg.batch_size * model.cfg.seq_len
    run_tokens = (steps_done - first) * cfg.batch_size * model.cfg.seq_len  # this call's
    perplexity = math.exp(val_loss) if val_loss < 700 else math.inf  # exp overflows at ~709
    return TrainResult(
        val_loss=val_loss,
        perplexity=perplexity,
        bits_per_byte=val_loss / math.log(2),
        train_tokens=train_tokens,
        tokens_per_second=run_tokens / loop_s if loop_s > 0 else 0.0,
        continued_from=first,
        flops_per_token=model.flops_per_token(),
        params=model.num_parameters(),
        seconds=sum(timings.values()),
        # a finite loss past ~709 nats still has no finite perplexity: as good as diverged
        status="ok" if math.isfinite(perplexity) else "diverged",
        steps_done=steps_done,
        device=str(next(model.parameters()).device),
        split=corpus.split(),
        timings=timings,
    )
