"""Optuna's samplers as strategies: the fixed-length genome encoding, the trials Optuna sees,
and resumes that propose exactly what an uninterrupted run proposed."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pytest

from hrfevo.config import PRESETS, resolve
from hrfevo.fidelity import Score
from hrfevo.genome import Genome
from hrfevo.operators import random_genome
from hrfevo.problem import Candidate, Param
from hrfevo.problems.spectral import GenomeEncoding
from hrfevo.problems.zdt import ZDT1
from hrfevo.run import baseline_genome, make_problem
from hrfevo.space import SearchSpace
from hrfevo.strategies import STRATEGIES
from hrfevo.strategies.optuna_samplers import OptunaStrategy
from tests.hrfevo.procs import kill_after
from tests.hrfevo.test_search import hrfevo_cmd, smoke_args, snapshot

OPTUNA = [name for name, cls in STRATEGIES.items() if issubclass(cls, OptunaStrategy)]
SPACES = {name: resolve(name, None, {}).space for name in PRESETS} | {"default": SearchSpace()}


def random_params(params: list[Param], rng: np.random.Generator) -> dict[str, Any]:
    """Any assignment at all, bounds included: what a sampler might propose."""
    out: dict[str, Any] = {}
    for p in params:
        if p.categorical:
            out[p.name] = p.choices[int(rng.integers(len(p.choices)))]
        elif p.integer:
            out[p.name] = int(rng.integers(int(p.low), int(p.high) + 1))
        else:
            edge = rng.random()
            out[p.name] = (
                p.low if edge < 0.05 else p.high if edge > 0.95 else rng.uniform(p.low, p.high)
            )
    return out


def test_the_registry_holds_three_optuna_strategies() -> None:
    assert set(OPTUNA) == {"tpe", "optuna-nsga2", "optuna-gp"}


@pytest.mark.parametrize("name", sorted(SPACES))
def test_every_assignment_decodes_to_a_genome_in_the_space(name: str) -> None:
    space = SPACES[name]
    encoding = GenomeEncoding(space)
    rng = np.random.default_rng(0)
    for _ in range(300):
        genome = Genome.from_dict(encoding.decode(random_params(encoding.params, rng)))
        assert space.problems(genome) == []


@pytest.mark.parametrize("name", sorted(SPACES))
def test_decoding_an_encoded_genome_gives_the_same_model(name: str) -> None:
    space = SPACES[name]
    encoding = GenomeEncoding(space)
    rng = np.random.default_rng(1)
    genomes = [random_genome(space, rng) for _ in range(200)]
    if "attention" in space.mixers and "table" in space.embeddings:
        genomes.append(baseline_genome(space))
    for g in genomes:
        params = encoding.encode(g.to_dict())
        assert set(params) == {p.name for p in encoding.params}
        for p in encoding.params:  # every value lies in its parameter's domain
            v = params[p.name]
            assert v in p.choices if p.categorical else p.low <= v <= p.high, p.name
        assert Genome.from_dict(encoding.decode(params)).key == g.key


def test_the_encoding_has_a_slot_for_every_layer_and_basis_function() -> None:
    space = SPACES["tiny"]
    names = {p.name for p in GenomeEncoding(space).params}
    assert {f"mixer{i}" for i in range(space.n_layers[1])} <= names
    assert f"basis{space.n_bases[1] - 1}.frequency" in names
    assert f"basis{space.n_bases[1]}.frequency" not in names


def drive(
    name: str, generations: int, state: dict[str, Any] | None = None
) -> tuple[list[list[str]], dict[str, Any]]:
    """Run an Optuna strategy on ZDT1 (population 6): the keys it proposed, per generation,
    and its state at the end."""
    problem = ZDT1(n_dim=4)
    strategy = STRATEGIES[name](problem, 6, np.random.default_rng(7))
    if state is not None:
        strategy.load_state_dict(json.loads(json.dumps(state)))  # as the checkpoint holds it
    proposed, known = [], dict(strategy.scores)
    for _ in range(generations):
        candidates = strategy.ask()
        scores: list[Score] = [(problem.objectives(problem.evaluate(c)),) for c in candidates]
        known |= dict(zip(map(problem.key, candidates), scores, strict=True))
        strategy.rescore(known.__getitem__)
        strategy.tell(candidates, scores)
        proposed.append([problem.key(c) for c in candidates])
    return proposed, strategy.state_dict()


@pytest.mark.parametrize("name", OPTUNA)
def test_a_restored_strategy_proposes_what_the_uninterrupted_one_did(name: str) -> None:
    whole, _ = drive(name, 3)
    first, state = drive(name, 2)
    rest, _ = drive(name, 1, state)
    assert first + rest == whole
    assert len({k for gen in whole[1:] for k in gen}) > 1, "the sampler proposes one point"


@pytest.mark.parametrize("name", OPTUNA)
def test_generation_zero_holds_the_seed_genomes(name: str) -> None:
    cfg = resolve("smoke", None, {"strategy": name})
    problem = make_problem(cfg)
    seed = baseline_genome(cfg.space).to_dict()
    strategy = STRATEGIES[name](problem, 4, np.random.default_rng(0), [seed])
    proposed = strategy.ask()
    assert proposed[0] == seed and len(proposed) == 4
    assert all(cfg.space.problems(Genome.from_dict(c)) == [] for c in proposed)


class Ladder(ZDT1):
    """ZDT1 seen through a three-rung ladder, with one candidate that fails."""

    rungs = 3

    def penalty(self) -> tuple[float, float]:
        return (1e9, 1e9)


def test_optuna_sees_complete_pruned_and_failed_trials() -> None:
    problem = Ladder(n_dim=3)
    strategy = STRATEGIES["tpe"](problem, 3, np.random.default_rng(0))
    candidates: list[Candidate] = strategy.ask()
    keys = [problem.key(c) for c in candidates]
    scores: list[Score] = [
        ((0.5, 2.0), (0.4, 1.5), (0.3, 1.0)),  # reached the top rung
        ((0.6, 2.5),),  # stopped at rung 0
        ((1e9, 1e9),),  # failed
    ]
    strategy.tell(candidates, scores)
    trials = {t.user_attrs["key"]: t for t in strategy.study(0).get_trials()}
    top, pruned, failed = (trials[k] for k in keys)
    assert top.state == optuna.trial.TrialState.COMPLETE and top.values == [0.3, 1.0]
    assert pruned.state == optuna.trial.TrialState.PRUNED
    assert pruned.intermediate_values == {0: 0.6}
    assert failed.state == optuna.trial.TrialState.FAIL
    assert len(strategy.population) == 3


# Two generations of two genomes: generation 1 is the sampler's (the GP's asks cost seconds).
SMALL = ["--population", "2"]


@pytest.fixture(scope="module", params=OPTUNA)
def optuna_reference(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, text_file: Path
) -> tuple[str, Path]:
    name: str = request.param
    out = tmp_path_factory.mktemp(f"reference-{name}") / "run"
    args = [*smoke_args(out, text_file), "--strategy", name, *SMALL]
    subprocess.run(hrfevo_cmd(*args), check=True, capture_output=True)
    return name, out


def test_a_killed_optuna_run_resumes_to_the_uninterrupted_result(
    optuna_reference: tuple[str, Path], tmp_path: Path, text_file: Path
) -> None:
    name, reference = optuna_reference
    out = tmp_path / "killed"
    args = [*smoke_args(out, text_file), "--strategy", name, *SMALL]
    done = kill_after(hrfevo_cmd(*args), out / "journal.jsonl", 3)  # in the sampler's generation
    assert done < 4, "the run finished before it could be killed"
    subprocess.run(hrfevo_cmd("resume", out), check=True, capture_output=True)
    assert snapshot(out) == snapshot(reference)
    trials = [
        json.loads((d / "checkpoint.json").read_text())["strategy"]["trials"]
        for d in (out, reference)
    ]
    assert trials[0] == trials[1]
