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
    - `state_floats`: the inference state of one layer, the floats it must keep from the
      tokens already seen to give one more token's output at a full context of `seq_len`:
      the KV cache of attention, the input history a convolution's filter reaches. It is what
      an incremental generator would hold (`model.memory.state_bytes` sums it); a test checks
      it against each mixer's measured receptive field.
    - `spectral`: whether the mixer counts as a spectral component (`model.analysis`).

    (`SpectralLM.generate` itself runs the whole cropped context through `forward` again for
    every new token, and keeps no state between tokens.)
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

    @classmethod
    @abstractmethod
    def state_floats(cls, cfg: ModelConfig, layer: int) -> int:
        """Floats one sequence's generation must keep for this layer between tokens, at a full
        context: from the T-1 tokens before the one being generated."""
