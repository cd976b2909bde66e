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
(28 + 2·ffn_mult)·D per layer, 2·D more per band of a gated wavelet mixer, and 4·V for the
logits, their softmax and gradients. The estimate lands within about 1.5× of that measurement
either way; bf16 autocast on CUDA needs less. It is for refusing what cannot fit, not for
planning a batch to the last megabyte.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from model.config import ModelConfig
from model.ffn import hidden_width
from model.mixers.fftconv import fft_size
from model.mixers.wavelet import BAND_TAPS

FLOAT = 4  # bytes of an fp32 number
ACTIVATIONS_PER_LAYER = 28  # floats per token per unit of D, besides the FFN (measured)


def parameters(cfg: ModelConfig) -> int:
    """Parameters of `SpectralLM(cfg)` (learned or not), counted without building it."""
    V, D = cfg.vocab_size, cfg.d_model
    hb = cfg.harmonic_bases
    n_bases = hb if isinstance(hb, int) else len(hb)
    embedding = V * D if cfg.embedding != "spectral" else 0  # the table
    if cfg.embedding != "table":
        embedding += V * n_bases + 2 * n_bases  # coefficients, frequencies and phases
    head = 0 if cfg.tie_head else V * D
    return embedding + sum(_layer(cfg, m) for m in cfg.layer_mixers) + 2 * D + head


def _layer(cfg: ModelConfig, mixer: str) -> int:
    """One block's parameters: two LayerNorms, the mixer and the spectral FFN."""
    D, J = cfg.d_model, cfg.wavelet_levels
    mixers = {
        "attention": 4 * D * D,  # qkv and out_proj
        "fourier": 3 * D * D + D * cfg.seq_len + D,  # in/out projections, filter, skip
        "wavelet": 3 * D * D + (J + 1) * D * BAND_TAPS + D,  # projections, band taps, skip
    }
    # A mixer added to model.mixers.MIXERS without a line here is counted as the largest
    # (tests/model/test_memory.py fails until it has its line).
    mixer_params = mixers.get(mixer, max(mixers.values()))
    gate = (D + 1) * (J + 1) if mixer == "wavelet" and cfg.band_mixing == "gate" else 0
    H = hidden_width(D, cfg.ffn_mult)
    mlp = 2 * D * H + H + D if cfg.spectral_share < 1 else 0
    spectral = 2 * (D // 2 + 1) if cfg.spectral_share > 0 else 0
    return 4 * D + mixer_params + gate + mlp + spectral


def activations_per_token(cfg: ModelConfig) -> int:
    """Floats per token that a training step keeps for its backward pass (see module doc)."""
    D, bands = cfg.d_model, cfg.wavelet_levels + 1
    per_layer = (ACTIVATIONS_PER_LAYER * D + 2 * hidden_width(D, cfg.ffn_mult)) * cfg.n_layers
    gated = sum(m == "wavelet" for m in cfg.layer_mixers) if cfg.band_mixing == "gate" else 0
    return per_layer + 2 * D * bands * gated + 4 * cfg.vocab_size + D


def _per_step(cfg: ModelConfig) -> int:
    """Floats held once per step, whatever the batch: buffers and long-filter spectra."""
    D, T = cfg.d_model, cfg.seq_len
    spectra = 2 * D * (fft_size(2 * T - 1) // 2 + 1) * 2  # complex filter spectrum and its grad
    per_mixer = {"attention": T * D, "fourier": D * T + spectra, "wavelet": spectra}
    return sum(per_mixer.get(m, D * T + spectra) for m in cfg.layer_mixers)


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
