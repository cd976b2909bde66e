"""`RunConfig`: everything one search needs, from a preset, a YAML/JSON file and flags.

Later sources win: the preset, then the config file, then command-line flags. Nested
sections (`space`, `budget`, `fidelity`, `recall`) merge key by key, so a file may change one
gene's bounds only.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from hrfevo.errors import UsageError
from hrfevo.executor import Execution
from hrfevo.executors import EXECUTORS
from hrfevo.fidelity import Fidelity
from hrfevo.objectives import OBJECTIVES, PROBED, REQUIRED
from hrfevo.presets import DEFAULT, PRESETS
from hrfevo.space import SearchSpace
from hrfevo.stop import MAX_GENERATIONS
from hrfevo.strategies import STRATEGIES
from model import (
    MAX_SEED,
    MAX_STEPS,
    MAX_THREADS,
    ConfigError,
    TrainConfig,
    check_int,
    decay_start,
    fail,
    is_number,
    reject_unknown_fields,
)
from model.recall import Probe

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
# Bounds that catch a typo before it costs anything (the seed's is model.MAX_SEED, the
# generations' hrfevo.stop.MAX_GENERATIONS, and the sizes of models and batches are bounded by
# the memory they need: hrfevo.run.check_memory).
MAX_POPULATION = 10_000  # NSGA-II sorts a generation in O(M·N²): 10⁸ comparisons here
MAX_RETRIES = 100
MAX_GPUS_PER_EVAL = 64


@dataclass(kw_only=True)
class RunConfig:
    preset: str = DEFAULT  # the preset this configuration started from
    data: str = "builtin"  # "builtin", a local text file, or hf:NAME[:CONFIG]
    seed: int = 0  # seeds the search's RNG and every proxy training run
    population: int = 8  # μ: genomes per generation
    generations: int = 4  # generations to run; `hrfevo resume --generations N` extends it
    strategy: str = next(iter(STRATEGIES))  # a STRATEGIES name; the first is the default
    objectives: list[str] = field(default_factory=lambda: list(REQUIRED))  # OBJECTIVES names
    crossover_prob: float = 0.9  # chance that a child has two parents (it is always mutated)
    # Genomes in generation 0: "transformer" (the baseline), a genome JSON file, or a run
    # directory (its final front). Random genomes fill the rest of the population. None: the
    # transformer when the space can express it (attention and a table embedding), else none.
    seeds: list[str] | None = None
    space: SearchSpace = field(default_factory=SearchSpace)
    # Each proxy run: TrainConfig fields, except seed and threads (set by seed, cpus_per_eval).
    # `steps` is the base budget (what `hrfevo calibrate --mult` multiplies: the default's is
    # its first read, so --mult 64 is 8× its top rung); with a ladder, each rung sets the
    # steps. WSD with a warm-up in steps lets promotions continue.
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
    # A fidelity ladder, {rungs: [S0, S1, ...], promote: F, compare: RULE}: new genomes train
    # for S0 steps, and the best share F of each rung are promoted to the next; RULE is how
    # selection compares genomes that reached different rungs (hrfevo.fidelity). The
    # budget's other settings hold at every rung. None: every genome trains for budget.steps.
    # The default's rung 0 ranks by a forecast from reads at 120 and 180 steps, and its rungs
    # by hurdles: reports/fidelity.md and reports/multifidelity.md measure why.
    fidelity: Fidelity | None = field(
        default_factory=lambda: Fidelity((180, 360, 960), promote=1 / 3, forecast_from=120)
    )
    # The MQAR probe (`model.recall.Probe` fields: pairs, seq_len, steps, lr, ...): set, every
    # genome that reaches the top rung is also trained on associative recall and its
    # recall_error recorded. The objective recall_error needs it, and fills in the defaults.
    recall: Probe | None = None
    # Execution: where evaluations run and what each one may use.
    # An EXECUTORS name (the first is the default); the rest, with their meaning and defaults,
    # are hrfevo.executor.Execution's.
    executor: str = next(iter(EXECUTORS))
    ray_address: str | None = Execution.ray_address
    cpus_per_eval: int = Execution.cpus_per_eval
    gpus_per_eval: float = Execution.gpus_per_eval
    eval_timeout: float | None = Execution.eval_timeout
    max_retries: int = Execution.max_retries
    ray_dashboard: bool = Execution.ray_dashboard

    def __post_init__(self) -> None:
        if not isinstance(self.preset, str) or self.preset not in PRESETS:
            fail("preset", self.preset, f"choose from {', '.join(PRESETS)}")
        if not isinstance(self.data, str) or not self.data:
            fail("data", self.data, "name a corpus: 'builtin', a text file or hf:NAME[:CONFIG]")
        check_int("population", self.population, 2, MAX_POPULATION)
        check_int("generations", self.generations, 0, MAX_GENERATIONS)
        check_int("seed", self.seed, 0, MAX_SEED)
        for name, registry in (("strategy", STRATEGIES), ("executor", EXECUTORS)):
            if not isinstance(getattr(self, name), str) or getattr(self, name) not in registry:
                fail(name, getattr(self, name), f"choose from {', '.join(registry)}")
        objectives = self.objectives
        if (
            not isinstance(objectives, list)
            or not all(isinstance(name, str) for name in objectives)
            or tuple(objectives[: len(REQUIRED)]) != REQUIRED
            or not set(objectives) <= set(OBJECTIVES)
            or len(set(objectives)) != len(objectives)
        ):
            optional = [name for name in OBJECTIVES if name not in REQUIRED]
            why = f"must be {', '.join(REQUIRED)}, then any of {', '.join(optional)}"
            fail("objectives", objectives, why)
        if not (is_number(self.crossover_prob) and 0 <= self.crossover_prob <= 1):
            fail("crossover_prob", self.crossover_prob, "must lie in [0, 1]")
        if self.seeds is not None and not (
            isinstance(self.seeds, list) and all(isinstance(s, str) and s for s in self.seeds)
        ):
            why = "must be a list of 'transformer', genome files and run directories"
            fail("seeds", self.seeds, why)
        self._check_execution()
        if isinstance(self.space, dict):
            self.space = SearchSpace.from_dict(self.space)
        if not isinstance(self.space, SearchSpace):
            fail("space", self.space, "must be a mapping of SearchSpace fields")
        self.train_config().num_steps(self.space.seq_len)  # checks the budget
        if isinstance(self.fidelity, dict):
            self.fidelity = Fidelity.from_dict(self.fidelity)
        if self.fidelity is not None:
            self._check_fidelity(self.fidelity)
        self._check_recall()

    def _check_execution(self) -> None:
        """The execution settings, each alone and together: a setting that the chosen executor
        would ignore is refused, not dropped without a word."""
        check_int("cpus_per_eval", self.cpus_per_eval, 1, MAX_THREADS)
        gpus = self.gpus_per_eval
        if not (
            is_number(gpus) and 0 <= gpus <= MAX_GPUS_PER_EVAL and (gpus <= 1 or gpus % 1 == 0)
        ):
            why = f"must be a number from 0 to {MAX_GPUS_PER_EVAL}, and whole when above 1"
            fail("gpus_per_eval", gpus, why)
        if self.eval_timeout is not None and not (
            is_number(self.eval_timeout) and self.eval_timeout > 0
        ):
            fail("eval_timeout", self.eval_timeout, "must be a positive number of seconds")
        if self.eval_timeout is not None and self.executor == "serial":
            why = "needs the ray executor (serial cannot stop one)"
            fail("eval_timeout", self.eval_timeout, why)
        check_int("max_retries", self.max_retries, 0, MAX_RETRIES)
        if not isinstance(self.ray_dashboard, bool):
            fail("ray_dashboard", self.ray_dashboard, "must be true or false")
        if self.ray_address is not None and not (
            isinstance(self.ray_address, str) and self.ray_address
        ):
            fail("ray_address", self.ray_address, "must be 'auto' or host:port")
        for name in ("ray_address", "ray_dashboard"):
            if getattr(self, name) and self.executor != "ray":
                fail(name, getattr(self, name), f"needs the ray executor, not {self.executor}")
        if self.ray_dashboard and self.ray_address is not None:
            why = "serves a local Ray's dashboard; the cluster at ray_address serves its own"
            fail("ray_dashboard", self.ray_dashboard, why)

    def _check_fidelity(self, ladder: Fidelity) -> None:
        """The fidelity ladder against the budget it trains with."""
        if not isinstance(ladder, Fidelity):
            fail("fidelity", ladder, "must be null or a mapping {rungs: [S0, S1, ...], ...}")
        budget = self.train_config()
        warmup = budget.warmup_steps if budget.schedule == "wsd" else None  # None: no continuing
        if warmup is not None:
            first = ladder.forecast_from or ladder.rungs[0]
            pause = decay_start(first, budget)
            if pause < warmup:
                why = f"must end before the first read's decay (step {pause} of {first})"
                fail("warmup_steps", budget.warmup_steps, why, "budget")
        if ladder.forecast_from is not None and warmup is None:
            why = "reads rung 0 twice in one run, which needs budget.schedule wsd and warmup_steps"
            fail("forecast_from", ladder.forecast_from, why, "fidelity")
        if ladder.rungs[-1] > MAX_STEPS:
            fail("rungs", list(ladder.rungs), f"must be at most {MAX_STEPS} steps", "fidelity")

    def _check_recall(self) -> None:
        """The probe's settings, against the sequences the space's models can read."""
        if isinstance(self.recall, dict):
            self.recall = Probe.from_dict(self.recall)
        if self.recall is None and set(self.objectives) & set(PROBED):
            self.recall = Probe()  # written out in config.json: a run keeps its probe
        if self.recall is None:
            return
        if not isinstance(self.recall, Probe):
            fail("recall", self.recall, "must be null or a mapping of probe settings")
        self.recall.check(self.recall.length(self.space.seq_len), self.space.vocab_size)

    def train_config(self) -> TrainConfig:
        """The budget of every proxy run, seeded by the run and threaded by cpus_per_eval."""
        reject_unknown_fields(TrainConfig, self.budget, "budget")
        for owned in ("seed", "threads"):
            if owned in self.budget:
                why = f"is set by the run's {owned.replace('threads', 'cpus_per_eval')}"
                fail(owned, self.budget[owned], why, "budget")
        try:
            return TrainConfig.from_dict(
                self.budget | {"seed": self.seed, "threads": self.cpus_per_eval}
            )
        except ConfigError as e:  # TrainConfig.lr=0 is the config file's budget.lr
            raise e.within("budget") from None

    def to_dict(self) -> dict[str, Any]:
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        fidelity = self.fidelity.to_dict() if self.fidelity is not None else None
        recall = self.recall.to_dict() if self.recall is not None else None
        return d | {"space": self.space.to_dict(), "fidelity": fidelity, "recall": recall}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RunConfig:
        reject_unknown_fields(cls, d, "config")
        return cls(**d)


def read_config_file(path: Path) -> dict[str, Any]:
    """A YAML or JSON mapping; any problem is a UsageError naming the file (and for a syntax
    error, the line and column)."""
    if path.is_dir():
        raise UsageError(f"config file {path} is a directory (give a YAML or JSON file)")
    if not path.exists():
        raise UsageError(f"config file {path} does not exist")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise UsageError(f"config file {path} cannot be read ({e.strerror or e})") from None
    except UnicodeDecodeError as e:
        raise UsageError(f"config file {path} is not UTF-8 text (byte {e.start})") from None
    try:
        d = yaml.safe_load(text)  # JSON is YAML too
    except yaml.YAMLError as e:
        raise UsageError(f"config file {path} is not valid YAML/JSON: {_yaml_error(e)}") from None
    if not isinstance(d, dict):
        raise UsageError(f"config file {path} must hold a mapping of config keys")
    return d


def _yaml_error(e: yaml.YAMLError) -> str:
    """`line L, column C: problem` (PyYAML counts from 0; editors count from 1)."""
    mark = getattr(e, "problem_mark", None)
    problem = getattr(e, "problem", None) or str(e).splitlines()[0]
    if mark is None:
        return problem
    return f"line {mark.line + 1}, column {mark.column + 1}: {problem}"


def merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Override base key by key, one level deep for the nested sections."""
    out = dict(base)
    for k, v in override.items():
        nested = (
            k in ("space", "budget", "fidelity", "recall")
            and isinstance(v, dict)
            and isinstance(out.get(k), dict)
        )
        out[k] = out[k] | v if nested else v
    return out


def resolve(preset: str | None, config_file: Path | None, flags: dict[str, Any]) -> RunConfig:
    """Defaults <- preset <- file <- flags (None flags are ignored), validated.

    Every problem is a UsageError with one line naming it.
    """
    file = read_config_file(config_file) if config_file is not None else {}
    name = preset if preset is not None else file.get("preset")  # "" is a name, and unknown
    name = DEFAULT if name is None else name
    if not isinstance(name, str) or name not in PRESETS:
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
