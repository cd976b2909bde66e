"""Crossover: children that take each part of their genome from one of two parents.

The basis lists are cut at one point each (so a child may hold more or fewer functions than
either parent); the other genes travel in groups that only make sense together: depth with its
mixers, the FFN width with its spectral share, and the wavelet genes. `siblings` makes the two
complementary children of one set of draws, as a real-coded crossover makes two: what one
takes from a parent, the other takes from the other parent.
"""

from __future__ import annotations

from hrfevo.genome import ArchGenes, Genome
from hrfevo.operators.draw import Rng
from hrfevo.operators.repair import repair
from hrfevo.space import SearchSpace

# The gene groups, in the order their parent is drawn.
GROUPS = ("depth", "ffn", "width", "embedding", "heads", "wavelet")


def crossover(a: Genome, b: Genome, space: SearchSpace, rng: Rng) -> Genome:
    """A child of two parents: one-point crossover of the basis lists, and each gene group
    (the wavelet genes; width; depth with its mixers; FFN; embedding; heads) from either."""
    return siblings(a, b, space, rng)[0]


def siblings(a: Genome, b: Genome, space: SearchSpace, rng: Rng) -> tuple[Genome, Genome]:
    """Two complementary children of two parents: `crossover`'s child, and its mirror image
    (b's basis head with a's tail, and every gene group from the other parent)."""
    cut_a, cut_b = int(rng.integers(len(a.basis) + 1)), int(rng.integers(len(b.basis) + 1))
    from_first = {group: bool(rng.random() < 0.5) for group in GROUPS}
    return (
        _child(a, b, cut_a, cut_b, from_first, space),
        _child(b, a, cut_b, cut_a, from_first, space),
    )


def _child(
    x: Genome, y: Genome, cut_x: int, cut_y: int, from_x: dict[str, bool], space: SearchSpace
) -> Genome:
    """x's basis up to cut_x then y's from cut_y, and each gene group from x where `from_x`
    says so, else from y."""

    def take(group: str) -> Genome:
        return x if from_x[group] else y

    depth, ffn = take("depth").arch, take("ffn").arch
    arch = ArchGenes(
        d_model=take("width").arch.d_model,
        n_layers=depth.n_layers,
        mixers=depth.mixers,
        ffn_mult=ffn.ffn_mult,
        spectral_share=ffn.spectral_share,
        embedding=take("embedding").arch.embedding,
        n_heads=take("heads").arch.n_heads,
    )
    basis = x.basis[:cut_x] + y.basis[cut_y:]
    return repair(Genome(basis, take("wavelet").wavelet, arch), space)
