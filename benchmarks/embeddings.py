"""The seeds' embedding-efficiency demo, done honestly: writes reports/embeddings.md.

Every number comes from the modules as built (`model.embedding.build_embedding` on a
`ModelConfig`): trainable parameters of the spectral, hybrid and table embeddings, the FLOPs per
token of their tied heads, and the conditioning of the basis Φ against a seeds-like fixed
low-frequency basis.

    python -m benchmarks.embeddings            # V = 1k, 10k, 50k, 100k; D = 768; B = 16, 64
    python -m benchmarks.embeddings --quick    # V = 1k, B = 16: a smoke run
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from benchmarks.common import REPORTS, machine_lines
from model import BasisSpec, ModelConfig
from model.embedding import SpectralEmbedding, build_embedding

D_MODEL = 768


def config(vocab: int, n_bases: int | list[BasisSpec], embedding: str) -> ModelConfig:
    # The mixer is irrelevant here; "fourier" avoids the wavelet-level check at a tiny seq_len.
    return ModelConfig(
        vocab_size=vocab,
        seq_len=8,
        d_model=D_MODEL,
        n_layers=1,
        mixer="fourier",
        embedding=embedding,
        harmonic_bases=n_bases,
    )


def trainable(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


@dataclass
class Count:
    vocab: int
    n_bases: int
    kind: str
    params: int
    head_flops: float  # tied head, per token
    lookup_flops: float  # embedding, per token


def count(vocab: int, n_bases: int, kind: str) -> Count:
    emb = build_embedding(config(vocab, n_bases, kind))
    flops = emb.flops_per_token()
    return Count(vocab, n_bases, kind, trainable(emb), flops["head_tied"], flops["embedding"])


def count_table(counts: list[Count]) -> list[str]:
    lines = [
        "| V | B | embedding | parameters | vs table | tied head FLOPs/token | vs table "
        "| lookup FLOPs/token |",
        "|---:|---:|---|---:|---:|---:|---:|---:|",
    ]
    tables = {c.vocab: c for c in counts if c.kind == "table"}
    for c in counts:
        t = tables[c.vocab]
        b = "-" if c.kind == "table" else str(c.n_bases)
        lines.append(
            f"| {c.vocab:,} | {b} | {c.kind} | {c.params:,} | {c.params / t.params:.4f} "
            f"| {c.head_flops:,.0f} | {c.head_flops / t.head_flops:.4f} | {c.lookup_flops:,.0f} |"
        )
    return lines


def spectrum_stats(phi: torch.Tensor) -> tuple[float, int, int, float]:
    """Condition number, numerical rank (NumPy's tolerance), the number of singular values
    above 10⁻³·σ_max, and the entropy effective rank.

    The effective rank is exp(H(p)) with p = σ / Σσ (Roy & Vetterli, EUSIPCO 2007): B for an
    orthogonal basis, close to 1 when one direction dominates.
    """
    s = torch.linalg.svdvals(phi.double())
    tol = s[0] * max(phi.shape) * torch.finfo(torch.float64).eps
    p = s / s.sum()
    cond, entropy = (s[0] / s[-1]).item(), -(p * p.log()).sum().item()
    return cond, int((s > tol).sum()), int((s > 1e-3 * s[0]).sum()), math.exp(entropy)


def bases(n_bases: int) -> dict[str, list[BasisSpec] | int]:
    """The default basis and two readings of the seeds' "B sines at frequencies 1..B"."""
    return {
        "default (DST-II members spread over the band)": n_bases,
        "seeds-like: sin(k·u), k = 1..B radians across the axis": [
            BasisSpec(family="sine", frequency=k / (2 * math.pi)) for k in range(1, n_bases + 1)
        ],
        "sin(2πk·u), k = 1..B whole cycles across the axis": [
            BasisSpec(family="sine", frequency=float(k)) for k in range(1, n_bases + 1)
        ],
    }


def basis_table(n_bases_list: list[int]) -> list[str]:
    lines = [
        "| B | basis Φ (B×768) | condition number | numerical rank | σ > 10⁻³·σ_max "
        "| effective rank |",
        "|---:|---|---:|---:|---:|---:|",
    ]
    for n_bases in n_bases_list:
        for name, spec in bases(n_bases).items():
            emb = SpectralEmbedding(config(100, spec, "spectral"))
            cond, rank, big, eff = spectrum_stats(emb.basis().detach())
            lines.append(f"| {n_bases} | {name} | {cond:.3g} | {rank} | {big} | {eff:.1f} |")
    return lines


NOTES = """## Reading the numbers

- Parameters are the trainable parameters of the module as built: V·B coefficients plus B
  learned frequencies and B learned phases for the spectral embedding; the hybrid adds a full
  V×D table (the seeds' arrangement, which saves nothing); the table is V×D.
- The tied head computes logits = (h·Φᵀ)·Cᵀ: 2·(D·B + B·V) FLOPs per token instead of the
  table's 2·D·V. The spectral embedding's lookup costs 2·B·D FLOPs per token (C·Φ), the table's
  none. The hybrid head adds the table's product, so it costs more than the table alone.
- A smaller embedding is not free: a rank-B embedding can only place the V tokens in a
  B-dimensional subspace of the D-dimensional residual stream. Whether that costs perplexity
  is for the search to measure; this report only counts.
- Φ rows are scaled to unit RMS before the statistics (as `SpectralEmbedding.basis()` does).
  The numerical rank counts singular values above NumPy's default tolerance."""


def report(counts: list[Count], n_bases_list: list[int], command: str) -> str:
    parts = [
        "# Spectral embeddings: parameters, head FLOPs and basis conditioning",
        "",
        f"D = {D_MODEL}. Counted from the modules as built; nothing here is trained.",
        "",
        *machine_lines(torch.get_num_threads()),
        f"- command: `{command}`",
        "",
        "## Parameters and tied-head FLOPs per token",
        "",
        *count_table(counts),
        "",
        "## Conditioning of the basis Φ",
        "",
        *basis_table(n_bases_list),
        "",
        NOTES,
    ]
    return "\n".join(parts) + "\n"


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--quick", action="store_true", help="V = 1000 and B = 16 only")
    p.add_argument("--out", type=Path, default=REPORTS / "embeddings.md")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> Path:
    args = parse(argv)
    vocabs = [1000] if args.quick else [1000, 10_000, 50_000, 100_000]
    n_bases_list = [16] if args.quick else [16, 64]
    counts = []
    for vocab in vocabs:
        counts.append(count(vocab, n_bases_list[0], "table"))  # B does not shape a table
        counts += [count(vocab, b, k) for b in n_bases_list for k in ("spectral", "hybrid")]
    command = "python -m benchmarks.embeddings " + " ".join(sys.argv[1:] if argv is None else argv)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report(counts, n_bases_list, command.strip()))
    print(f"wrote {args.out}")
    return args.out


if __name__ == "__main__":
    main()
