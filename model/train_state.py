"""`TrainState`: a training run paused between two steps, to be continued later.

A state holds what the next step reads: the weights, AdamW's moments and step counts, the
batch sampler's generator, and the step it stopped before. `train(..., start=state)` continues
it; on the CPU the result is bit for bit the one an uninterrupted run gives, because nothing
else carries over from one step to the next (the learning rate is a function of the step).

On disk (or between processes) a state is one safetensors blob: tensors under `model.*` and
`optim.<param index>.*`, and the step and generator state as JSON in the header's metadata.
Nothing is pickled.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import safetensors.torch
import torch
from torch import Tensor

FORMAT = "hrfevo-train-state/1"


@dataclass
class TrainState:
    step: int  # optimiser steps already taken: the next one is `step`
    model: dict[str, Tensor]  # state_dict of the SpectralLM
    optim: dict[int, dict[str, Tensor]]  # AdamW's per-parameter state, by parameter index
    rng: dict[str, Any]  # the batch sampler's numpy bit-generator state

    @classmethod
    def capture(
        cls,
        step: int,
        model: torch.nn.Module,
        optimizer: torch.optim.Optimizer,
        rng: np.random.Generator,
    ) -> TrainState:
        """A copy (on the CPU) of everything the run needs to go on from `step`."""
        optim = optimizer.state_dict()["state"]
        return cls(
            step=step,
            model={k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()},
            optim={
                int(i): {k: v.to("cpu", copy=True) for k, v in s.items()} for i, s in optim.items()
            },
            rng=json.loads(json.dumps(rng.bit_generator.state)),  # a deep, JSON-safe copy
        )

    def restore(
        self,
        model: torch.nn.Module,
        optimizer: torch.optim.Optimizer,
        rng: np.random.Generator,
    ) -> None:
        """Load this state into a freshly built model, optimiser and generator."""
        model.load_state_dict(self.model)
        groups = optimizer.state_dict()["param_groups"]
        optimizer.load_state_dict({"state": self.optim, "param_groups": groups})
        rng.bit_generator.state = self.rng

    def to_bytes(self) -> bytes:
        tensors = {f"model.{k}": v.contiguous() for k, v in self.model.items()}
        for i, s in self.optim.items():
            tensors |= {f"optim.{i}.{k}": v.contiguous() for k, v in s.items()}
        meta = {"format": FORMAT, "step": self.step, "rng": self.rng}
        return safetensors.torch.save(tensors, metadata={"hrfevo": json.dumps(meta)})

    @classmethod
    def from_bytes(cls, blob: bytes) -> TrainState:
        """Inverse of `to_bytes`; ValueError for anything that is not such a blob."""
        try:
            meta = json.loads(_metadata(blob)["hrfevo"])
            tensors = safetensors.torch.load(blob)
        except (ValueError, KeyError, struct.error, TypeError) as e:
            raise ValueError(f"not a training state ({type(e).__name__}: {e})") from None
        if meta.get("format") != FORMAT:
            raise ValueError(f"training state format {meta.get('format')!r}, expected {FORMAT}")
        model = {k[6:]: v for k, v in tensors.items() if k.startswith("model.")}
        optim: dict[int, dict[str, Tensor]] = {}
        for name, v in tensors.items():
            if name.startswith("optim."):
                index, key = name[6:].split(".", 1)
                optim.setdefault(int(index), {})[key] = v
        return cls(step=int(meta["step"]), model=model, optim=optim, rng=meta["rng"])


def _metadata(blob: bytes) -> dict[str, str]:
    """The `__metadata__` of a safetensors blob: an 8-byte little-endian length, then JSON."""
    (length,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8 : 8 + length])
    return dict(header["__metadata__"])


def check_blob(blob: bytes, model: Mapping[str, Tensor]) -> None:
    """ValueError, in one line, unless `blob` is a whole training state of a model whose state
    dict is `model` (its names and shapes, as `expected_tensors` gives them on the meta
    device). Reads the header alone: nothing is allocated for the tensors."""
    try:
        (length,) = struct.unpack("<Q", blob[:8])
        header = json.loads(blob[8 : 8 + length])
        meta = json.loads(header.pop("__metadata__")["hrfevo"])
        end = max((entry["data_offsets"][1] for entry in header.values()), default=0)
    except (ValueError, KeyError, TypeError, struct.error, RecursionError):
        raise ValueError("not a training state (no safetensors header with its metadata)") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ValueError(f"not a training state of format {FORMAT}")
    if 8 + length + end != len(blob):
        raise ValueError(f"{len(blob)} bytes where its header describes {8 + length + end}")
    tensors = {name[6:]: entry for name, entry in header.items() if name.startswith("model.")}
    for name in sorted(set(model) ^ set(tensors)):
        where = "lacks" if name in model else "holds"
        raise ValueError(f"{where} tensor {name!r}: the state of another model")
    for name, tensor in model.items():
        if tensors[name].get("shape") != list(tensor.shape):
            shape = tensors[name].get("shape")
            raise ValueError(
                f"tensor {name!r} is {shape}, where the model has {list(tensor.shape)}"
            )
