"""Causal multi-head self-attention with rotary position embeddings (the baseline mixer)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from model.mixers.base import Mixer

if TYPE_CHECKING:  # at run time the config imports the mixers (MIXERS), not the reverse
    from model.config import ModelConfig


def rope_tables(seq_len: int, head_dim: int, base: float = 10000.0) -> tuple[Tensor, Tensor]:
    """cos and sin tables (T, head_dim/2) of RoPE (Su et al. 2021, arXiv:2104.09864)."""
    inv_freq = base ** (-torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim)
    angles = torch.outer(torch.arange(seq_len, dtype=torch.float32), inv_freq)
    return angles.cos(), angles.sin()


def apply_rope(x: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
    """Rotate channel pairs (x1, x2) of x (B, nh, T, hs) by position-dependent angles."""
    x1, x2 = x[..., 0::2], x[..., 1::2]
    rotated = torch.stack((x1 * cos - x2 * sin, x1 * sin + x2 * cos), dim=-1)
    return rotated.flatten(-2).type_as(x)


class CausalSelfAttention(Mixer):
    spectral = False
    cos: Tensor  # (T, hs/2) buffers
    sin: Tensor

    def __init__(self, cfg: ModelConfig, layer: int) -> None:
        super().__init__()
        self.n_heads, self.seq_len, self.dropout = cfg.n_heads, cfg.seq_len, cfg.dropout
        self.qkv = nn.Linear(cfg.d_model, 3 * cfg.d_model, bias=False)
        self.out_proj = nn.Linear(cfg.d_model, cfg.d_model, bias=False)
        cos, sin = rope_tables(cfg.seq_len, cfg.d_model // cfg.n_heads)
        self.register_buffer("cos", cos, persistent=False)
        self.register_buffer("sin", sin, persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        B, T, D = x.shape
        q, k, v = self.qkv(x).view(B, T, 3, self.n_heads, D // self.n_heads).unbind(2)
        q, k, v = (t.transpose(1, 2) for t in (q, k, v))  # (B, nh, T, hs)
        q, k = apply_rope(q, self.cos[:T], self.sin[:T]), apply_rope(k, self.cos[:T], self.sin[:T])
        p = self.dropout if self.training else 0.0
        y = F.scaled_dot_product_attention(q, k, v, dropout_p=p, is_causal=True)
        return self.out_proj(y.transpose(1, 2).reshape(B, T, D))

    def flops_per_token(self) -> float:
        D = self.qkv.in_features
        proj = 2 * D * (3 * D) + 2 * D * D
        # Causal: token t scores t+1 keys and sums t+1 values, (T+1)/2 of each on average.
        attn = 2 * (2 * D * (self.seq_len + 1) / 2)
        return proj + attn

    @classmethod
    def parameter_count(cls, cfg: ModelConfig, layer: int) -> int:
        return 4 * cfg.d_model * cfg.d_model  # qkv and out_proj

    @classmethod
    def floats_per_step(cls, cfg: ModelConfig, layer: int) -> int:
        return cfg.seq_len * cfg.d_model  # the RoPE tables (T·hs floats), counted as T·D

    @classmethod
    def activations_per_token(cls, cfg: ModelConfig, layer: int) -> int:
        return 0

    @classmethod
    def state_floats(cls, cfg: ModelConfig, layer: int) -> int:
        return 2 * (cfg.seq_len - 1) * cfg.d_model  # the KV cache: a key and a value per token
