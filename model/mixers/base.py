"""The token-mixer contract: (B, T, D) -> (B, T, D), strictly causal along T."""

from __future__ import annotations

from abc import ABC, abstractmethod

from torch import Tensor, nn


class Mixer(nn.Module, ABC):
    """A token mixer. Output position t may depend only on input positions <= t.

    Subclasses take the `ModelConfig` and the layer index, and report their forward FLOPs per
    token at the configured `seq_len` (2 FLOPs per multiply-add, FFTs at 2.5·N·log2 N).
    """

    @abstractmethod
    def forward(self, x: Tensor) -> Tensor: ...

    @abstractmethod
    def flops_per_token(self) -> float: ...
