"""A run directory's life: create it, run the search in it, resume it, describe it.

populations/<run>/ (`hrfevo.rundir` names the files, and bounds what they hold)
    run.json          the resolved config, seed genomes, corpus split and library versions (once)
    journal.jsonl     one fsynced line per finished evaluation
    checkpoint.json   generation, limits, population, archive and RNG state (atomic, per
                      generation)
    pareto.csv        the front of every generation      (derived from the journal)
    hypervolume.csv   one row per generation             (derived from the journal)

Every input is checked before the directory is created or touched: bad input is a UsageError.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import torch

from hrfevo.config import EXECUTION_FIELDS, RunConfig
from hrfevo.errors import UsageError
from hrfevo.executor import Execution, Executor
from hrfevo.executors import EXECUTORS
from hrfevo.genome import Genome, transformer_genome
from hrfevo.objectives import PROBED
from hrfevo.operators import repair
from hrfevo.pareto import front
from hrfevo.problem import Problem
from hrfevo.problems.spectral import (
    FORECAST_METRICS,
    MEASURED_METRICS,
    METRICS,
    SpectralProblem,
    open_corpus,
)
from hrfevo.rundir import CHECKPOINT, JOURNAL, RUN_FILE, check_checkpoint, check_record
from hrfevo.search import Observer, Search
from hrfevo.space import SearchSpace
from hrfevo.stop import MAX_GENERATIONS, Spent, Stop
from hrfevo.storage import Journal, atomic_write_json, check_new_dir, locked, read_json
from hrfevo.strategies import STRATEGIES
from hrfevo.versions import versions
from model import ConfigError, Corpus, contamination, is_int, memory_problem, seed_stream

# Bumped whenever the run directory's layout or meaning changes. 4: the checkpoint records the
# search settings' digests and the journal's length, which resume checks. 5: the fidelity
# ladder names its selection rule (`compare`), and the front holds top-rung results only.
RUN_FORMAT = 5
# Formats this hrfevo reads. A format-4 run (before confirmed fronts) reads, reports and exports
# under format 5's definitions (its fronts are recomputed from the journal), and resumes if it
# has no ladder; with one its selection rule is gone (`hrfevo.fidelity`), so resume refuses it.
READABLE = (4, RUN_FORMAT)


# ---- seeds ---------------------------------------------------------------------------------


def seed_genomes(cfg: RunConfig) -> list[dict[str, Any]]:
    """The generation-0 genomes named by cfg.seeds, each checked against the space."""
    out: list[dict[str, Any]] = []
    sources = cfg.seeds if cfg.seeds is not None else ["transformer"] * baseline_fits(cfg.space)
    for source in sources:
        for g in _genomes_from(source, cfg.space):
            problems = cfg.space.problems(g)  # every gene, expressed or not
            if problems:
                raise UsageError(f"seed genome from {source} does not fit the space: {problems[0]}")
            out.append(g.to_dict())
    if len(out) > cfg.population:  # refused, not cut: which ones to drop is the user's choice
        raise UsageError(
            f"the seeds give {len(out)} genomes (a run directory gives its whole front), more "
            f"than the population of {cfg.population}: name fewer, or raise --population"
        )
    return out


def _genomes_from(source: str, space: SearchSpace) -> list[Genome]:
    if source == "transformer":
        return [baseline_genome(space)]
    path = Path(source)
    if path.is_dir():
        return [Genome.from_dict(r["candidate"]) for r in RunView(path).front()]
    if not path.is_file():
        raise UsageError(
            f"seed {source!r} is neither 'transformer', a genome file nor a run directory"
        )
    try:
        return [Genome.from_dict(json.loads(path.read_text(encoding="utf-8")))]
    except (ValueError, KeyError, TypeError) as e:
        raise UsageError(f"genome file {path} is not a valid genome: {e}") from None


def baseline_fits(space: SearchSpace) -> bool:
    return "attention" in space.mixers and "table" in space.embeddings


def baseline_genome(space: SearchSpace) -> Genome:
    """The transformer baseline, sized to the middle of the space."""
    if not baseline_fits(space):
        raise UsageError(
            "seed 'transformer' needs 'attention' in space.mixers and 'table' in space.embeddings"
        )
    d_model = sorted(space.d_model)[len(space.d_model) // 2]
    n_layers = min(max(2, space.n_layers[0]), space.n_layers[1])
    heads = space.heads_for(d_model)
    # repair clamps the baseline's FFN width into the space's bounds
    return repair(transformer_genome(d_model, n_layers, heads[len(heads) // 2]), space)


# ---- building and running ------------------------------------------------------------------


def build_search(
    cfg: RunConfig,
    run_dir: Path,
    seeds: list[dict[str, Any]],
    observer: Observer | None,
    executor: Executor | None = None,
    data_sha256: str | None = None,
    settings: dict[str, str] | None = None,
) -> Search:
    """The run's search; `settings` (`search_settings`) goes into every checkpoint."""
    problem = make_problem(cfg, data_sha256)
    rng = np.random.default_rng(seed_stream(cfg.seed, "search"))  # not the batches' stream
    ladder = cfg.fidelity
    compare = {"compare": ladder.compare} if ladder else {}
    strategy = STRATEGIES[cfg.strategy](problem, cfg.population, rng, seeds, **compare)
    runner = executor or make_executor(cfg, problem)
    return Search(run_dir, problem, strategy, runner, observer, ladder, settings)


