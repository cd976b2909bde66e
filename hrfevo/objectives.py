"""The objectives a search can minimise, by name: one `OBJECTIVES` entry each.

An objective is a metric that every evaluation reports under its name (see `METRICS` in
`hrfevo.problems.spectral`), with what a failed genome scores on it and where it sits in the
space the hypervolume is measured in. Every run minimises `REQUIRED` first; a config file may
add the others (`objectives: [perplexity, flops_per_token, params]`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Objective:
    description: str  # what is minimised, for help text and reports
    penalty: float  # a failed or diverged genome's value: dominated by every real result
    hv_reference: float  # the hypervolume's reference point, on the axis below
    log_vocab: bool = False  # axis: ln(v)/ln(V) if True (1.0 = uniform guessing), else log10(v)

    def hv_value(self, value: float, vocab_size: int) -> float:
        """Where `value` sits on this objective's hypervolume axis."""
        if self.log_vocab:
            return math.log(value) / math.log(vocab_size)
        return math.log10(max(value, 1.0))  # a state of 0 bytes (a context of one) sits at 0


OBJECTIVES: dict[str, Objective] = {
    # log_V perplexity is the validation loss as a share of uniform guessing's ln V.
    "perplexity": Objective("validation perplexity", 1e12, 1.0, log_vocab=True),
    "flops_per_token": Objective("forward FLOPs per token", 1e18, 9.0),  # 1 GFLOP/token
    "params": Objective("trainable parameters", 1e15, 8.0),  # 100M parameters
    # Inference state per sequence at a full context: a KV cache, a convolution's history.
    "state_bytes": Objective("inference state bytes per sequence", 1e18, 9.0),  # 1 GB
    # Measured, so noisy (reports/latency.md): a token's generation at batch 1, full context.
    "latency_ms": Objective("milliseconds to generate a token", 1e12, 4.0),  # 10 s
}
REQUIRED = ("perplexity", "flops_per_token")  # the first objectives of every run, in order
