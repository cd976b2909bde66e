"""Token embeddings and the tied output heads that go through them.

spectral: E = C·Φ with learned coefficients C (V×B) and a basis Φ (B×D) synthesised from the
          harmonic basis functions. Parameters: V·B (+ 2B learned frequencies and phases).
          Tied head: logits = (h·Φᵀ)·Cᵀ, which costs B·D + V·B per token instead of V·D.
hybrid:   C·Φ plus a V×D table (starting at zero, so the model begins spectral).
table:    a plain V×D lookup table, the transformer baseline.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from model.basis import family_groups, synthesize
from model.config import ModelConfig


class SpectralEmbedding(nn.Module):
    shape: Tensor  # (B,) buffers: family-specific shape and Gabor centre of each function
    center: Tensor

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        specs = [s.canonical() for s in cfg.basis]
        self.d_model = cfg.d_model
        self.groups = family_groups([s.family for s in specs])

        def vec(attr: str) -> Tensor:
            return torch.tensor([getattr(s, attr) for s in specs], dtype=torch.float32)

        # Frequencies and phases are learnable (the seeds' basis was fixed); shape/center are not.
        self.frequency = nn.Parameter(vec("frequency"), requires_grad=cfg.learn_basis)
        self.phase = nn.Parameter(vec("phase"), requires_grad=cfg.learn_basis)
        self.register_buffer("shape", vec("shape"))
        self.register_buffer("center", vec("center"))
        B = len(specs)
        # Each row of Φ has unit RMS, so Var(E) = B·std(C)^2: std(C) = 0.02/√B gives nanoGPT's 0.02.
        self.coeffs = nn.Parameter(torch.randn(cfg.vocab_size, B) * (0.02 / math.sqrt(B)))
        self.table = (
            nn.Embedding(cfg.vocab_size, cfg.d_model) if cfg.embedding == "hybrid" else None
        )
        if self.table is not None:
            nn.init.zeros_(self.table.weight)

    @classmethod
    def parameter_count(cls, cfg: ModelConfig) -> int:
        """Parameters of `SpectralEmbedding(cfg)` (learned or not), counted without building it."""
        V, hb = cfg.vocab_size, cfg.harmonic_bases
        n_bases = hb if isinstance(hb, int) else len(hb)
        table = V * cfg.d_model if cfg.embedding == "hybrid" else 0
        return V * n_bases + 2 * n_bases + table  # coefficients, frequencies and phases, table

    def basis(self) -> Tensor:
        """Φ, shape (B, D), each row scaled to unit RMS so conditioning is independent of family."""
        phi = synthesize(
            self.groups, self.frequency, self.phase, self.shape, self.center, self.d_model
        )
        return phi * torch.rsqrt(phi.pow(2).mean(dim=1, keepdim=True) + 1e-8)

    def forward(self, idx: Tensor) -> Tensor:
        # Φ is only B×D (a few thousand numbers), so re-synthesising it here and in logits()
        # costs nothing next to the V×B head.
        x = F.embedding(idx, self.coeffs) @ self.basis()  # (B, T, nb) @ (nb, D) -> (B, T, D)
        return x if self.table is None else x + self.table(idx)

    def logits(self, h: Tensor) -> Tensor:
        """Tied head: h·Eᵀ = (h·Φᵀ)·Cᵀ (+ h·tableᵀ), shape (B, T, V)."""
        out = (h @ self.basis().t()) @ self.coeffs.t()
        return out if self.table is None else out + h @ self.table.weight.t()

    def flops_per_token(self) -> dict[str, float]:
        """FLOPs per token (2 per multiply-add); synthesising Φ is per step, not per token."""
        V, B = self.coeffs.shape
        D = self.d_model
        synth = {"embedding": 2.0 * B * D}  # the (1×B)·(B×D) product for each input token
        head = 2.0 * (D * B + B * V) + (2.0 * D * V if self.table is not None else 0.0)
        return synth | {"head_tied": head}


class TableEmbedding(nn.Module):
    """The baseline V×D lookup table; its tied head is the V×D matrix product."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.table = nn.Embedding(cfg.vocab_size, cfg.d_model)
        nn.init.normal_(self.table.weight, std=0.02)

    @classmethod
    def parameter_count(cls, cfg: ModelConfig) -> int:
        """Parameters of `TableEmbedding(cfg)`, counted without building it."""
        return cfg.vocab_size * cfg.d_model

    def forward(self, idx: Tensor) -> Tensor:
        return self.table(idx)

    def logits(self, h: Tensor) -> Tensor:
        return h @ self.table.weight.t()

    def flops_per_token(self) -> dict[str, float]:
        V, D = self.table.weight.shape
        return {"embedding": 0.0, "head_tied": 2.0 * D * V}  # a lookup costs no FLOPs


def embedding_type(cfg: ModelConfig) -> type[SpectralEmbedding | TableEmbedding]:
    """The class that builds `cfg.embedding`: the table baseline, or spectral (and hybrid)."""
    return TableEmbedding if cfg.embedding == "table" else SpectralEmbedding


def build_embedding(cfg: ModelConfig) -> SpectralEmbedding | TableEmbedding:
    return embedding_type(cfg)(cfg)