def make_problem(cfg: RunConfig, data_sha256: str | None = None) -> SpectralProblem:
    return SpectralProblem(
        cfg.space,
        cfg.train_config(),
        cfg.data,
        tuple(cfg.objectives),
        cfg.crossover_prob,
        data_sha256,
        cfg.fidelity,
        cfg.recall,
    )


def make_executor(cfg: RunConfig, problem: Problem) -> Executor:
    """The run's executor, given only its execution settings (an executor knows no RunConfig)."""
    if cfg.executor not in EXECUTORS:
        raise UsageError(f"executor {cfg.executor!r} is not available here")
    settings = Execution(**{f.name: getattr(cfg, f.name) for f in dataclasses.fields(Execution)})
    return EXECUTORS[cfg.executor](problem, settings)


def absolute_data(spec: str) -> str:
    """A file's absolute path, so a run resumes (and exports) from any working directory."""
    if spec == "builtin" or spec.startswith("hf:"):
        return spec
    return os.path.abspath(os.path.expanduser(spec))  # normalises "..", keeps symlinks


def start(
    cfg: RunConfig, out: Path, observer: Observer | None = None, stop: Stop | None = None
) -> Path:
    """Create the run directory `out` and run the search to `stop` (default: cfg.generations,
    which must be stop's generations too), the first limit it reaches."""
    stop = stop or Stop(cfg.generations)
    if stop.generations != cfg.generations:  # run.json and the checkpoint must agree
        raise ValueError(f"stop.generations {stop.generations} is not cfg.generations")
    if (out / RUN_FILE).exists():
        raise UsageError(f"{out} already holds a run; continue it with `hrfevo resume {out}`")
    check_new_dir(out)
    check_memory(cfg)
    cfg = dataclasses.replace(cfg, data=absolute_data(cfg.data))
    seeds = seed_genomes(cfg)
    corpus = open_corpus(cfg.data, cfg.space.seq_len + 1)
    data = {"spec": cfg.data, "sha256": corpus.sha256, "split": corpus.split()}
    leaked = contamination(corpus, cfg.space.seq_len, cfg.train_config().eval_tokens)
    # The executor checks its resources (GPUs the cluster lacks...) before any file is written.
    with make_executor(cfg, make_problem(cfg, corpus.sha256)) as executor:
        out.mkdir(parents=True, exist_ok=True)
        run_info = {
            "format": RUN_FORMAT,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "config": cfg.to_dict(),
            "seed": cfg.seed,
            "seed_genomes": seeds,
            "data": data,
            "contamination": leaked,
            "versions": versions(),
        }
        atomic_write_json(out / RUN_FILE, run_info)
        warn_contamination(leaked, corpus.name)
        with locked(out / RUN_FILE):
            settings = search_settings(run_info)
            search = build_search(cfg, out, seeds, observer, executor, corpus.sha256, settings)
            search.run(stop)
    return out


def search_settings(info: dict[str, Any]) -> dict[str, str]:
    """A digest of each search setting in run.json `info`: every config field except the
    EXECUTION_FIELDS (which resume may change), the seed genomes and the corpus (its hash
    and split). Every checkpoint records them, and resume refuses a run.json that no longer
    matches, naming the settings that changed."""
    config = {k: v for k, v in info["config"].items() if k not in EXECUTION_FIELDS}
    corpus = {k: info["data"].get(k) for k in ("sha256", "split")}
    settings = config | {"seed_genomes": info["seed_genomes"], "corpus": corpus}
    return {name: _digest(value) for name, value in settings.items()}


