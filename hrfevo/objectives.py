"""The objectives a search can minimise, by name: one `OBJECTIVES` entry each.

An objective is a metric that every evaluation reports under its name (see `METRICS` in
`hrfevo.problems.spectral`), with what a failed genome scores on it and where it sits in the
space the hypervolume is measured in. Every run minimises `REQUIRED` first; a config file may
add the others (`objectives: [perplexity, flops_per_token, params]`). Those in `PROBED` are
measured by a second training, the probe a run's `recall` section sets.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Objective:
    description: str  # what is minimised, for help text and reports
    penalty: float  # a failed or diverged genome's value: dominated by every real result
    hv_reference: float  # the hypervolume's reference point, on the axis below
    # The hypervolume's axis: "log10" (costs enter by orders of magnitude), "log_vocab"
    # (ln(v)/ln(V): 1.0 is uniform guessing) or "linear" (a share, such as an error rate).
    axis: str = "log10"

    def hv_value(self, value: float, vocab_size: int) -> float:
        """Where `value` sits on this objective's hypervolume axis."""
        if self.axis == "log_vocab":
            return math.log(value) / math.log(vocab_size)
        if self.axis == "linear":
            return value
        return math.log10(max(value, 1.0))  # a state of 0 bytes (a context of one) sits at 0


OBJECTIVES: dict[str, Objective] = {
    # log_V perplexity is the validation loss as a share of uniform guessing's ln V.
    "perplexity": Objective("validation perplexity", 1e12, 1.0, axis="log_vocab"),
    "flops_per_token": Objective("forward FLOPs per token", 1e18, 9.0),  # 1 GFLOP/token
    "params": Objective("trainable parameters", 1e15, 8.0),  # 100M parameters
    # Inference state per sequence at a full context: a KV cache, a convolution's history.
    "state_bytes": Objective("inference state bytes per sequence", 1e18, 9.0),  # 1 GB
    # Measured, so noisy (reports/latency.md): a token's generation at batch 1, full context.
    "latency_ms": Objective("milliseconds to generate a token", 1e12, 4.0),  # 10 s
    # In-context recall (`model.recall`): 1 - MQAR accuracy of the architecture trained on MQAR
    # alone. The reference is 1.0: a model that recalls nothing adds no volume.
    "recall_error": Objective("MQAR recall error (1 - accuracy)", 2.0, 1.0, axis="linear"),
}
REQUIRED = ("perplexity", "flops_per_token")  # the first objectives of every run, in order
PROBED = ("recall_error",)  # measured by the MQAR probe: at every rung when an objective
