"""The honesty test: on uniformly random tokens no causal model beats perplexity V.

The seeds' models reached perplexity 1.15 to 17.8 on random tokens over a vocabulary of 50,
which is only possible by reading the future. Here every mixer is trained by the same short
AdamW loop on random tokens (held-out perplexity must stay near V) and on sequences that repeat
a random 7-token pattern (which a causal model can predict once it has seen one period, so the
loop demonstrably learns, and the first check is not passed by a model that learns nothing).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor

from model import ModelConfig, SpectralLM

V, T, PERIOD = 16, 32, 7
STEPS, BATCH, LR = 200, 16, 5e-3

Data = Callable[[torch.Generator, int], Tensor]  # (generator, n) -> (n, T + 1) token ids


def random_tokens(g: torch.Generator, n: int) -> Tensor:
    return torch.randint(0, V, (n, T + 1), generator=g)


def periodic_tokens(g: torch.Generator, n: int) -> Tensor:
    """A fresh random pattern of PERIOD tokens per sample, repeated, at a random phase."""
    pattern = torch.randint(0, V, (n, PERIOD), generator=g)
    phase = torch.randint(0, PERIOD, (n, 1), generator=g)
    return torch.gather(pattern, 1, (torch.arange(T + 1) + phase) % PERIOD)


def build(mixer: str, band_mixing: str) -> SpectralLM:
    torch.manual_seed(0)
    cfg = ModelConfig(
        vocab_size=V,
        seq_len=T,
        d_model=32,
        n_layers=2,
        mixer=mixer,
        band_mixing=band_mixing,
        wavelet="db2",
        wavelet_levels=3,
        n_heads=2,
        harmonic_bases=16,
    )
    return SpectralLM(cfg)


def train(model: SpectralLM, data: Data, leak: bool = False) -> SpectralLM:
    """STEPS of AdamW on fresh batches. leak=True feeds position t the token t+1 (cheating)."""
    opt = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=0.0)
    g = torch.Generator().manual_seed(1)
    for _ in range(STEPS):
        batch = data(g, BATCH)
        inputs = batch[:, 1:] if leak else batch[:, :-1]
        loss = F.cross_entropy(model(inputs).flatten(0, 1), batch[:, 1:].flatten())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return model.eval()


@torch.no_grad()
def held_out_loss(model: SpectralLM, data: Data, start: int = 0, leak: bool = False) -> float:
    """Mean next-token loss on 256 unseen sequences, over target positions >= start."""
    batch = data(torch.Generator().manual_seed(99), 256)
    logits = model(batch[:, 1:] if leak else batch[:, :-1])[:, start:]
    return F.cross_entropy(logits.flatten(0, 1), batch[:, 1 + start :].flatten()).item()


KINDS = [("wavelet", "sum"), ("wavelet", "gate"), ("fourier", "sum"), ("attention", "sum")]


@pytest.mark.parametrize(("mixer", "band_mixing"), KINDS)
def test_random_tokens_stay_unpredictable(mixer: str, band_mixing: str) -> None:
    model = train(build(mixer, band_mixing), random_tokens)
    perplexity = math.exp(held_out_loss(model, random_tokens))
    assert perplexity >= 0.95 * V, f"perplexity {perplexity:.2f} < 0.95·V: the future leaks"


@pytest.mark.parametrize(("mixer", "band_mixing"), KINDS)
def test_the_same_loop_learns_a_periodic_sequence(mixer: str, band_mixing: str) -> None:
    model = train(build(mixer, band_mixing), periodic_tokens)
    # After one period each token is a copy of the one PERIOD back; before, it is a coin toss.
    loss = held_out_loss(model, periodic_tokens, start=PERIOD)
    assert loss < 0.5 * math.log(V), f"held-out loss {loss:.3f} after one period: did not learn"


def test_a_leak_would_be_caught() -> None:
    """Feeding each position its own target makes random tokens predictable: the check bites."""
    model = train(build("fourier", "sum"), random_tokens, leak=True)
    perplexity = math.exp(held_out_loss(model, random_tokens, leak=True))
    assert perplexity < 0.5 * V