def _digest(value: Any) -> str:
    blob = json.dumps(value, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def check_memory(cfg: RunConfig) -> None:
    """UsageError if the largest genome of the space cannot train on this machine: a width or a
    batch with digits too many is refused in a second, with the estimate (`model.memory`).

    Evaluations on a cluster (`ray_address`) run on machines this one cannot measure: there
    it is the cluster's memory that decides, when an evaluation runs.
    """
    if cfg.ray_address is not None:
        return
    gpu = cfg.gpus_per_eval > 0 and torch.cuda.is_available()
    device = torch.device("cuda" if gpu else "cpu")
    batch = cfg.train_config().batch_size
    for model_cfg in cfg.space.largest_models():
        why = memory_problem(model_cfg, batch, device)
        if why:
            raise UsageError(
                f"the largest {model_cfg.layer_mixers[0]} model of the space (d_model "
                f"{model_cfg.d_model}, {model_cfg.n_layers} layers, seq_len {model_cfg.seq_len}, "
                f"budget.batch_size {batch}): {why}; narrow the space or lower the batch size"
            )


CONTAMINATION_WARNING = 0.05  # share of evaluation windows also found verbatim in train


def warn_contamination(leaked: dict[str, float], corpus: str) -> None:
    """One line on stderr for each held-out split whose windows the training split repeats."""
    for split, share in leaked.items():
        if share > CONTAMINATION_WARNING:
            print(
                f"warning: {share:.1%} of the {split} windows of {corpus!r} also occur verbatim "
                "in its training split (run.json: contamination)",
                file=sys.stderr,
            )


def resume(
    run_dir: Path,
    generations: int | None = None,
    observer: Observer | None = None,
    execution: dict[str, Any] | None = None,
    limits: dict[str, Any] | None = None,
) -> Path:
    """Continue a run to its recorded limits (its generation target and `hrfevo.stop.Stop`'s
    others), or to `generations` and `limits` (Stop's other fields, None: the recorded one),
    which may raise them or add some.

    `execution` may change where the remaining evaluations run (`EXECUTION_FIELDS`: executor,
    Ray address, resources per evaluation, time-out): results do not depend on it,
    so the resumed run still ends where an uninterrupted one would. The search settings stay
    as recorded.
    """
    view = RunView(run_dir)  # checks the directory before anything runs
    view.check_resumable()
    try:
        stop = continued_stop(view, generations, limits or {})
    except ConfigError as e:  # the CLI names the flag; a caller of this function, the field
        raise UsageError(str(e)) from None
    cfg = with_execution(view.config, execution or {})
    view.corpus()  # the bytes, and the split, the run started on
    view.check_unchanged()
    check_memory(cfg)
    with locked(run_dir / RUN_FILE), make_executor(cfg, view.problem()) as runner:
        seeds, sha256 = view.info["seed_genomes"], view.info["data"]["sha256"]
        settings = search_settings(view.info)
        build_search(cfg, run_dir, seeds, observer, runner, sha256, settings).run(stop)
    return run_dir


def all_failed(run_dir: Path) -> str | None:
    """One line when every evaluation of the run failed, for `hrfevo run` and `resume` to exit
    non-zero with: such a run has no front, whatever its status. None if one succeeded, or
    none ran (generations 0)."""
    records = RunView(run_dir).records()
    if not records or any(r["status"] == "ok" for r in records):
        return None
    examples: dict[str, str] = {}  # the kind of failure (the exception's name) -> one message
    kinds: Counter[str] = Counter()
    for r in records:
        kind, _, why = str(r.get("error") or r["status"]).partition(": ")
        kinds[kind] += 1
        examples.setdefault(kind, why[:160])
    common = "; ".join(
        f"{kind} x{n}" + (f" (e.g. {examples[kind]})" if examples[kind] else "")
        for kind, n in kinds.most_common(3)
    )
    more = f"; {len(kinds) - 3} other kinds" if len(kinds) > 3 else ""
    return (
        f"every one of the {len(records)} evaluations failed, so the run has no front: "
        f"{common}{more} (`hrfevo report {run_dir}` lists them)"
    )


def check_target(view: RunView, generations: int) -> int:
    """`resume --generations N`: a target the run has not passed yet (it may be lowered to the
    generations finished, which ends the run where it is)."""
    if not (is_int(generations) and 0 <= generations <= MAX_GENERATIONS):
        raise UsageError(f"--generations {generations}: must be from 0 to {MAX_GENERATIONS}")
    if generations < view.generation:
        raise UsageError(
            f"--generations {generations}: {view.dir} has already finished {view.generation} "
            f"generations (give {view.generation} or more)"
        )
    return generations


def continued_stop(view: RunView, generations: int | None, limits: dict[str, Any]) -> Stop:
    """The stop a resumed run goes on to: the recorded one, with the `generations` target
    and `limits` given (None: kept). UsageError for generations (`check_target`), ConfigError
    naming the field for a limit that is out of bounds or below what the run has spent."""
    stop = recorded_stop(view)
    if generations is not None:
        stop = dataclasses.replace(stop, generations=check_target(view, generations))
    return stop.continued(spent(view), **limits)


def recorded_stop(view: RunView) -> Stop:
    """The limits the run's last checkpoint recorded: its target alone in a checkpoint from
    before the other limits, and the config's generations before any checkpoint."""
    limits = view.checkpoint.get("stop", {}) if view.checkpoint else {}
    try:
        return Stop(view.target, **limits)
    except (ValueError, TypeError) as e:
        raise UsageError(f"{view.dir / CHECKPOINT} is corrupted (its limits: {e})") from None


def spent(view: RunView) -> Spent:
    """What the run has used at its last checkpoint (`hrfevo.stop.Spent`)."""
    wall = view.checkpoint.get("wall_seconds", 0.0) if view.checkpoint else 0.0
    if not (isinstance(wall, int | float) and wall >= 0):
        raise UsageError(f"{view.dir / CHECKPOINT} is corrupted (wall_seconds {wall!r})")
    return Spent.of(view.records(), view.generation, float(wall))


def stopped_by(run_dir: Path) -> str | None:
    """The limit that the run has reached at its last checkpoint, in words ("the evaluation
    limit of 40 evaluations (44 done)"); None while it has reached none (killed, faulted)."""
    view = RunView(run_dir)
    return recorded_stop(view).reached(spent(view))


def with_execution(cfg: RunConfig, execution: dict[str, Any]) -> RunConfig:
    """`cfg` with new execution settings (None: keep the recorded one). `eval_timeout` 0 clears
    the time-out; moving to the serial executor drops it too, as serial cannot stop a job, and
    the Ray settings with it; joining a cluster drops the local Ray's dashboard."""
    unknown = sorted(set(execution) - set(EXECUTION_FIELDS))
    if unknown:
        raise UsageError(f"resume cannot change {', '.join(unknown)}: not an execution setting")
    changes = {k: v for k, v in execution.items() if v is not None}
    if changes.get("eval_timeout") == 0 or changes.get("executor") == "serial":
        changes["eval_timeout"] = changes.get("eval_timeout") or None
    if changes.get("executor") == "serial" and changes["eval_timeout"] is not None:
        raise UsageError("--eval-timeout needs the ray executor (serial cannot stop one)")
    if changes.get("executor") == "serial":  # the recorded Ray settings go with Ray
        changes.setdefault("ray_address", None)
        changes.setdefault("ray_dashboard", False)
    if changes.get("ray_address") is not None:  # a joined cluster serves its own dashboard
        changes.setdefault("ray_dashboard", False)
    try:
        return dataclasses.replace(cfg, **changes)
    except (ValueError, TypeError) as e:
        raise UsageError(f"invalid resume option: {e}") from None


# ---- reading a run -------------------------------------------------------------------------


class RunView:
    """A run directory, read-only and validated: bad or foreign directories are UsageErrors."""

    def __init__(self, run_dir: Path) -> None:
        self.dir = run_dir
        try:
            self._load(run_dir)
        except OSError as e:  # permissions, most often: one line naming the path
            where = e.filename or run_dir
            raise UsageError(f"{where} cannot be read ({e.strerror or e})") from None

    def _load(self, run_dir: Path) -> None:
        """Read run.json, the checkpoint and the journal, and check each (UsageError)."""
        if not (run_dir / RUN_FILE).is_file():
            raise UsageError(f"{run_dir} is not a run directory (no {RUN_FILE})")
        self.info = self._read(RUN_FILE)
        found = self.info.get("format")
        if not isinstance(found, int) or isinstance(found, bool) or found not in READABLE:
            raise UsageError(
                f"{run_dir} has run format {found!r}; this hrfevo reads "
                f"{', '.join(map(str, READABLE))} (use the hrfevo that wrote it, or start the "
                "run again)"
            )
        try:
            self.config = RunConfig.from_dict(self.info["config"])
        except (ValueError, TypeError, KeyError) as e:
            raise UsageError(f"{run_dir}/{RUN_FILE} holds an invalid config: {e}") from None
        if not isinstance(self.info.get("data"), dict) or "sha256" not in self.info["data"]:
            raise UsageError(f"{run_dir}/{RUN_FILE} is corrupted (no corpus hash)")
        if not isinstance(self.info.get("seed_genomes"), list):
            raise UsageError(f"{run_dir}/{RUN_FILE} is corrupted (no seed genomes)")
        self.checkpoint = self._read(CHECKPOINT) if (run_dir / CHECKPOINT).exists() else None
        if self.checkpoint is not None:
            check_checkpoint(self.checkpoint, run_dir / CHECKPOINT)
        try:
            self.journal = Journal(run_dir / JOURNAL)
        except (ValueError, KeyError) as e:
            raise UsageError(f"corrupted journal: {e}") from None
        self._check_records()
        self._check_journal_kept()

    def _check_records(self) -> None:
        """Every journal record within `hrfevo.rundir`'s bounds, for this run's metrics and
        ladder: a bad one is a UsageError naming its line and field."""
        ladder = self.config.fidelity
        rungs = ladder.rungs if ladder else None
        for rid, record in self.journal.records.items():
            where = f"{self.dir / JOURNAL}: line {self.journal.line_of[rid]}"
            known = (*METRICS, *FORECAST_METRICS, *MEASURED_METRICS, *PROBED)
            check_record(record, where, known, rungs)

    def _check_journal_kept(self) -> None:
        """UsageError if the journal holds fewer lines than the last checkpoint recorded: it
        was truncated or deleted, and what is left would be read as the whole run."""
        lines = self.checkpoint.get("journal_lines") if self.checkpoint else None
        if is_int(lines) and self.journal.lines < lines:
            raise UsageError(
                f"{self.dir / JOURNAL} has {self.journal.lines} lines, fewer than the {lines} of "
                f"the checkpoint at generation {self.generation}: it was truncated or deleted "
                "(restore it, or start a new run)"
            )

    def _read(self, name: str) -> dict[str, Any]:
        try:
            d = read_json(self.dir / name)
        except (ValueError, UnicodeDecodeError) as e:
            raise UsageError(f"{self.dir / name} is corrupted ({e})") from None
        if not isinstance(d, dict):
            raise UsageError(f"{self.dir / name} is corrupted (not a JSON object)")
        return d

    @property
    def generation(self) -> int:
        return int(self.checkpoint["generation"]) if self.checkpoint else 0

    @property
    def target(self) -> int:
        return (
            int(self.checkpoint.get("target", self.config.generations))
            if self.checkpoint
            else self.config.generations
        )

    def check_resumable(self) -> None:
        """UsageError for a run this hrfevo reads but cannot continue as it was started."""
        if self.info["format"] < 5 and self.config.fidelity is not None:
            raise UsageError(
                f"{self.dir} was written by an older hrfevo (run format {self.info['format']}), "
                "whose selection compared genomes on the highest rung both reached, a rule "
                "since removed: status, report and export still read it; to search on, start "
                f"a new run seeded with its front (hrfevo run --seeds {self.dir})"
            )

    def check_unchanged(self) -> None:
        """UsageError unless run.json's search settings and the journal's history are as the
        last checkpoint recorded them: a hand-edited run.json would change a resumed run,
        and a deleted or truncated journal would erase its history, without a word (every
        reader checks the journal's length: `_check_journal_kept`).

        Without a checkpoint, nothing recorded the settings the journal's results came from,
        and the run's first checkpoint is written before its first evaluation: a journal that
        holds results beside no checkpoint cannot be proven to be this run's."""
        if self.checkpoint is None:
            if self.journal.lines:
                raise UsageError(
                    f"{self.dir / CHECKPOINT} is missing but its journal holds "
                    f"{self.journal.lines} results: restore the checkpoint, or start a new run"
                )
            return  # stopped before its first checkpoint: nothing was run
        recorded, lines = self.checkpoint.get("settings"), self.checkpoint.get("journal_lines")
        if not isinstance(recorded, dict) or not is_int(lines):
            raise UsageError(f"{self.dir / CHECKPOINT} is corrupted (no settings or journal size)")
        now = search_settings(self.info)
        changed = sorted(k for k in recorded.keys() | now.keys() if recorded.get(k) != now.get(k))
        if changed:
            raise UsageError(
                f"{self.dir / RUN_FILE}: search settings changed since the last checkpoint "
                f"({', '.join(changed)}); resume may change only where evaluations run "
                "(--executor, --cpus-per-eval, ...): restore them, or start a new run"
            )

    def corpus(self) -> Corpus:
        """The run's corpus, checked to be byte for byte, and split for split, the recorded one."""
        data = self.info["data"]
        return open_corpus(
            self.config.data, self.config.space.seq_len + 1, data["sha256"], data.get("split")
        )

    def problem(self) -> SpectralProblem:
        return make_problem(self.config, self.info["data"]["sha256"])

    def records(self) -> list[dict[str, Any]]:
        return list(self.journal.records.values())

    def front(self) -> list[dict[str, Any]]:
        return front(self.records(), self.problem())
