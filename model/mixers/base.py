"""The token-mixer contract: (B, T, D) -> (B, T, D), strictly causal along T."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, ClassVar

from torch import Tensor, nn

if TYPE_CHECKING:  # at run time the config imports the mixers (MIXERS), not the reverse
    from model.config import ModelConfig


class Mixer(nn.Module, ABC):
    """A token mixer. Output position t may depend only on input positions <= t.

    Subclasses take the `ModelConfig` and the layer index, and state every fact about their
    cost, so that adding a mixer is one file and one `MIXERS` entry:

    - `flops_per_token`: forward FLOPs per token at the configured `seq_len` (2 FLOPs per
      multiply-add, FFTs at 2.5·N·log2 N), from the module as built (`SpectralLM.flops_*`).
    - `parameter_count`, `floats_per_step`, `activations_per_token`: the training memory of
      one layer, from the config alone, so that `model.memory` can refuse a model too large
      to build without building it. `model.memory` only sums them over the layers.
    - `spectral`: whether the mixer counts as a spectral component (`model.analysis`).

    Generation runs the whole cropped context through `forward` again for every new token, so a
    mixer keeps no inference state (no KV cache, no recurrent state) to account for.
    """

    spectral: ClassVar[bool]  # mixes tokens in a frequency or wavelet domain (model.analysis)

    @abstractmethod
    def forward(self, x: Tensor) -> Tensor: ...

    @abstractmethod
    def flops_per_token(self) -> float: ...

    @classmethod
    @abstractmethod
    def parameter_count(cls, cfg: ModelConfig, layer: int) -> int:
        """Parameters of `cls(cfg, layer)` (learned or not), counted without building it."""

    @classmethod
    @abstractmethod
    def floats_per_step(cls, cfg: ModelConfig, layer: int) -> int:
        """Floats that `cls(cfg, layer)` holds once per training step, whatever the batch:
        buffers and per-step tensors such as long-filter spectra and their gradients."""

    @classmethod
    @abstractmethod
    def activations_per_token(cls, cfg: ModelConfig, layer: int) -> int:
        """Floats per token that the backward pass keeps beyond the measured share of every
        block (`model.memory.ACTIVATIONS_PER_LAYER`·D): 0 for a mixer within that share."""
