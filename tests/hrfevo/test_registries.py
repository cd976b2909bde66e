"""One source of truth for choices: every registry entry and every preset resolves, and the CLI's
choices, the config checks and the genome notation are read from the registries."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hrfevo.cli import build_parser
from hrfevo.config import RunConfig, resolve
from hrfevo.executor import Execution, Executor
from hrfevo.executors import EXECUTORS
from hrfevo.genome import ArchGenes, Genome, describe
from hrfevo.objectives import OBJECTIVES, PROBED, REQUIRED
from hrfevo.presets import PRESETS
from hrfevo.problems.spectral import MEASURED_METRICS, METRICS
from hrfevo.problems.zdt import ZDT1
from hrfevo.registry import Registry
from hrfevo.run import make_executor, make_problem
from hrfevo.strategies import STRATEGIES
from hrfevo.strategy import Strategy
from model import MIXER_CHOICES, ModelConfig, SpectralLM
from model.mixers import MIXERS, Mixer


def choices(command: str, flag: str) -> list[str]:
    """The `choices` argparse offers for `hrfevo <command> <flag>`."""
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    parser = sub.choices[command]  # type: ignore[index]
    return list(next(a for a in parser._actions if flag in a.option_strings).choices)


@pytest.mark.parametrize("name", list(STRATEGIES))
def test_every_strategy_resolves_and_proposes_a_generation(name: str) -> None:
    cls = STRATEGIES[name]
    assert issubclass(cls, Strategy)
    strategy = cls(ZDT1(), 4, np.random.default_rng(0))
    assert len(strategy.ask()) == 4
    assert RunConfig(strategy=name).strategy == name  # the config accepts it


@pytest.mark.parametrize("name", list(EXECUTORS))
def test_every_executor_resolves_and_takes_only_its_execution_settings(name: str) -> None:
    assert issubclass(EXECUTORS[name], Executor)
    if name == "serial":  # Ray's start-up is tested in test_ray_executor.py
        cfg = RunConfig(executor=name, max_retries=5)
        with make_executor(cfg, make_problem(cfg)) as executor:
            assert executor.settings == Execution(max_retries=5)


def test_the_cli_offers_exactly_the_registries_names() -> None:
    assert choices("run", "--strategy") == list(STRATEGIES)
    assert choices("run", "--executor") == list(EXECUTORS)
    assert choices("resume", "--executor") == list(EXECUTORS)
    assert choices("run", "--preset") == list(PRESETS) == choices("calibrate", "--preset")


def test_a_new_registry_entry_reaches_the_cli_and_the_config(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    entries = STRATEGIES.entries | {"again": "hrfevo.strategies.nsga2:NSGA2"}
    monkeypatch.setattr(STRATEGIES, "entries", entries)
    assert "again" in choices("run", "--strategy")
    assert resolve("smoke", None, {"strategy": "again"}).strategy == "again"
    with pytest.raises(ValueError, match=r"strategy='nope': choose from nsga2, .*again"):
        RunConfig(strategy="nope")


def test_the_defaults_are_the_first_entries() -> None:
    cfg = RunConfig()
    assert cfg.strategy == next(iter(STRATEGIES)) and cfg.executor == next(iter(EXECUTORS))
    assert cfg.objectives == list(REQUIRED)


def test_a_registry_lists_names_without_importing_and_names_an_unknown_one() -> None:
    code = (
        "import sys; from hrfevo.strategies import STRATEGIES; "
        "from hrfevo.executors import EXECUTORS; names = list(STRATEGIES) + list(EXECUTORS); "
        "print(sorted(m for m in ('torch', 'ray', 'optuna', 'numpy') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
    with pytest.raises(KeyError, match="unknown strategy 'x' \\(choose from nsga2, random"):
        STRATEGIES["x"]
    with pytest.raises(ValueError, match=r"not 'package\.module:Class'"):
        Registry("thing", {"bad": "no_colon"})


@pytest.mark.parametrize("name", MIXER_CHOICES)
def test_every_mixer_builds_and_has_its_own_letter_in_the_notation(name: str) -> None:
    assert tuple(MIXERS) == MIXER_CHOICES  # the config's choices are the registry's names
    cfg = ModelConfig(
        vocab_size=256, seq_len=32, d_model=32, n_layers=1, mixer=name, wavelet_levels=1
    )
    mixer = SpectralLM(cfg).layers[0].mixer
    assert isinstance(mixer, MIXERS[name]) and isinstance(mixer, Mixer)
    letters = [m[0].upper() for m in MIXER_CHOICES]
    assert len(set(letters)) == len(letters), "two mixers would share a letter in the notation"
    genome = Genome(arch=ArchGenes(d_model=32, n_layers=1, mixers=(name,), embedding="table"))
    assert describe(genome).split()[1] == name[0].upper()


@pytest.mark.parametrize("name", list(OBJECTIVES))
def test_every_objective_is_a_metric_whose_penalty_adds_no_hypervolume(name: str) -> None:
    assert name in (*METRICS, *MEASURED_METRICS, *PROBED)  # journaled by evaluations
    objectives = list(dict.fromkeys([*REQUIRED, name]))
    cfg = RunConfig(objectives=objectives)
    problem = make_problem(cfg)
    penalty = problem.objectives({"status": "failed", "metrics": {}})
    for value, reference in zip(problem.hv_point(penalty), problem.hv_reference, strict=True):
        assert math.isfinite(value) and value > reference  # dominated by the reference point


def test_objectives_outside_the_registry_or_out_of_order_are_refused() -> None:
    for bad in (["perplexity"], ["flops_per_token", "perplexity"], [*REQUIRED, "latency"]):
        with pytest.raises(ValueError, match=r"objectives=.*must be perplexity, flops_per_token"):
            RunConfig(objectives=bad)


@pytest.mark.parametrize("name", list(PRESETS))
def test_every_preset_resolves_and_builds_its_problem(name: str) -> None:
    cfg = resolve(name, None, {})
    assert cfg.preset == name
    problem = make_problem(cfg)
    genome = problem.sample(np.random.default_rng(0))
    assert problem.key(genome) and problem.describe(genome)


def test_no_module_repeats_a_registry_as_a_list_of_names() -> None:
    root = Path(__file__).resolve().parents[2]
    old = ("STRATEGY_CHOICES", "EXECUTOR_CHOICES", "OBJECTIVE_CHOICES", "PENALTY", "HV_REFERENCE")
    for path in [*(root / "hrfevo").rglob("*.py"), *(root / "model").rglob("*.py")]:
        text = path.read_text(encoding="utf-8")
        assert not [name for name in old if name in text], path
    for path in [root / "hrfevo" / "executor.py", *(root / "hrfevo" / "executors").glob("*.py")]:
        imports = [
            line for line in path.read_text(encoding="utf-8").splitlines() if "import" in line
        ]
        assert not [line for line in imports if "hrfevo.config" in line], f"{path} knows RunConfig"
