"""Tampered copies of a model directory, one per way a shared directory can be wrong, each with
a piece of the one-line refusal it must get (model/pretrained.py)."""

from __future__ import annotations

import json
import os
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from model import MAX_FFN_MULT, MAX_SIZES, ModelConfig, SpectralLM

SMALL = ModelConfig(vocab_size=256, seq_len=64, d_model=32, n_layers=2)
OTHER = ModelConfig(vocab_size=256, seq_len=64, d_model=48, n_layers=2, mixer="fourier")
HUGE = 10**12  # a size with far too many digits


def save(cfg: ModelConfig, out: Path) -> Path:
    """A model directory as `save_pretrained` writes it (untrained: only loading matters)."""
    torch.manual_seed(0)
    SpectralLM(cfg).save_pretrained(out)
    return out


def edit_config(d: Path, **fields: Any) -> None:
    config = json.loads((d / "config.json").read_text())
    (d / "config.json").write_text(json.dumps(config | fields))


def write_safetensors(path: Path, header: dict[str, Any], data: bytes) -> None:
    """A safetensors file by hand: the header's length (8 bytes, little-endian), header, data."""
    raw = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + data)


def weights(d: Path) -> Path:
    return d / "model.safetensors"


def truncate(d: Path, keep: int | None = None) -> None:
    data = weights(d).read_bytes()
    weights(d).write_bytes(data[: len(data) // 2 if keep is None else keep])


def link_out(d: Path) -> None:
    """model.safetensors: a link to a valid model's weights in another directory."""
    other = save(SMALL, d.parent / "elsewhere")
    weights(d).unlink()
    weights(d).symlink_to(weights(other))


def link_config_to_dev_zero(d: Path) -> None:
    (d / "config.json").unlink()
    (d / "config.json").symlink_to("/dev/zero")  # endless: reading it would never stop


def fifo(d: Path) -> None:
    weights(d).unlink()
    os.mkfifo(weights(d))  # a pipe: reading it would wait forever


def other_models_weights(d: Path) -> None:
    weights(d).write_bytes(weights(save(OTHER, d.parent / "other")).read_bytes())


def extra_tensor(d: Path) -> None:
    from safetensors.torch import load_file, save_file

    state = load_file(str(weights(d))) | {"smuggled": torch.zeros(3)}
    save_file(state, str(weights(d)))


def half_precision(d: Path) -> None:
    from safetensors.torch import load_file, save_file

    save_file({k: v.half() for k, v in load_file(str(weights(d))).items()}, str(weights(d)))


def overlapping_ranges(d: Path) -> None:
    f32 = {"dtype": "F32", "shape": [2]}
    header = {"a": f32 | {"data_offsets": [0, 8]}, "b": f32 | {"data_offsets": [4, 12]}}
    write_safetensors(weights(d), header, bytes(16))


def huge_header_length(d: Path) -> None:
    weights(d).write_bytes(struct.pack("<Q", 2**60) + b"{}")


def oversized_config(d: Path) -> None:
    with open(d / "config.json", "r+b") as f:
        f.truncate(2**24 + 1)  # sparse: 16 MiB of NULs after the JSON


# name: (what to do to a valid directory of SMALL, a piece of the refusal)
TAMPERINGS: dict[str, tuple[Callable[[Path], None], str]] = {
    **{
        f"{field} absurd": (
            lambda d, f=field: edit_config(d, **{f: HUGE}),
            f"ModelConfig.{field}={HUGE}: must be an integer from 1 to {most}",
        )
        for field, most in MAX_SIZES.items()
    },
    "ffn_mult absurd": (
        lambda d: edit_config(d, ffn_mult=1e300),
        f"ModelConfig.ffn_mult=1e+300: must be a number > 0 and <= {MAX_FFN_MULT:g}",
    ),
    "harmonic_bases absurd": (
        lambda d: edit_config(d, harmonic_bases=HUGE),
        "harmonic_bases=1000000000000: must lie in [1, d_model=32]",
    ),
    # At their limits these pass the config's checks; the meta build's shapes refuse them.
    "vocab_size at its limit": (
        lambda d: edit_config(d, vocab_size=MAX_SIZES["vocab_size"]),
        "tensor 'embed.coeffs' is F32 [256, 16] in model.safetensors, but config.json implies "
        f"F32 [{MAX_SIZES['vocab_size']}, 16]",
    ),
    "d_model at its limit": (
        lambda d: edit_config(d, d_model=MAX_SIZES["d_model"]),
        f"but config.json implies F32 [{MAX_SIZES['d_model']}]",
    ),
    "n_layers at its limit": (
        lambda d: edit_config(d, n_layers=MAX_SIZES["n_layers"]),
        "model.safetensors lacks tensor 'blocks.10.ffn.freq_weight' (and 3301 more)",
    ),
    "unknown config field": (lambda d: edit_config(d, n_experts=8), "unknown field(s) n_experts"),
    "config not JSON": (lambda d: (d / "config.json").write_text("{"), "config.json is not JSON"),
    "config oversized": (oversized_config, "config.json is 16,777,217 bytes"),
    "config linked to /dev/zero": (link_config_to_dev_zero, "config.json leads to '/dev/zero'"),
    "weights missing": (lambda d: weights(d).unlink(), "it has no model.safetensors"),
    "weights truncated": (truncate, "model.safetensors is truncated"),
    "weights truncated in the header": (
        lambda d: truncate(d, 20),
        "model.safetensors is truncated inside its",
    ),
    "weights linked out of the directory": (link_out, "model.safetensors leads to"),
    "weights a pipe": (fifo, "model.safetensors is not a regular file"),
    "weights of another model": (other_models_weights, "lacks tensor 'blocks.0.mixer.taps'"),
    "an extra tensor": (extra_tensor, "holds tensor 'smuggled', which config.json does not"),
    "half-precision weights": (half_precision, "is F16 [16] in model.safetensors"),
    "overlapping byte ranges": (overlapping_ranges, "tensor 'b' has a bad byte range"),
    "not safetensors": (
        lambda d: weights(d).write_bytes(b"not safetensors at all"),
        "model.safetensors is not a safetensors file",
    ),
    "header length past any header": (huge_header_length, "no plausible header length"),
}


def tampered(name: str, root: Path) -> Path:
    """A directory of SMALL under `root`, tampered as TAMPERINGS[name] says."""
    d = save(SMALL, root / "model")
    TAMPERINGS[name][0](d)
    return d
