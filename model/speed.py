"""Measured speed: how long a model takes to generate one token.

`SpectralLM.generate` runs the whole context, cropped to `seq_len`, through the model for every
new token, so one forward pass of a full context at batch 1 is the latency of one generated
token. It is timed `repeats` times after `warmup` untimed passes (which also let the allocator
and any lazy initialisation settle), on the model's own device and thread count. A shared
machine's timings have a long upper tail, so the median is the figure and the interquartile
range its spread: `reports/latency.md` measures how much both move between repeated runs.
"""

from __future__ import annotations

import statistics
import time

import torch

from model.lm import SpectralLM
from model.train import _torch_threads

WARMUP, REPEATS = 3, 15


@torch.no_grad()
def generation_latency(
    model: SpectralLM, threads: int | None = None, warmup: int = WARMUP, repeats: int = REPEATS
) -> tuple[float, float]:
    """(median, interquartile range) in seconds of one token's generation at a full context."""
    device = next(model.parameters()).device
    context = torch.zeros(1, model.cfg.seq_len, dtype=torch.long, device=device)
    was_training = model.training
    model.eval()
    seconds = []
    with _torch_threads(threads):
        for i in range(warmup + repeats):
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            began = time.perf_counter()
            model(context)
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            if i >= warmup:
                seconds.append(time.perf_counter() - began)
    model.train(was_training)
    q1, _, q3 = statistics.quantiles(seconds, n=4)
    return statistics.median(seconds), q3 - q1
