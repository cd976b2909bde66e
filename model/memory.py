"""How much memory training a model needs, estimated before anything is allocated.

A size typed with a few digits too many (a batch of 10⁸, a width of 10⁶) should be refused in a
second with a number, not found by the kernel's out-of-memory killer an hour later. The
estimate is arithmetic on the config alone:

    bytes = 16·P                      fp32 weights, gradients and AdamW's two moments
          + 4·S                       buffers and per-step tensors (windows, filter spectra)
          + B·T·(4·A + 16)            activations kept for backward, and the int64 batch

P counts the parameters as `SpectralLM` builds them (a test holds it to `num_parameters`). A,
the floats per token that the backward pass keeps, was measured on the CPU (peak RSS over a
training step, batch 4 against 32, seq_len 256 and 1024, D 64 and 128, each mixer): about
(28 + 2·ffn_mult)·D per layer, what a mixer keeps beyond that (2·D more per band of a gated
mixer), and 4·V for the logits, their softmax and gradients. The estimate lands within about
1.5× of that measurement either way; bf16 autocast on CUDA needs less. It is for refusing what
cannot fit, not for planning a batch to the last megabyte.

Each part states its own share, from the config alone: a mixer its parameters, S and extra
activations (`model.mixers.base.Mixer`), the embedding and the FFN theirs. This module only
sums them and adds the terms every model has: norms, an untied head, the logits, AdamW.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from model.config import ModelConfig
from model.embedding import embedding_type
from model.ffn import SpectralFFN
from model.mixers import MIXERS

FLOAT = 4  # bytes of an fp32 number
ACTIVATIONS_PER_LAYER = 28  # floats per token per unit of D, besides the FFN and mixer (measured)


def parameters(cfg: ModelConfig) -> int:
    """Parameters of `SpectralLM(cfg)` (learned or not), counted without building it."""
    V, D = cfg.vocab_size, cfg.d_model
    head = 0 if cfg.tie_head else V * D
    layers = sum(_layer(cfg, i, m) for i, m in enumerate(cfg.layer_mixers))
    return embedding_type(cfg).parameter_count(cfg) + layers + 2 * D + head  # 2·D: final norm


def _layer(cfg: ModelConfig, layer: int, mixer: str) -> int:
    """One block's parameters: two LayerNorms, the mixer and the spectral FFN."""
    mixer_params = MIXERS[mixer].parameter_count(cfg, layer)
    return 4 * cfg.d_model + mixer_params + SpectralFFN.parameter_count(cfg)


def activations_per_token(cfg: ModelConfig) -> int:
    """Floats per token that a training step keeps for its backward pass (see module doc)."""
    D = cfg.d_model
    per_layer = (ACTIVATIONS_PER_LAYER * D + SpectralFFN.activations_per_token(cfg)) * cfg.n_layers
    mixers = sum(MIXERS[m].activations_per_token(cfg, i) for i, m in enumerate(cfg.layer_mixers))
    return per_layer + mixers + 4 * cfg.vocab_size + D


def _per_step(cfg: ModelConfig) -> int:
    """Floats held once per step, whatever the batch: the mixers' buffers and filter spectra."""
    return sum(MIXERS[m].floats_per_step(cfg, i) for i, m in enumerate(cfg.layer_mixers))


def training_bytes(cfg: ModelConfig, batch_size: int) -> int:
    """Estimated peak memory of training `cfg` with batches of `batch_size` (see module doc)."""
    tokens = batch_size * cfg.seq_len
    weights = 16 * parameters(cfg) + FLOAT * _per_step(cfg)
    return weights + tokens * (FLOAT * activations_per_token(cfg) + 16)


def device_bytes(device: torch.device) -> int:
    """Memory of `device`: a GPU's, or the host's RAM (within this process's cgroup limit)."""
    if device.type == "cuda":
        return int(torch.cuda.get_device_properties(device.index or 0).total_memory)
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    limit = Path("/sys/fs/cgroup/memory.max")  # cgroup v2; "max" when there is no limit
    try:
        text = limit.read_text().strip()
    except OSError:
        return ram
    return min(ram, int(text)) if text.isdigit() else ram


def describe_bytes(n: float) -> str:
    """`n` bytes for people: 512 MB, 3.1 GB, 2.4e+04 TB."""
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000:
            return f"{n:.3g} {unit}"
        n /= 1000
    return f"{n:.3g} TB"


def memory_problem(cfg: ModelConfig, batch_size: int, device: torch.device) -> str | None:
    """Why training `cfg` at `batch_size` cannot fit on `device` (None if it may fit)."""
    need, have = training_bytes(cfg, batch_size), device_bytes(device)
    if need <= have:
        return None
    where = "this machine has" if device.type == "cpu" else f"GPU {device} has"
    return (
        f"training needs about {describe_bytes(need)} of memory (an estimate); {where} "
        f"{describe_bytes(have)}"
    )


def state_bytes(cfg: ModelConfig) -> int:
    """Inference state of one sequence at a full context, in fp32 bytes: what every layer's
    mixer keeps between generated tokens (`Mixer.state_floats`: a KV cache, an input history).
    The residual stream and the FFN keep nothing between tokens."""
    return FLOAT * sum(
        MIXERS[mixer].state_floats(cfg, layer) for layer, mixer in enumerate(cfg.layer_mixers)
    )
