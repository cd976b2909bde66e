"""A run directory's file names, and the bounds of what its journal and checkpoint hold.

The one place for both: the writers (`hrfevo.search`, `hrfevo.run`, `hrfevo.executor`'s
records, `hrfevo.pareto`'s logs) take the names from here, and every reader checks each record
and the checkpoint against the bounds here (`check_record`, `check_checkpoint`) before it
trusts a value.

A check names the file, the line (journal) and the field, and raises a UsageError: a bad file
is refused, never rewritten; the user fixes or truncates it and runs again.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

from hrfevo.errors import UsageError

RUN_FILE = "run.json"  # the resolved config, seed genomes, corpus and versions (written once)
JOURNAL = "journal.jsonl"  # one fsynced line per finished evaluation
CHECKPOINT = "checkpoint.json"  # generation, limits, population, archive, RNG states
STATES = "states"  # the training states that promoted genomes continue from
PARETO = "pareto.csv"  # the reported front of every generation (`hrfevo.pareto.front`)
HYPERVOLUME = "hypervolume.csv"  # its hypervolume, front size and evaluations by generation
FIDELITY = "fidelity.csv"  # with a ladder: rank agreement between rungs, by generation
RUNS = Path("populations")  # where `hrfevo run` puts run directories, and `runs` looks

# Every field `hrfevo.executor`'s records may hold ("traceback": a failure's; "attempts": the
# faults before a result). A field outside it is not one this hrfevo wrote.
RECORD_FIELDS = (
    *("key", "rung", "generation", "candidate", "budget", "status", "metrics", "error"),
    *("worker", "timings", "traceback", "attempts"),
)
STATUSES = ("ok", "failed", "diverged")  # a FAULT is never journaled (`hrfevo.executor`)
# The lower bound of each metric an "ok" result must have, and whether the bound is strict:
# perplexity = exp(val_loss) >= 1, and a model has FLOPs and parameters.
METRIC_BOUNDS: dict[str, tuple[float, bool]] = {
    "perplexity": (1.0, False),
    "val_loss": (0.0, False),
    "flops_per_token": (0.0, True),
    "params": (0.0, True),
}
OPTIONAL_BOUNDS = {  # bounds of metrics that older runs lack
    "state_bytes": (0.0, False),
    "latency_ms": (0.0, True),
    "latency_spread_ms": (0.0, False),
    "recall_error": (0.0, False),
}


def is_number(value: Any) -> bool:
    """A JSON number that is a real value: int or float, not bool, finite."""
    ok_type = isinstance(value, int | float) and not isinstance(value, bool)
    return ok_type and math.isfinite(value)


def is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def check_record(
    record: Any, where: str, metrics: Collection[str], rungs: Sequence[int] | None
) -> None:
    """UsageError, naming `where` ("FILE: line N") and the field, unless `record` is a journal
    line this hrfevo could have written: known fields of the right types, a known status,
    known `metrics` (finite, and within METRIC_BOUNDS for an "ok" result), and a rung within
    the ladder whose steps (`rungs`, None without a ladder) match its budget."""
    if not isinstance(record, dict):
        raise UsageError(f"{where}: not a JSON object")
    unknown = sorted(set(record) - set(RECORD_FIELDS))
    if unknown:
        raise UsageError(f"{where}: unknown field {unknown[0]!r}")
    for name, ok, want in (
        ("key", isinstance(record.get("key"), str), "a string"),
        ("generation", is_count(record.get("generation")), "a whole number >= 0"),
        ("candidate", "candidate" in record, "present"),
        ("status", record.get("status") in STATUSES, f"one of {', '.join(STATUSES)}"),
        ("metrics", isinstance(record.get("metrics"), dict), "an object"),
    ):
        if not ok:
            raise UsageError(f"{where}: field {name} {record.get(name)!r}: must be {want}")
    _check_rung(record, where, rungs)
    _check_metrics(record, where, metrics)


def _check_rung(record: dict[str, Any], where: str, rungs: Sequence[int] | None) -> None:
    rung, top = record.get("rung", 0), len(rungs) - 1 if rungs else 0
    if not (is_count(rung) and rung <= top):
        raise UsageError(f"{where}: field rung {rung!r}: must be a whole number from 0 to {top}")
    budget = record.get("budget")
    if budget is not None and not isinstance(budget, dict):
        raise UsageError(f"{where}: field budget {budget!r}: must be an object")
    if rungs and budget is not None and budget.get("steps") != rungs[rung]:
        raise UsageError(
            f"{where}: field budget.steps {budget.get('steps')!r}: rung {rung} of the run's "
            f"ladder trains {rungs[rung]} steps"
        )


def _check_metrics(record: dict[str, Any], where: str, known: Collection[str]) -> None:
    """Known names; numbers (null allowed unless "ok"); an "ok" result's within bounds."""
    values, ok = record["metrics"], record["status"] == "ok"
    for name, value in values.items():
        field = f"{where}: field metrics.{name} {value!r}"
        if name not in known:
            raise UsageError(f"{field}: not a metric this run records")
        if not (is_number(value) or (value is None and not ok)):
            raise UsageError(f"{field}: must be a finite number")
    if not ok:
        return
    bounds = METRIC_BOUNDS | {k: v for k, v in OPTIONAL_BOUNDS.items() if k in values}
    for name, (low, strict) in bounds.items():
        value = values.get(name)
        if value is None or value < low or (strict and value == low):
            bound = f"> {low:g}" if strict else f">= {low:g}"
            raise UsageError(f"{where}: field metrics.{name} {value!r}: must be {bound}")


def check_checkpoint(state: dict[str, Any], path: Path) -> None:
    """UsageError naming the field unless the checkpoint's fields that readers use have the
    types and bounds that `hrfevo.search.Search.state_dict` writes."""
    checks = {
        "generation": is_count(state.get("generation")),
        "journal_lines": is_count(state.get("journal_lines", 0)),
        "target": is_count(state.get("target", 0)),  # absent in the oldest checkpoints
        "archive": isinstance(state.get("archive"), list)
        and all(isinstance(k, str) for k in state["archive"]),
        "strategy": isinstance(state.get("strategy"), dict),
        "stop": isinstance(state.get("stop", {}), dict),
        "wall_seconds": is_number(state.get("wall_seconds", 0.0))
        and state.get("wall_seconds", 0.0) >= 0,
    }
    for name, ok in checks.items():
        if not ok:
            raise UsageError(f"{path} is corrupted (field {name}: {state.get(name)!r})")
