"""Optuna's samplers as strategies: multi-objective TPE, NSGA-II and GP behind ask/tell.

Each generation, the strategy rebuilds an in-memory Optuna study from its own record of every
trial so far (parameters, system attributes, and the trial's current score) and a fresh
sampler, seeded from the strategy's RNG, then asks it for μ trials before telling any. The
sampler's state is therefore a function of the checkpoint alone: a resumed run rebuilds the
same study with the same seed and proposes exactly what the uninterrupted run proposed. With
μ trials pending at once, TPE's `constant_liar` keeps them from piling onto one point.

Candidates are encoded at a fixed length (`Problem.encoding`, see `hrfevo.problem.Encoding`). Optuna
sees each trial in the space the hypervolume is measured in (`Problem.hv_point`: log
perplexity, log FLOPs), both minimised. A failed candidate is a failed trial. With a fidelity
ladder, a genome scored at the top rung is a complete trial, and one the ladder has not
promoted (yet) is a pruned trial whose intermediate values are its lower rungs' first
objective, which is how Optuna's own pruners report early-stopped trials: NSGA-II and GP
learn from complete trials only, TPE ranks pruned ones below them.
"""

from __future__ import annotations

import warnings
from abc import abstractmethod
from collections.abc import Callable
from typing import Any

import numpy as np
import optuna
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.study import StudyDirection
from optuna.trial import TrialState, create_trial

from hrfevo.fidelity import Fidelity, Score
from hrfevo.problem import Candidate, Encoding, Param, Problem
from hrfevo.strategies.nsga2 import select, unique
from hrfevo.strategy import Member, Strategy

SEED_RANGE = 2**31  # sampler seeds drawn from the strategy's RNG


def distribution(p: Param) -> BaseDistribution:
    """The Optuna distribution of an encoding parameter."""
    if p.categorical:
        return CategoricalDistribution(p.choices)
    if p.integer:
        return IntDistribution(int(p.low), int(p.high))
    return FloatDistribution(p.low, p.high)


class OptunaStrategy(Strategy):
    """A strategy whose proposals come from an Optuna sampler (`sampler` names which)."""

    def __init__(
        self,
        problem: Problem,
        population_size: int,
        rng: np.random.Generator,
        seeds: list[Candidate] | None = None,
        compare: str = Fidelity.compare,
    ) -> None:
        super().__init__(problem, population_size, rng, seeds, compare)
        self.encoding: Encoding = problem.encoding()
        self.distributions = {p.name: distribution(p) for p in self.encoding.params}
        self.trials: list[dict[str, Any]] = []  # every trial asked: params, key, system attrs
        self.scores: dict[str, Score] = {}  # each trial key's score, as of the last tell
        optuna.logging.set_verbosity(optuna.logging.WARNING)

    @abstractmethod
    def sampler(self, seed: int) -> optuna.samplers.BaseSampler:
        """A fresh sampler seeded with `seed`."""

    def ask(self) -> list[Candidate]:
        study = self.study(int(self.rng.integers(SEED_RANGE)))
        first = not self.trials
        fixed = self.seeds if first else []
        for seed in fixed:
            study.enqueue_trial(self.encoding.encode(seed))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            asked = [study.ask(self.distributions) for _ in range(self.size)]
        frozen = {t.number: t for t in study.get_trials(deepcopy=False)}
        candidates = []
        for i, trial in enumerate(asked):
            candidate = fixed[i] if i < len(fixed) else self.encoding.decode(trial.params)
            candidates.append(candidate)
            self.trials.append(
                {
                    "params": trial.params,
                    "key": self.problem.key(candidate),
                    "system_attrs": frozen[trial.number].system_attrs,
                }
            )
        return candidates

    def study(self, seed: int) -> optuna.Study:
        """An in-memory study of every trial so far, as the last tell scored them."""
        directions = [StudyDirection.MINIMIZE] * len(self.problem.objective_names)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            study = optuna.create_study(directions=directions, sampler=self.sampler(seed))
        for trial in self.trials:
            study.add_trial(self.frozen_trial(trial))
        return study

    def frozen_trial(self, trial: dict[str, Any]) -> optuna.trial.FrozenTrial:
        """A trial as Optuna records it: complete, pruned (below the top rung) or failed."""
        score = self.scores[trial["key"]]
        common = {
            "params": trial["params"],
            "distributions": self.distributions,
            "system_attrs": trial["system_attrs"],
            "user_attrs": {"key": trial["key"]},
        }
        if score[-1] == self.problem.penalty():
            return create_trial(state=TrialState.FAIL, **common)
        if len(score) < self.problem.rungs:
            steps = {rung: self.problem.hv_point(o)[0] for rung, o in enumerate(score)}
            return create_trial(state=TrialState.PRUNED, intermediate_values=steps, **common)
        return create_trial(values=self.problem.hv_point(score[-1]), **common)

    def rescore(self, score: Callable[[str], Score]) -> None:
        super().rescore(score)
        self.scores = {t["key"]: score(t["key"]) for t in self.trials}

    def tell(self, candidates: list[Candidate], scores: list[Score]) -> None:
        new = [Member(c, self.problem.key(c), s) for c, s in zip(candidates, scores, strict=True)]
        self.scores |= {m.key: m.score for m in new}
        pool = unique(self.population + new)  # the best μ so far, as random search keeps them
        self.population = select(pool, min(self.size, len(pool)), self.compare)

    def state_dict(self) -> dict[str, Any]:
        return super().state_dict() | {
            "trials": self.trials,
            "scores": {k: [list(o) for o in s] for k, s in self.scores.items()},
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.trials = state["trials"]
        self.scores = {k: tuple(tuple(o) for o in s) for k, s in state["scores"].items()}


class TPE(OptunaStrategy):
    """Multi-objective TPE (MOTPE), multivariate, with the constant liar for pending trials;
    the first generation is random."""

    def sampler(self, seed: int) -> optuna.samplers.BaseSampler:
        return optuna.samplers.TPESampler(
            seed=seed, multivariate=True, constant_liar=True, n_startup_trials=self.size
        )


class OptunaNSGA2(OptunaStrategy):
    """Optuna's NSGA-II (uniform crossover, its default mutation) with population μ."""

    def sampler(self, seed: int) -> optuna.samplers.BaseSampler:
        return optuna.samplers.NSGAIISampler(seed=seed, population_size=self.size)


class OptunaGP(OptunaStrategy):
    """Gaussian-process Bayesian optimisation (log EHVI over pending trials); the first
    generation is random."""

    def sampler(self, seed: int) -> optuna.samplers.BaseSampler:
        return optuna.samplers.GPSampler(seed=seed, n_startup_trials=self.size)
