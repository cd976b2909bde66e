"""Named starting points for a run: each preset overrides some `RunConfig` defaults.

Plain data, importable without torch, so the CLI can offer the names as choices. The values a
preset resolves to (its population, generations, space and budget, with the `RunConfig`
defaults it keeps) are tabulated by `hrfevo.commands.run.presets_table`, for `hrfevo run
--help` and the README.
"""

from __future__ import annotations

from typing import Any

DEFAULT = "tiny"  # the preset of a run that names none

PRESETS: dict[str, dict[str, Any]] = {
    # For tests and CI: a few seconds of work on one core, start-up included.
    "smoke": {
        "population": 4,
        "generations": 2,
        "executor": "serial",
        "space": {
            "seq_len": 32,
            "d_model": [16, 32],
            "n_layers": [1, 2],
            "n_bases": [2, 8],
            "max_wavelet_taps": 8,
            "levels": [1, 3],
        },
        "budget": {
            "steps": 6,
            "batch_size": 4,
            "eval_tokens": 512,
            "warmup": 0.0,
            "schedule": "cosine",
            "warmup_steps": None,
        },
        "fidelity": None,
    },
    # The README default: a real small search, a few minutes on a 2-core laptop. The
    # RunConfig defaults are this preset's settings (its ladder and budget: see
    # reports/fidelity.md for why); only the space is narrowed.
    "tiny": {
        "space": {"seq_len": 64, "d_model": [32, 48, 64], "n_layers": [1, 3], "n_bases": [4, 24]}
    },
    # A serious CPU search: about 40 minutes on 2 cores. Its ladder is tiny's shape scaled to
    # its budget, not calibrated (8× its top rung is hours of CPU per genome).
    "small": {
        "population": 12,
        "generations": 5,
        "space": {"seq_len": 128, "d_model": [32, 48, 64, 96, 128], "n_layers": [1, 4]},
        "budget": {
            "steps": 400,
            "batch_size": 16,
            "eval_tokens": 65536,
            "lr": 2e-3,
            "warmup_steps": 40,
        },
        "fidelity": {"rungs": [600, 1200, 3200], "promote": 1 / 3, "forecast_from": 400},
    },
}
