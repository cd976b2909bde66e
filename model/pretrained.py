"""A model directory (config.json and model.safetensors), read as untrusted input.

Model directories are shared: downloaded, copied between machines, edited by hand. So nothing in
one is believed before it is checked, and nothing is allocated until every check has passed (as
Hugging Face's loaders do):

1. both files are regular files inside the directory: a link that leads out of it (to /dev/zero,
   say, or to another model's weights) is refused;
2. config.json is at most MAX_CONFIG_BYTES of JSON that makes a valid `ModelConfig`, whose sizes
   `model.config.MAX_SIZES` bounds;
3. model.safetensors' header is read without the tensor data (the format: an 8-byte little-endian
   length, then that many bytes of JSON naming each tensor's dtype, shape and byte range), and
   its layout checked: each range holds exactly its tensor, and the ranges tile the rest of the
   file, so a truncated file is caught here;
4. every tensor's name, dtype and shape is compared with the state dict of the model that
   config.json describes, built on the meta device (shapes without memory, `expected_tensors`).

Every failure is one ValueError, `model directory 'DIR' cannot be loaded: ...`, that names the
field, file or tensor.
"""

from __future__ import annotations

import json
import math
import os
import stat
import struct
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NoReturn

import torch
from huggingface_hub import constants, hf_hub_download
from torch import Tensor, nn

from model.checks import is_int
from model.config import ModelConfig

CONFIG_FILE = constants.CONFIG_NAME  # "config.json": the names the Hub and its mixin use
WEIGHTS_FILE = constants.SAFETENSORS_SINGLE_FILE  # "model.safetensors"

# A config lists at most d_model basis functions of ~150 bytes of JSON each: under 3 MB at the
# widest d_model (MAX_SIZES). The header of the deepest model names ~3,400 tensors, ~0.4 MB.
MAX_CONFIG_BYTES = 2**24
MAX_HEADER_BYTES = 2**24

# safetensors' dtype codes, for those a state dict of torch tensors may hold.
DTYPES = {
    "F64": torch.float64,
    "F32": torch.float32,
    "F16": torch.float16,
    "BF16": torch.bfloat16,
    "I64": torch.int64,
    "I32": torch.int32,
    "I16": torch.int16,
    "I8": torch.int8,
    "U8": torch.uint8,
    "BOOL": torch.bool,
}
CODES = {dtype: code for code, dtype in DTYPES.items()}


def refuse(directory: Path, why: str) -> NoReturn:
    """Raise the ValueError `model directory 'DIR' cannot be loaded: why`."""
    raise ValueError(f"model directory {str(directory)!r} cannot be loaded: {why}")


def locate(model_id: str, **download: Any) -> tuple[Path, Path, Callable[[str], Path]]:
    """(directory, root, fetch) of a local model directory or a Hub id. config.json is in
    `directory` (for a Hub id, a snapshot in the cache, downloaded by `hf_hub_download` with
    `download`'s arguments); links may lead anywhere under `root` (the cache holds a snapshot's
    files as links to its blobs); `fetch(name)` downloads another file (locally: nothing to do).
    """
    if os.path.isdir(model_id):
        return Path(model_id), Path(model_id), lambda name: Path(model_id) / name

    def fetch(name: str) -> Path:
        return Path(hf_hub_download(repo_id=model_id, filename=name, **download))

    root = Path(download.get("cache_dir") or constants.HF_HUB_CACHE)
    return fetch(CONFIG_FILE).parent, root, fetch


def checked_file(directory: Path, name: str, root: Path | None = None) -> Path:
    """directory/name, refused unless it is a regular file inside `root` (default: directory)."""
    path = directory / name
    if not path.exists():
        refuse(directory, f"it has no {name}")
    target, inside = path.resolve(), (root or directory).resolve()
    if not target.is_relative_to(inside):
        refuse(directory, f"{name} leads to {str(target)!r}, outside {str(inside)!r}")
    if not stat.S_ISREG(os.stat(target).st_mode):
        refuse(directory, f"{name} is not a regular file")
    return path


def read_config(directory: Path, root: Path | None = None) -> ModelConfig:
    """The checked `ModelConfig` of directory/config.json."""
    path = checked_file(directory, CONFIG_FILE, root)
    size = path.stat().st_size
    if size > MAX_CONFIG_BYTES:
        refuse(directory, f"{CONFIG_FILE} is {size:,} bytes; no config needs {MAX_CONFIG_BYTES:,}")
    try:
        d = json.loads(path.read_bytes())
    except (ValueError, RecursionError) as e:  # ValueError: bad JSON or bad UTF-8
        refuse(directory, f"{CONFIG_FILE} is not JSON ({e})")
    try:
        return ModelConfig.from_dict(d)
    except (ValueError, TypeError) as e:
        refuse(directory, f"{CONFIG_FILE}: {e}")


