"""`SpectralAnalyzer`: how much of a model's parameters and compute is spectral.

The seeds' analyser guessed from parameter names. This one walks the model as built: it sorts
each module into a component, counts the component's trainable parameters, and takes its
FLOPs from `SpectralLM.flops_breakdown()`, so the shares add up to the model's real totals.

Spectral components: the spectral embedding and its tied head (through Φ), the mixers that say
they are (`Mixer.spectral`), and the FFN's frequency-domain path. Everything else (the other
mixers, the FFN's MLP, a lookup table, an untied head, the norms) is not.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from torch import nn

from model.embedding import SpectralEmbedding
from model.ffn import SpectralFFN
from model.lm import SpectralLM


@dataclass(frozen=True)
class Component:
    """One part of the model: its trainable parameters and forward FLOPs per token."""

    name: str
    spectral: bool
    params: int
    flops: float


def _params(*tensors: nn.Parameter | None) -> int:
    return sum(t.numel() for t in tensors if t is not None and t.requires_grad)


def _module_params(module: nn.Module | None) -> int:
    return 0 if module is None else _params(*module.parameters())


def _linear_flops(module: nn.Module | None) -> float:
    """2 FLOPs per multiply-add of every nn.Linear inside `module`, per token."""
    if module is None:
        return 0.0
    return sum(2.0 * m.weight.numel() for m in module.modules() if isinstance(m, nn.Linear))


class SpectralAnalyzer:
    """Parameter and FLOP shares of the spectral components of a `SpectralLM`."""

    def __init__(self, model: SpectralLM) -> None:
        self.model = model

    def components(self) -> list[Component]:
        """Every component once; their params and FLOPs sum to the model's totals."""
        flops = self.model.flops_breakdown()
        parts = self._embedding_parts(flops)
        for i, block in enumerate(self.model.layers):
            key = f"layer{i}.{self.model.cfg.layer_mixers[i]}"
            mixer = block.mixer
            parts.append(Component(key, mixer.spectral, _module_params(mixer), flops[key]))
            parts += self._ffn_parts(f"layer{i}.ffn", block.ffn, flops[f"layer{i}.ffn"])
        norms = [m for m in self.model.modules() if isinstance(m, nn.LayerNorm)]
        parts.append(Component("norms", False, sum(_module_params(m) for m in norms), 0.0))
        return [c for c in parts if c.params or c.flops]  # drop paths that were not built

    def _embedding_parts(self, flops: dict[str, float]) -> list[Component]:
        """Input embedding and output head; a hybrid's table is split off as non-spectral."""
        embed, head = self.model.embed, self.model.head
        untied = (
            [] if head is None else [Component("head", False, _module_params(head), flops["head"])]
        )
        tied_flops = flops["head"] if head is None else 0.0
        if not isinstance(embed, SpectralEmbedding):  # the table baseline
            table = Component("embedding.table", False, _module_params(embed), flops["embedding"])
            return [table, Component("head.table", False, 0, tied_flops), *untied]
        table_params = _module_params(embed.table)
        # A hybrid's tied head also multiplies by the V×D table: 2·V·D FLOPs per token.
        table_head = (
            2.0 * embed.table.weight.numel() if embed.table is not None and head is None else 0.0
        )
        parts = [
            Component(
                "embedding.spectral", True, _module_params(embed) - table_params, flops["embedding"]
            ),
            Component("head.spectral", True, 0, tied_flops - table_head),
        ]
        if embed.table is not None:
            parts += [
                Component("embedding.table", False, table_params, 0.0),
                Component("head.table", False, 0, table_head),
            ]
        return parts + untied

    @staticmethod
    def _ffn_parts(name: str, ffn: SpectralFFN, flops: float) -> list[Component]:
        """The MLP path and the frequency-domain path; a path with share zero is not built."""
        mlp_flops = _linear_flops(ffn.mlp)
        return [
            Component(f"{name}.mlp", False, _module_params(ffn.mlp), mlp_flops),
            Component(f"{name}.spectral", True, _params(ffn.freq_weight), flops - mlp_flops),
        ]

    def analyze(self) -> dict[str, Any]:
        """Totals, spectral totals and shares, for parameters and FLOPs, plus every component."""
        parts = self.components()
        out: dict[str, Any] = {}
        for measure in ("params", "flops"):
            total = sum(getattr(c, measure) for c in parts)
            spectral = sum(getattr(c, measure) for c in parts if c.spectral)
            share = spectral / total if total else 0.0
            out[measure] = {"total": total, "spectral": spectral, "share": share}
        out["components"] = [asdict(c) for c in parts]
        return out

    def report(self) -> str:
        """A markdown table: each component's parameters and FLOPs per token, and the shares."""
        a = self.analyze()
        P, Fl = a["params"]["total"] or 1, a["flops"]["total"] or 1
        lines = [
            "| component | spectral | params | share | FLOPs/token | share |",
            "|---|---|---:|---:|---:|---:|",
        ]
        for c in a["components"]:
            lines.append(
                f"| {c['name']} | {'yes' if c['spectral'] else 'no'} | {c['params']:,} "
                f"| {c['params'] / P:.1%} | {c['flops']:,.0f} | {c['flops'] / Fl:.1%} |"
            )
        p, f = a["params"], a["flops"]
        lines.append(
            f"| **spectral total** | | {p['spectral']:,} | {p['share']:.1%} "
            f"| {f['spectral']:,.0f} | {f['share']:.1%} |"
        )
        return "\n".join(lines)
