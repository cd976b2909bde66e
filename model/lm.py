"""The spectral language model: embedding, pre-norm residual blocks, final norm, head."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import cast

import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from torch import Tensor, nn

from model.config import ModelConfig
from model.embedding import build_embedding
from model.ffn import SpectralFFN
from model.mixers import MIXERS

CONFIG_FILE, WEIGHTS_FILE = "config.json", "model.safetensors"


class Block(nn.Module):
    """x + mixer(norm(x)), then x + ffn(norm(x))."""

    def __init__(self, cfg: ModelConfig, layer: int) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(cfg.d_model)
        self.mixer = MIXERS[cfg.layer_mixers[layer]](cfg, layer)
        self.norm2 = nn.LayerNorm(cfg.d_model)
        self.ffn = SpectralFFN(cfg)
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.drop(self.mixer(self.norm1(x)))
        return x + self.drop(self.ffn(self.norm2(x)))


class SpectralLM(nn.Module):
    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.embed = build_embedding(cfg)
        self.drop = nn.Dropout(cfg.dropout)
        self.blocks = nn.ModuleList(Block(cfg, i) for i in range(cfg.n_layers))
        self.norm = nn.LayerNorm(cfg.d_model)
        self.head = None if cfg.tie_head else nn.Linear(cfg.d_model, cfg.vocab_size, bias=False)
        self._init_weights()

    def _init_weights(self) -> None:
        # GPT-2 / nanoGPT: N(0, 0.02) for linear layers, and residual projections scaled by
        # 1/√(2·n_layers) so the residual stream's variance does not grow with depth.
        for module in self.modules():
            if isinstance(module, nn.Linear):
                nn.init.normal_(module.weight, std=0.02)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
        for name, p in self.named_parameters():
            if name.endswith(("out_proj.weight", "mlp.2.weight")):
                nn.init.normal_(p, std=0.02 / math.sqrt(2 * self.cfg.n_layers))

    def forward(self, idx: Tensor) -> Tensor:
        """idx: (B, T) token ids with T <= seq_len -> logits (B, T, vocab_size)."""
        if idx.shape[1] > self.cfg.seq_len:
            raise ValueError(
                f"sequence of {idx.shape[1]} tokens exceeds seq_len={self.cfg.seq_len}"
            )
        x = self.drop(self.embed(idx))  # (B, T, D)
        for block in self.blocks:
            x = block(x)
        x = self.norm(x)
        return self.embed.logits(x) if self.head is None else self.head(x)

    @torch.no_grad()
    def generate(
        self,
        idx: Tensor,
        max_new_tokens: int,
        temperature: float = 1.0,
        top_k: int | None = None,
        generator: torch.Generator | None = None,
    ) -> Tensor:
        """Append max_new_tokens sampled tokens to idx (B, T); the context is cropped to seq_len.

        temperature 0 picks the most likely token (greedy decoding).
        """
        for _ in range(max_new_tokens):
            logits = self(idx[:, -self.cfg.seq_len :])[:, -1, :].float()  # (B, V)
            if temperature == 0:
                nxt = logits.argmax(dim=-1, keepdim=True)
            else:
                logits = logits / temperature
                if top_k is not None:
                    kth = torch.topk(logits, min(top_k, logits.shape[-1])).values[:, -1:]
                    logits = logits.masked_fill(logits < kth, float("-inf"))
                nxt = torch.multinomial(F.softmax(logits, dim=-1), 1, generator=generator)
            idx = torch.cat((idx, nxt), dim=1)
        return idx

    @property
    def layers(self) -> list[Block]:
        """The residual blocks, typed (nn.ModuleList iterates as plain modules)."""
        return [cast(Block, b) for b in self.blocks]

    def num_parameters(self) -> int:
        """Trainable parameters of the model as built (a fixed basis is not counted)."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)

    def flops_breakdown(self) -> dict[str, float]:
        """Analytic forward FLOPs per token at cfg.seq_len, by component.

        Counted: matrix products (2 per multiply-add), FFTs (2.5·N·log2 N per real transform),
        frequency-domain products and band recombination. Not counted: norms, activations,
        gates and residual adds (as in nanoGPT's and Kaplan et al.'s estimates).
        """
        emb = self.embed.flops_per_token()
        out = {"embedding": emb["embedding"]}
        for i, block in enumerate(self.layers):
            out[f"layer{i}.{self.cfg.layer_mixers[i]}"] = block.mixer.flops_per_token()
            out[f"layer{i}.ffn"] = block.ffn.flops_per_token()
        out["head"] = emb["head_tied"] if self.head is None else 2.0 * self.head.weight.numel()
        return out

    def flops_per_token(self) -> float:
        """Total analytic forward FLOPs per token at cfg.seq_len (see `flops_breakdown`)."""
        return sum(self.flops_breakdown().values())

    def save_pretrained(self, directory: str | Path) -> None:
        """Write config.json and model.safetensors (no pickle)."""
        path = Path(directory)
        path.mkdir(parents=True, exist_ok=True)
        (path / CONFIG_FILE).write_text(json.dumps(self.cfg.to_dict(), indent=2) + "\n")
        state = {k: v.detach().contiguous().cpu() for k, v in self.state_dict().items()}
        save_file(state, str(path / WEIGHTS_FILE))

    @classmethod
    def from_pretrained(
        cls, directory: str | Path, device: str | torch.device = "cpu"
    ) -> SpectralLM:
        """Load a model written by `save_pretrained`."""
        path = Path(directory)
        cfg = ModelConfig.from_dict(json.loads((path / CONFIG_FILE).read_text()))
        model = cls(cfg)
        model.load_state_dict(load_file(str(path / WEIGHTS_FILE), device=str(device)))
        return model.to(device)
