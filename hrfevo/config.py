"""`RunConfig`: everything one search needs, from a preset, a YAML/JSON file and flags.

Later sources win: the preset, then the config file, then command-line flags. Nested
sections (`space`, `budget`, `fidelity`) merge key by key, so a file may change one gene's
bounds only.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import yaml

from hrfevo.errors import UsageError
from hrfevo.fidelity import Fidelity
from hrfevo.space import SearchSpace
from model.config import reject_unknown_fields
from model.train import decay_start
from model.train_config import TrainConfig

STRATEGY_CHOICES = ("nsga2", "random")
EXECUTOR_CHOICES = ("ray", "serial")
OBJECTIVE_CHOICES = ("perplexity", "flops_per_token", "params")
# Where and how evaluations run. `hrfevo resume` may change these: a result does not depend on
# where it ran. Everything else is a search setting, fixed for the life of a run.
EXECUTION_FIELDS = (
    "executor",
    "ray_address",
    "ray_dashboard",
    "cpus_per_eval",
    "gpus_per_eval",
    "eval_timeout",
)

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
    # A serious CPU search: about 40 minutes on 2 cores. Its ladder is tiny's scaled to its
    # budget, not calibrated (16× its base budget is hours of CPU per genome).
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
        "fidelity": {"rungs": [400, 1200, 3200], "promote": 1 / 3},
    },
}


def _fail(name: str, value: Any, why: str) -> NoReturn:
    raise ValueError(f"{name}={value!r}: {why}")


@dataclass(kw_only=True)
class RunConfig:
    preset: str = "tiny"  # the preset this configuration started from
    data: str = "builtin"  # "builtin", a local text file, or hf:NAME[:CONFIG]
    seed: int = 0  # seeds the search's RNG and every proxy training run
    population: int = 8  # μ: genomes per generation
    generations: int = 4  # generations to run; `hrfevo resume --generations N` extends it
    strategy: str = "nsga2"  # "nsga2", or "random" (the baseline at the same budget)
    objectives: list[str] = field(default_factory=lambda: ["perplexity", "flops_per_token"])
    crossover_prob: float = 0.9  # chance that a child has two parents (it is always mutated)
    # Genomes in generation 0: "transformer" (the baseline), a genome JSON file, or a run
    # directory (its final front). Random genomes fill the rest of the population. None: the
    # transformer when the space can express it (attention and a table embedding), else none.
    seeds: list[str] | None = None
    space: SearchSpace = field(default_factory=SearchSpace)
    # Each proxy run: TrainConfig fields, except seed and threads (set by seed, cpus_per_eval).
    # `steps` is the base budget (what `hrfevo calibrate --mult` multiplies); with a ladder,
    # each rung sets the steps. WSD with a warm-up in steps lets promotions continue.
    budget: dict[str, Any] = field(
        default_factory=lambda: {
            "steps": 120,
            "batch_size": 16,
            "eval_tokens": 16384,
            "lr": 3e-3,
            "schedule": "wsd",
            "warmup_steps": 12,
        }
    )
    # A fidelity ladder, {rungs: [S0, S1, ...], promote: F}: new genomes train for S0 steps,
    # and the best share F of each rung are promoted to the next (hrfevo.fidelity). The
    # budget's other settings hold at every rung. None: every genome trains for budget.steps.
    fidelity: dict[str, Any] | None = field(
        default_factory=lambda: {"rungs": [120, 360, 960], "promote": 1 / 3}
    )
    # Execution: where evaluations run and what each one may use.
    executor: str = "ray"  # "ray" (local, or a cluster with ray_address) or "serial"
    ray_address: str | None = None  # None: start a local Ray; "auto" or host:port: join one
    cpus_per_eval: int = 1  # CPU cores (torch threads) per evaluation
    gpus_per_eval: float = 0.0  # GPUs per evaluation; fractions such as 0.25 share a GPU
    eval_timeout: float | None = None  # seconds before an evaluation is cancelled as failed
    max_retries: int = 2  # retries of an evaluation whose worker process died
    ray_dashboard: bool = False  # serve Ray's dashboard (127.0.0.1:8265) from a local Ray

    def __post_init__(self) -> None:
        if self.preset not in PRESETS:
            _fail("preset", self.preset, f"choose from {', '.join(PRESETS)}")
        if not isinstance(self.population, int) or self.population < 2:
            _fail("population", self.population, "must be an integer >= 2")
        if not isinstance(self.generations, int) or self.generations < 0:
            _fail("generations", self.generations, "must be an integer >= 0")
        if not isinstance(self.seed, int) or self.seed < 0:
            _fail("seed", self.seed, "must be an integer >= 0")
        for name, choices in (("strategy", STRATEGY_CHOICES), ("executor", EXECUTOR_CHOICES)):
            if getattr(self, name) not in choices:
                _fail(name, getattr(self, name), f"choose from {', '.join(choices)}")
        objectives = self.objectives
        if (
            not isinstance(objectives, list)
            or objectives[:2] != ["perplexity", "flops_per_token"]
            or not set(objectives) <= set(OBJECTIVE_CHOICES)
            or len(set(objectives)) != len(objectives)
        ):
            _fail("objectives", objectives, "must be perplexity, flops_per_token[, params]")
        if not 0 <= self.crossover_prob <= 1:
            _fail("crossover_prob", self.crossover_prob, "must lie in [0, 1]")
        if not isinstance(self.cpus_per_eval, int) or self.cpus_per_eval < 1:
            _fail("cpus_per_eval", self.cpus_per_eval, "must be an integer >= 1")
        if self.gpus_per_eval < 0 or (self.gpus_per_eval > 1 and self.gpus_per_eval % 1):
            _fail("gpus_per_eval", self.gpus_per_eval, "must be >= 0, and whole when above 1")
        if self.eval_timeout is not None and not self.eval_timeout > 0:
            _fail("eval_timeout", self.eval_timeout, "must be a positive number of seconds")
        if self.eval_timeout is not None and self.executor == "serial":
            _fail(
                "eval_timeout", self.eval_timeout, "needs the ray executor (serial cannot stop one)"
            )
        if not isinstance(self.max_retries, int) or self.max_retries < 0:
            _fail("max_retries", self.max_retries, "must be an integer >= 0")
        if not isinstance(self.ray_dashboard, bool):
            _fail("ray_dashboard", self.ray_dashboard, "must be true or false")
        if isinstance(self.space, dict):
            self.space = SearchSpace.from_dict(self.space)
        self.train_config().num_steps(self.space.seq_len)  # checks the budget
        self.ladder()  # checks the fidelity ladder

    def ladder(self) -> Fidelity | None:
        """The fidelity ladder, checked (None: one fidelity, the budget's)."""
        if self.fidelity is None:
            return None
        ladder = Fidelity.from_dict(self.fidelity)
        self.fidelity = ladder.to_dict()
        budget = self.train_config()
        if budget.schedule == "wsd" and budget.warmup_steps is not None:
            first = decay_start(ladder.rungs[0], budget)
            if first < budget.warmup_steps:
                _fail(
                    "budget.warmup_steps",
                    budget.warmup_steps,
                    f"must end before the first rung's decay (step {first} of {ladder.rungs[0]})",
                )
        return ladder

    def train_config(self) -> TrainConfig:
        """The budget of every proxy run, seeded by the run and threaded by cpus_per_eval."""
        for owned in ("seed", "threads"):
            if owned in self.budget:
                _fail(
                    f"budget.{owned}",
                    self.budget[owned],
                    f"is set by the run's {owned.replace('threads', 'cpus_per_eval')}",
                )
        return TrainConfig.from_dict(
            self.budget | {"seed": self.seed, "threads": self.cpus_per_eval}
        )

    def to_dict(self) -> dict[str, Any]:
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        return d | {"space": self.space.to_dict()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RunConfig:
        reject_unknown_fields(cls, d, "config")
        return cls(**d)


def read_config_file(path: Path) -> dict[str, Any]:
    """A YAML or JSON mapping; any problem is a UsageError naming the file."""
    if not path.is_file():
        raise UsageError(f"config file {path} does not exist")
    try:
        d = yaml.safe_load(path.read_text(encoding="utf-8"))  # JSON is YAML too
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        raise UsageError(
            f"config file {path} is not valid YAML/JSON ({str(e).splitlines()[0]})"
        ) from None
    if not isinstance(d, dict):
        raise UsageError(f"config file {path} must hold a mapping of config keys")
    return d


def merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Override base key by key, one level deep for the nested `space` and `budget`."""
    out = dict(base)
    for k, v in override.items():
        nested = (
            k in ("space", "budget", "fidelity")
            and isinstance(v, dict)
            and isinstance(out.get(k), dict)
        )
        out[k] = out[k] | v if nested else v
    return out


def resolve(preset: str | None, config_file: Path | None, flags: dict[str, Any]) -> RunConfig:
    """Defaults <- preset <- file <- flags (None flags are ignored), validated.

    Every problem is a UsageError with one line naming it.
    """
    file = read_config_file(config_file) if config_file else {}
    name = preset or file.get("preset") or "tiny"
    if name not in PRESETS:
        raise UsageError(f"unknown preset {name!r} (choose from {', '.join(PRESETS)})")
    d = RunConfig().to_dict()
    for layer in (PRESETS[name], file, {k: v for k, v in flags.items() if v is not None}):
        d = merge(d, layer)
    d["preset"] = name
    try:
        return RunConfig.from_dict(d)
    except (ValueError, TypeError) as e:
        raise UsageError(f"invalid config: {e}") from None


def config_json(cfg: RunConfig) -> str:
    return json.dumps(cfg.to_dict(), indent=1, sort_keys=True)
