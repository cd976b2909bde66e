"""A run directory as an Optuna study, for Optuna's dashboard and visualisations.

One trial per genome evaluated: its expressed genes as params, its objectives as values (both
minimised), its key, metrics, generation and full genome as user attributes. A genome that
failed or diverged is a failed trial. With a fidelity ladder a genome is one trial across its
rungs, as Optuna records a trial its pruner watched: the perplexity at each rung is an
intermediate value at that rung's training steps; a genome that reached the top rung is
complete, with its top-rung objectives, and one the ladder stopped lower is pruned. So
`study.best_trials` (complete trials only) is the run's front: the genomes trained to the top
rung that no other one dominates there (`hrfevo.pareto.front`), with or without a ladder.
"""

from __future__ import annotations

import warnings
from typing import Any

import optuna
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial, TrialState, create_trial

from hrfevo.api import RunData
from hrfevo.errors import UsageError
from hrfevo.genome import Genome
from hrfevo.space import SearchSpace


def gene_params(genome: Genome, space: SearchSpace) -> dict[str, tuple[Any, BaseDistribution]]:
    """The genes the model reads, each with its distribution in the run's space."""
    a, w = genome.arch, genome.wavelet
    out: dict[str, tuple[Any, BaseDistribution]] = {
        "d_model": (a.d_model, CategoricalDistribution(space.d_model)),
        "n_layers": (a.n_layers, _ints(space.n_layers)),
        "mixers": (",".join(a.mixers), CategoricalDistribution(mixer_stacks(space))),
        "embedding": (a.embedding, CategoricalDistribution(space.embeddings)),
        "spectral_share": (a.spectral_share, _floats(space.spectral_share)),
    }
    if a.spectral_share < 1:
        out["ffn_mult"] = (a.ffn_mult, _floats(space.ffn_mult))
    if a.embedding != "table":
        out["n_bases"] = (len(genome.basis), _ints(space.n_bases))
    if "wavelet" in a.mixers:
        name = space.wavelet_member(w.name) or w.name
        out["wavelet"] = (name, CategoricalDistribution(space.wavelets))
        out["levels"] = (w.levels, _ints(space.levels))
        out["mixing"] = (w.mixing, CategoricalDistribution(space.band_mixing))
    if "attention" in a.mixers:
        out["n_heads"] = (a.n_heads, CategoricalDistribution(space.n_heads))
    return out


def _ints(lo_hi: list[int]) -> IntDistribution:
    return IntDistribution(lo_hi[0], lo_hi[1])


def _floats(lo_hi: list[float]) -> FloatDistribution:
    return FloatDistribution(lo_hi[0], lo_hi[1])


def mixer_stacks(space: SearchSpace) -> list[str]:
    """Every stack of mixers the space allows, as "wavelet,fourier" (one choice per depth)."""
    stacks: list[tuple[str, ...]] = [()]
    out = []
    for depth in range(1, space.n_layers[1] + 1):
        stacks = [(*s, m) for s in stacks for m in space.mixers]
        if depth >= space.n_layers[0]:
            out += [",".join(s) for s in stacks]
    return out


def trials(run: RunData) -> list[FrozenTrial]:
    """The run's genomes as trials, in the order they were first evaluated."""
    problem, space = run.problem, run.view.config.space
    rung_steps = problem.fidelity.rungs if problem.fidelity else None
    curves: dict[str, dict[int, float]] = {}  # key -> {steps: perplexity} at each rung reached
    for r in run.journal:
        if rung_steps:
            curves.setdefault(r["key"], {})[rung_steps[r["rung"]]] = problem.objectives(r)[0]
    out = []
    for r in run.records:
        genome = Genome.from_dict(r["candidate"])
        genes = gene_params(genome, space)
        common: dict[str, Any] = {
            "params": {name: value for name, (value, _) in genes.items()},
            "distributions": {name: dist for name, (_, dist) in genes.items()},
            "user_attrs": {
                "key": r["key"],
                "generation": r["generation"],
                "rung": r.get("rung", 0),
                "status": r["status"],
                "metrics": r["metrics"],
                "genome": r["candidate"],
            }
            | ({"error": r["error"]} if r.get("error") else {}),
        }
        if rung_steps:  # perplexity at each rung's training steps
            common["intermediate_values"] = curves[r["key"]]
        if r["status"] != "ok":
            out.append(create_trial(state=TrialState.FAIL, **common))
        elif rung_steps and r.get("rung", 0) < len(rung_steps) - 1:
            out.append(create_trial(state=TrialState.PRUNED, **common))
        else:
            out.append(create_trial(values=problem.objectives(r), **common))
    return out


def export(run: RunData, storage: str, study_name: str | None = None) -> optuna.Study:
    """Write the run as a new study in `storage` (an Optuna storage URL, e.g. sqlite:///x.db).

    A UsageError, with nothing written, if the storage cannot be opened or already holds a
    study of that name.
    """
    name = study_name or run.name
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        store = optuna.storages.RDBStorage(storage)
    except Exception as e:  # a bad URL, a missing driver or directory: SQLAlchemy's errors
        raise UsageError(f"cannot open Optuna storage {storage!r}: {_first_line(e)}") from None
    if name in {s.study_name for s in optuna.get_all_study_summaries(store)}:
        raise UsageError(f"storage {storage!r} already holds a study named {name!r}")
    directions = [StudyDirection.MINIMIZE] * len(run.problem.objective_names)
    study = optuna.create_study(storage=store, study_name=name, directions=directions)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            study.set_metric_names(list(run.problem.objective_names))
        study.set_user_attr("run_dir", str(run.path.resolve()))
        study.add_trials(trials(run))
    except BaseException:
        optuna.delete_study(study_name=name, storage=store)  # all or nothing
        raise
    return study


def _first_line(e: BaseException) -> str:
    return (str(e).strip().splitlines() or [type(e).__name__])[0]