def expected_tensors(
    build: Callable[[ModelConfig], nn.Module], cfg: ModelConfig
) -> dict[str, Tensor]:
    """The state dict of `build(cfg)` built on the meta device: names, dtypes and shapes, no
    memory. (Fixed tables computed from the config stay on the CPU; they are small.)"""
    with torch.device("meta"):
        return dict(build(cfg).state_dict())


def check_weights(
    directory: Path, expected: Mapping[str, Tensor], root: Path | None = None
) -> None:
    """Refuse directory/model.safetensors unless its header describes exactly `expected`."""
    entries = read_header(checked_file(directory, WEIGHTS_FILE, root))
    missing, extra = set(expected) - set(entries), set(entries) - set(expected)
    if missing:
        refuse(directory, f"{WEIGHTS_FILE} lacks {_some(missing)}, which {CONFIG_FILE} implies")
    if extra:
        why = f"{WEIGHTS_FILE} holds {_some(extra)}, which {CONFIG_FILE} does not imply"
        refuse(directory, why)
    for name, tensor in expected.items():
        want = (CODES.get(tensor.dtype, str(tensor.dtype)), list(tensor.shape))
        got = (entries[name]["dtype"], entries[name]["shape"])
        if got != want:
            refuse(
                directory,
                f"tensor {name!r} is {got[0]} {got[1]} in {WEIGHTS_FILE}, but {CONFIG_FILE} "
                f"implies {want[0]} {want[1]}",
            )


def _some(names: set[str]) -> str:
    """tensor 'a', or tensor 'a' (and 3 more): the first name of a set, in order."""
    more = f" (and {len(names) - 1} more)" if len(names) > 1 else ""
    return f"tensor {min(names)!r}{more}"


def read_header(path: Path) -> dict[str, dict[str, Any]]:
    """The tensor entries of a safetensors file's header ({name: {dtype, shape,
    data_offsets}}), read without the data and checked to describe the file's bytes exactly."""
    size, name = path.stat().st_size, path.name
    with path.open("rb") as f:
        head = f.read(8)
        (length,) = struct.unpack("<Q", head) if len(head) == 8 else (0,)
        if not 0 < length <= MAX_HEADER_BYTES:
            refuse(path.parent, f"{name} is not a safetensors file (no plausible header length)")
        if length > size - 8:
            refuse(path.parent, f"{name} is truncated inside its {length:,}-byte header")
        raw = f.read(length)
    try:
        header = json.loads(raw)
    except (ValueError, RecursionError):  # ValueError: bad JSON or bad UTF-8
        header = None
    if not isinstance(header, dict):
        refuse(path.parent, f"{name} is not a safetensors file (no JSON header)")
    header.pop("__metadata__", None)
    for tensor, entry in header.items():
        if not _well_formed(entry):
            refuse(path.parent, f"{name} has a malformed header entry for tensor {tensor!r}")
    _check_layout(header, size - 8 - length, path)
    return header


def _well_formed(entry: Any) -> bool:
    """A header entry: {"dtype": a known code, "shape": [ints >= 0], "data_offsets": [b, e]}."""
    if not isinstance(entry, dict) or entry.get("dtype") not in DTYPES:
        return False
    shape, offsets = entry.get("shape"), entry.get("data_offsets")
    return (
        isinstance(shape, list)
        and isinstance(offsets, list)
        and len(offsets) == 2
        and all(is_int(v) and v >= 0 for v in shape + offsets)
    )


def _check_layout(header: dict[str, Any], data_bytes: int, path: Path) -> None:
    """Each tensor's byte range holds exactly its dtype and shape, and the ranges tile the
    `data_bytes` after the header with no gap or overlap (as safetensors itself requires)."""
    end = 0
    for name, entry in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"]):
        begin, stop = entry["data_offsets"]
        size = math.prod(entry["shape"]) * DTYPES[entry["dtype"]].itemsize
        if begin != end or stop - begin != size:
            refuse(path.parent, f"{path.name}: tensor {name!r} has a bad byte range")
        end = stop
    if end != data_bytes:
        state = "truncated" if end > data_bytes else "longer than its tensors"
        why = f"its header describes {end:,} bytes of tensors, the file holds {data_bytes:,}"
        refuse(path.parent, f"{path.name} is {state}: {why}")
