"""The spectral language model: embedding, pre-norm residual blocks, final norm, head."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import cast

import torch
import torch.nn.functional as F
from huggingface_hub import PyTorchModelHubMixin
from safetensors.torch import load_file, save_file
from torch import Tensor, nn

from model.config import ModelConfig
from model.embedding import build_embedding
from model.ffn import SpectralFFN
from model.mixers import MIXERS
from model.pretrained import (
    CONFIG_FILE,
    WEIGHTS_FILE,
    check_weights,
    expected_tensors,
    locate,
    read_config,
)

# What `save_pretrained` writes as README.md, the Hub's model card, with the metadata below
# (`hrfevo export` writes a fuller card in its place).
CARD_TEMPLATE = """---
{{ card_data }}
---

# A spectral language model

A causal spectral language model over UTF-8 bytes (`model.SpectralLM`, from HRFEvo): harmonic
token embeddings and wavelet, Fourier or attention token mixers. `config.json` holds its shape,
`model.safetensors` its weights:

```python
from model import SpectralLM

model = SpectralLM.from_pretrained("DIR or Hub id")
```
"""


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


class SpectralLM(
    nn.Module,
    PyTorchModelHubMixin,
    library_name="hrfevo",
    license="mit",
    pipeline_tag="text-generation",
    tags=["hrfevo", "spectral-lm", "byte-level"],
    model_card_template=CARD_TEMPLATE,
):
    """The model; `save_pretrained`, `from_pretrained` and `push_to_hub` come from the Hub's
    `PyTorchModelHubMixin`, with config.json written from, and read back into, a ModelConfig."""

    def __init__(self, config: ModelConfig) -> None:
        # Named `config`: the mixin keeps a dataclass argument of that name as the model's config.
        super().__init__()
        self.cfg = cfg = config
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

    def _save_pretrained(self, save_directory: Path) -> None:
        """The mixin's writer (`save_pretrained`, `push_to_hub`): config.json holds the
        `ModelConfig` as `to_dict` writes it, model.safetensors the weights (no pickle)."""
        text = json.dumps(self.cfg.to_dict(), indent=2) + "\n"
        (save_directory / CONFIG_FILE).write_text(text, encoding="utf-8")
        state = {k: v.detach().contiguous().cpu() for k, v in self.state_dict().items()}
        save_file(state, str(save_directory / WEIGHTS_FILE), metadata={"format": "pt"})

    @classmethod
    def from_pretrained(  # type: ignore[override]
        cls,
        pretrained_model_name_or_path: str | Path,
        *,
        device: str | torch.device = "cpu",
        force_download: bool = False,
        token: str | bool | None = None,
        cache_dir: str | Path | None = None,
        local_files_only: bool = False,
        revision: str | None = None,
    ) -> SpectralLM:
        """Load a model directory, or the Hub repository of that id, onto `device` (in eval mode).

        Every file is checked as untrusted input before anything is allocated
        (model/pretrained.py); a bad one is a ValueError naming the field, file or tensor. The
        mixin's own `from_pretrained` reads config.json before any check, so this one goes to
        `_from_pretrained` directly.
        """
        return cls._from_pretrained(
            model_id=str(pretrained_model_name_or_path),
            revision=revision,
            cache_dir=cache_dir,
            force_download=force_download,
            local_files_only=local_files_only,
            token=token,
            device=device,
        )

    @classmethod
    def _from_pretrained(  # type: ignore[override]
        cls,
        *,
        model_id: str,
        revision: str | None,
        cache_dir: str | Path | None,
        force_download: bool,
        local_files_only: bool,
        token: str | bool | None,
        device: str | torch.device = "cpu",
    ) -> SpectralLM:
        """The mixin's loader: a local directory as it is, a Hub id downloaded into the cache,
        each file checked before the model is built (see `from_pretrained`)."""
        directory, root, fetch = locate(
            model_id,
            revision=revision,
            cache_dir=cache_dir,
            force_download=force_download,
            local_files_only=local_files_only,
            token=token,
        )
        cfg = read_config(directory, root)
        fetch(WEIGHTS_FILE)  # from the Hub only once its config has passed
        check_weights(directory, expected_tensors(cls, cfg), root)
        model = cls(cfg)  # the first allocation
        model.load_state_dict(load_file(str(directory / WEIGHTS_FILE), device=str(device)))
        return model.to(device).eval()
