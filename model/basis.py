"""Harmonic basis functions over the embedding axis.

A basis function φ(u) is sampled at u = d / D for d = 0..D-1, so `frequency` is measured in
cycles across the embedding axis and the Nyquist limit is D / 2. Each family is one line of
maths; adding a family means adding one function and one `FAMILIES` entry.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass

import torch
from torch import Tensor

# f(u, frequency, phase, shape, center) -> samples; every argument broadcasts to (B, D).
BasisFn = Callable[[Tensor, Tensor, Tensor, Tensor, Tensor], Tensor]


def _sine(u: Tensor, f: Tensor, p: Tensor, s: Tensor, c: Tensor) -> Tensor:
    return torch.sin(2 * math.pi * f * u + p)


def _cosine(u: Tensor, f: Tensor, p: Tensor, s: Tensor, c: Tensor) -> Tensor:
    return torch.cos(2 * math.pi * f * u + p)


def _gabor(u: Tensor, f: Tensor, p: Tensor, s: Tensor, c: Tensor) -> Tensor:
    # Gaussian window of width s centred at c, times a cosine carrier.
    return torch.exp(-0.5 * ((u - c) / s) ** 2) * torch.cos(2 * math.pi * f * u + p)


def _chirp(u: Tensor, f: Tensor, p: Tensor, s: Tensor, c: Tensor) -> Tensor:
    # Linear sweep: the instantaneous frequency goes from f at u=0 to f + s at u=1.
    return torch.sin(2 * math.pi * (f * u + 0.5 * s * u**2) + p)


def _damped(u: Tensor, f: Tensor, p: Tensor, s: Tensor, c: Tensor) -> Tensor:
    return torch.exp(-s * u) * torch.sin(2 * math.pi * f * u + p)


@dataclass(frozen=True)
class BasisFamily:
    """A family and the extra parameters it reads (`shape`, `center`) with their ranges."""

    fn: BasisFn
    shape_range: tuple[float, float] | None = None  # None: the family ignores `shape`
    shape_default: float = 0.0
    uses_center: bool = False
    # Where set, the family is the sine sin(2πfu + p + sine_shift) at shape 0 (always, if it
    # ignores shape), and `BasisSpec.canonical` rewrites it as that sine.
    sine_shift: float | None = None


FAMILIES: dict[str, BasisFamily] = {
    "sine": BasisFamily(_sine, sine_shift=0.0),
    "cosine": BasisFamily(_cosine, sine_shift=math.pi / 2),  # cos(x) = sin(x + π/2)
    "gabor": BasisFamily(_gabor, shape_range=(0.02, 1.0), shape_default=0.2, uses_center=True),
    "chirp": BasisFamily(_chirp, shape_range=(-16.0, 16.0), shape_default=2.0, sine_shift=0.0),
    "damped": BasisFamily(_damped, shape_range=(0.0, 8.0), shape_default=2.0, sine_shift=0.0),
}


def wrap_phase(phase: float) -> float:
    """The phase in [0, 2π). (A tiny negative phase % 2π rounds to 2π itself: that is 0.)"""
    wrapped = float(phase) % (2 * math.pi)
    return wrapped if wrapped < 2 * math.pi else 0.0


@dataclass(frozen=True)
class BasisSpec:
    """One harmonic basis function: the genes HRFEvo mutates.

    `shape` is the Gabor width, the chirp sweep (cycles) or the damping rate, and `center` is the
    Gabor window's centre in [0, 1]. Equal functions have equal canonical specs (see `canonical`).
    """

    family: str
    frequency: float  # cycles across the embedding axis, in (0, D/2]
    phase: float = 0.0  # radians, in [0, 2π)
    shape: float = 0.0
    center: float = 0.5

    def to_dict(self) -> dict[str, float | str]:
        return asdict(self)

    def canonical(self) -> BasisSpec:
        """The simplest spec of the same function, as the embedding builds it.

        The phase is wrapped into [0, 2π), parameters the family ignores are reset to 0 (shape)
        and 0.5 (center), and a function that is a sine becomes one (see `sine_shift`):
        cosine(f, p) = sine(f, p + π/2), and a chirp or damped sine of shape 0 is sine(f, p).
        Shape and center are fixed buffers of the embedding and frequency and phase are learned
        alike in every family, so a spec and its canonical form build the same model.
        Idempotent; `sample` agrees with the original's to rounding.
        """
        fam = FAMILIES[self.family]
        if fam.sine_shift is not None and (fam.shape_range is None or self.shape == 0):
            phase = wrap_phase(self.phase + fam.sine_shift)
            return BasisSpec(family="sine", frequency=float(self.frequency), phase=phase)
        return BasisSpec(
            family=self.family,
            frequency=float(self.frequency),
            phase=wrap_phase(self.phase),
            shape=float(self.shape) if fam.shape_range else 0.0,
            center=float(self.center) if fam.uses_center else 0.5,
        )

    def problem(self, d_model: int) -> str | None:
        """Why this spec is invalid for an embedding of width `d_model`, or None."""
        if self.family not in FAMILIES:
            return f"unknown basis family {self.family!r} (known: {', '.join(FAMILIES)})"
        numbers = (self.frequency, self.phase, self.shape, self.center)
        if not all(_is_finite_number(x) for x in numbers):
            return "frequency, phase, shape and center must be finite numbers"
        if not 0.0 < self.frequency <= d_model / 2:
            return f"frequency {self.frequency} outside (0, d_model/2 = {d_model / 2}]"
        lo_hi = FAMILIES[self.family].shape_range
        if lo_hi and not lo_hi[0] <= self.shape <= lo_hi[1]:
            return f"{self.family} shape {self.shape} outside [{lo_hi[0]}, {lo_hi[1]}]"
        if not 0.0 <= self.center <= 1.0:
            return f"center {self.center} outside [0, 1]"
        if not self.sample(d_model).abs().max() > 1e-6:  # e.g. sin(πd): a sine at Nyquist
            return f"samples to zero on the {d_model}-point grid (a wasted basis function)"
        return None

    def sample(self, d_model: int) -> Tensor:
        """This function on the D-point grid, in float64: (D,)."""
        u = torch.arange(d_model, dtype=torch.float64) / d_model
        f, p, s, c = (
            torch.tensor(float(x), dtype=torch.float64)
            for x in (self.frequency, self.phase, self.shape, self.center)
        )
        return FAMILIES[self.family].fn(u, f, p, s, c)


def _is_finite_number(x: object) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def default_basis(n_bases: int, d_model: int) -> list[BasisSpec]:
    """A well-conditioned starting basis: B members of the DST-II basis of length D.

    The DST-II functions sin(πk(2d+1)/2D), k = 1..D, are orthogonal on the sampling grid, so any
    B <= D of them give Φ condition number 1. In BasisSpec terms member k is a sine of frequency
    k/2 and phase πk/2D. Unlike the real DFT basis, none of them is the constant, which
    `frequency > 0` excludes, so even B = D is full rank. We take B of them spread evenly over
    the whole band (not the B lowest, whose near-duplicate low frequencies caused the seeds'
    rank collapse).
    """
    # Distinct as B <= D. On the CPU even under `with torch.device("meta")`: values, not weights.
    ks = torch.linspace(1, d_model, n_bases, device="cpu").round().long().tolist()
    return [
        BasisSpec(family="sine", frequency=k / 2, phase=math.pi * k / (2 * d_model)) for k in ks
    ]


def family_groups(families: list[str]) -> list[tuple[str, Tensor]]:
    """Row indices of each family, so `synthesize` makes one vectorised call per family."""
    return [
        (name, torch.tensor([i for i, f in enumerate(families) if f == name]))
        for name in dict.fromkeys(families)
    ]


def synthesize(
    groups: list[tuple[str, Tensor]],
    frequency: Tensor,
    phase: Tensor,
    shape: Tensor,
    center: Tensor,
    d_model: int,
) -> Tensor:
    """Sample B basis functions on the D-point grid: returns Φ of shape (B, D).

    `groups` comes from `family_groups`; gradients flow to every parameter tensor (each (B,)).
    """
    u = torch.arange(d_model, device=frequency.device, dtype=frequency.dtype) / d_model  # (D,)
    phi = frequency.new_empty(frequency.shape[0], d_model)
    for name, idx in groups:
        idx = idx.to(u.device)
        f, p, s, c = (t[idx, None] for t in (frequency, phase, shape, center))  # (B_f, 1) each
        phi = phi.index_copy(0, idx, FAMILIES[name].fn(u, f, p, s, c))
    return phi
