"""Calibrate a proxy: does the short training a search scores genomes by rank them as longer
training does?

A search trusts its proxy (a few hundred steps of training, or each rung of a fidelity ladder)
to order genomes as a real training run would; it only ever compares genomes, so what matters is
the proxy's *ranking*, not its losses. `calibrate` measures that directly: it trains N genomes
(the transformer baseline among them) with the proxy, at every rung the search would report, and
trains each again from scratch for M times the budget's steps with the cosine schedule (the
standard long-training recipe), the *reference*. It then compares the two orders of validation
loss with Kendall's τ (the share of genome pairs the proxy orders as the reference does, minus
the share it orders the other way: 1 is the same ranking, 0 no better than chance) and
Spearman's ρ, and says where the baseline ranks under each.

Every evaluation runs through the search's executor (serial or Ray), so the proxy numbers are
exactly those a search would journal. Rung r+1 continues from rung r's state where the problem
allows it, which gives the from-scratch result (see `model.train_state`). A genome that fails
or diverges is left out of τ and listed. Nothing is written until every evaluation is in: a
machine fault stops the calibration with a `MachineFaultError` and no output.
"""

from __future__ import annotations

import dataclasses
import math
import os
import platform
import socket
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from hrfevo.config import RunConfig
from hrfevo.errors import MachineFaultError, UsageError
from hrfevo.executor import Executor, Job, collect
from hrfevo.fidelity import kendall_tau, spearman
from hrfevo.objectives import PROBED
from hrfevo.problem import Candidate, Objectives, Problem
from hrfevo.problems.spectral import SpectralProblem, open_corpus, ranked
from hrfevo.reporting.calibration import CALIBRATION_JSON, CALIBRATION_MD, markdown
from hrfevo.reporting.machine import cpu_model
from hrfevo.run import absolute_data, baseline_fits, baseline_genome, make_executor, versions
from hrfevo.storage import check_new_dir, record_id, staged_dir, write_json
from model import MAX_STEPS, TrainConfig, seed_stream

CALIBRATION_FORMAT = 1  # bumped whenever calibration.json's layout or meaning changes
MAX_GENOMES = 1000
REDRAWS = 100  # draws per wanted genome before a space is declared too small


class Calibration(Problem):
    """The proxy's rungs 0..top, then one rung more: the reference training, from scratch.

    One problem for both, so one executor (at most one Ray) runs every evaluation. Plain
    attributes only: the Ray executor ships it to the workers with `ray.put`.
    """

    def __init__(self, proxy: SpectralProblem, reference: SpectralProblem) -> None:
        self.proxy, self.reference = proxy, reference
        self.rungs = proxy.rungs + 1
        self.objective_names, self.hv_reference = proxy.objective_names, proxy.hv_reference

    @property
    def reference_rung(self) -> int:
        return self.proxy.rungs

    def _at(self, rung: int) -> tuple[SpectralProblem, int]:
        """The problem, and its own rung, behind `rung`."""
        return (self.proxy, rung) if rung < self.proxy.rungs else (self.reference, 0)

    def sample(self, rng: np.random.Generator) -> Candidate:
        return self.proxy.sample(rng)

    def vary(
        self, a: Candidate, b: Candidate, rng: np.random.Generator
    ) -> tuple[Candidate, Candidate]:
        return self.proxy.vary(a, b, rng)

    def key(self, x: Candidate) -> str:
        return self.proxy.key(x)

    def describe(self, x: Candidate) -> str:
        return self.proxy.describe(x)

    def evaluate(self, x: Candidate, rung: int = 0, start: bytes | None = None) -> dict[str, Any]:
        problem, own = self._at(rung)
        return problem.evaluate(x, own, start)

    def objectives(self, record: dict[str, Any]) -> Objectives:
        return self.proxy.objectives(record)

    def budget(self, rung: int = 0) -> dict[str, Any]:
        problem, own = self._at(rung)
        return problem.budget(own)

    def on_device(self, device: str) -> Calibration:
        return Calibration(self.proxy.on_device(device), self.reference.on_device(device))

    def steps(self, rung: int) -> int:
        problem, own = self._at(rung)
        return problem.rung_config(own).num_steps(problem.space.seq_len)


def reference_budget(cfg: RunConfig, mult: int) -> TrainConfig:
    """The budget's settings at `mult` times its steps, with the cosine schedule over them all."""
    base = cfg.train_config()
    steps = mult * base.num_steps(cfg.space.seq_len)
    if steps > MAX_STEPS:
        raise UsageError(f"--mult {mult}: {steps} steps of training, over the {MAX_STEPS} allowed")
    return dataclasses.replace(base, steps=steps, tokens=None, schedule="cosine", warmup_steps=None)


def make_calibration(cfg: RunConfig, mult: int, data_sha256: str | None = None) -> Calibration:
    """The proxy exactly as `hrfevo run` builds it, and its reference at `mult`×."""

    def problem(budget: TrainConfig, ladder: bool) -> SpectralProblem:
        return SpectralProblem(
            cfg.space,
            budget,
            cfg.data,
            tuple(o for o in cfg.objectives if o not in PROBED),  # it ranks by perplexity
            cfg.crossover_prob,
            data_sha256,
            cfg.fidelity if ladder else None,
        )

    return Calibration(
        problem(cfg.train_config(), True), problem(reference_budget(cfg, mult), False)
    )


def draw_genomes(
    problem: Problem, cfg: RunConfig, n: int
) -> tuple[dict[str, Candidate], str | None]:
    """`n` distinct genomes by key, the baseline first when the space holds it (its key is the
    second value, else None), the rest drawn from the search's RNG stream; a UsageError when
    `REDRAWS`·n draws do not find enough."""
    genomes: dict[str, Candidate] = {}
    baseline = None
    if baseline_fits(cfg.space):
        x = baseline_genome(cfg.space).to_dict()
        baseline = problem.key(x)
        genomes[baseline] = x
    rng = np.random.default_rng(seed_stream(cfg.seed, "search"))
    for _ in range(REDRAWS * n):
        if len(genomes) >= n:
            break
        x = problem.sample(rng)
        genomes.setdefault(problem.key(x), x)
    if len(genomes) < n:
        raise UsageError(
            f"--genomes {n}: the space gave only {len(genomes)} distinct genomes in "
            f"{REDRAWS * n} draws; ask for fewer or widen the space"
        )
    return genomes, baseline


def evaluate(
    executor: Executor, problem: Calibration, genomes: dict[str, Candidate], out: Path
) -> dict[str, dict[str, Any]]:
    """Every genome at every proxy rung and at the reference: records by `record_id`.

    The reference runs, the longest, are submitted first so they start first. Rung r+1 is
    submitted when rung r is back, from its state when it left one (else from scratch, which
    gives the same result). Results come back through the search's own `collect`; a persisting
    machine fault stops the calibration once the evaluations under way are back:
    MachineFaultError.
    """
    records: dict[str, dict[str, Any]] = {}
    climbing: list[Job] = []  # the next rung of each result kept since the last advance
    total = len(genomes) * problem.rungs

    def keep(record: dict[str, Any]) -> None:
        key, rung, state = record["key"], record["rung"], record.pop("state", None)
        records[record_id(key, rung)] = record
        if rung + 1 < problem.reference_rung:
            climbing.append(Job(key, genomes[key], 0, rung + 1, state))
        _progress(problem, record, len(records), total)

    def advance() -> None:
        while climbing:
            executor.submit(climbing.pop(0))

    for rung in (problem.reference_rung, 0):
        for key, x in genomes.items():
            executor.submit(Job(key, x, 0, rung))
    faults = collect(executor, keep, advance=advance)
    if faults:
        raise MachineFaultError(out, faults, "run the calibration again")
    return records


def _progress(problem: Calibration, record: dict[str, Any], done: int, total: int) -> None:
    rung = record["rung"]
    what = "reference" if rung == problem.reference_rung else f"proxy rung {rung}"
    loss = _loss(record)
    result = f"val_loss {loss:.4f}" if loss is not None else record["status"]
    print(
        f"  {done}/{total} {record['key']} {what} ({problem.steps(rung)} steps): {result}",
        file=sys.stderr,
        flush=True,
    )


def _loss(record: dict[str, Any]) -> float | None:
    """The loss a record is ranked by (a forecast, at rung 0 of a ladder that makes one)."""
    return float(ranked(record["metrics"])["val_loss"]) if record["status"] == "ok" else None


def _number(v: float) -> float | None:
    """JSON has no NaN: an unmeasurable statistic is null."""
    return None if math.isnan(v) else round(v, 6)


def _rank(losses: dict[str, float], key: str | None) -> int | None:
    """`key`'s place by loss, 1 = best; genomes without a result rank after all others."""
    if key is None or key not in losses:
        return None
    return 1 + sum(v < losses[key] for v in losses.values())


def compare(
    problem: Calibration, rows: list[dict[str, Any]], baseline: str | None
) -> list[dict[str, Any]]:
    """Per proxy rung: its ranking of the genomes against the reference's."""
    reference = {row["key"]: row["reference"] for row in rows if row["reference"] is not None}
    out = []
    for rung in range(problem.proxy.rungs):
        proxy = {row["key"]: row["proxy"][rung] for row in rows if row["proxy"][rung] is not None}
        both = [k for k in proxy if k in reference]
        x, y = [proxy[k] for k in both], [reference[k] for k in both]
        out.append(
            {
                "rung": rung,
                "steps": problem.steps(rung),
                "kendall_tau": _number(kendall_tau(x, y)),
                "spearman": _number(spearman(x, y)),
                "baseline_rank": _rank(proxy, baseline),
                "n": len(both),
                "excluded": [row["key"] for row in rows if row["key"] not in both],
            }
        )
    return out


def _row(
    problem: Calibration, key: str, x: Candidate, baseline: str | None, records: dict[str, Any]
) -> dict[str, Any]:
    """One genome: its losses at every proxy rung and at the reference (None: not ok)."""
    proxy = [records[record_id(key, r)] for r in range(problem.reference_rung)]
    reference = records[record_id(key, problem.reference_rung)]
    return {
        "key": key,
        "summary": problem.describe(x),
        "baseline": key == baseline,
        "genome": x,
        "proxy": [_loss(r) for r in proxy],
        "reference": _loss(reference),
        "status": {"proxy": [r["status"] for r in proxy], "reference": reference["status"]},
    }


def report(
    problem: Calibration,
    genomes: dict[str, Candidate],
    baseline: str | None,
    records: dict[str, dict[str, Any]],
) -> dict[str, Any]:
    """calibration.json's results: the top rung's statistics (what the front uses), then every
    rung's, every genome's, the cost and the evaluations' records (without their genome)."""
    top, ref = problem.reference_rung - 1, problem.reference_rung
    rows = [_row(problem, key, x, baseline, records) for key, x in genomes.items()]
    rungs = compare(problem, rows, baseline)
    reference_losses = {
        row["key"]: row["reference"] for row in rows if row["reference"] is not None
    }
    seconds = {"proxy": 0.0, "reference": 0.0}
    for r in records.values():
        seconds["reference" if r["rung"] == ref else "proxy"] += r["timings"].get("seconds", 0.0)
    return {
        "kendall_tau": rungs[top]["kendall_tau"],
        "spearman": rungs[top]["spearman"],
        "baseline_rank_proxy": rungs[top]["baseline_rank"],
        "baseline_rank_reference": _rank(reference_losses, baseline),
        "rungs": rungs,
        "rows": rows,
        "reference_steps": problem.steps(ref),
        # as the evaluations had it (device included)
        "reference_budget": next(r["budget"] for r in records.values() if r["rung"] == ref),
        "seconds": {k: round(v, 3) for k, v in seconds.items()},
        "machine": _machine(records),
        "evaluations": [{k: v for k, v in r.items() if k != "candidate"} for r in records.values()],
    }


def _machine(records: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The driver's host, and every worker the evaluations ran on."""
    workers = {
        " ".join(str(w[k]) for k in ("host", "device", "gpu") if w.get(k))
        for w in (r["worker"] for r in records.values())
    }
    return {
        "host": socket.gethostname(),
        "cpu": cpu_model(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "workers": sorted(workers),
    }


def calibrate(cfg: RunConfig, out: Path, genomes: int, mult: int, command: str) -> dict[str, Any]:
    """Train `genomes` genomes with the proxy and at `mult`× the budget; write DIR/calibration.json
    and DIR/calibration.md (`command` is the line that reproduces it). Returns the JSON content.

    Every input is checked before any training, and the output is staged: bad input is a
    UsageError, a machine fault a MachineFaultError, and both leave nothing in `out`.
    """
    if not 2 <= genomes <= MAX_GENOMES:
        raise UsageError(f"--genomes {genomes}: must lie in [2, {MAX_GENOMES}]")
    if isinstance(mult, bool) or not isinstance(mult, int) or mult < 2:
        raise UsageError(f"--mult {mult}: must be an integer >= 2")
    check_new_dir(out)
    cfg = dataclasses.replace(cfg, data=absolute_data(cfg.data))
    corpus = open_corpus(cfg.data, cfg.space.seq_len + 1)
    problem = make_calibration(cfg, mult, corpus.sha256)
    candidates, baseline = draw_genomes(problem, cfg, genomes)
    with make_executor(cfg, problem) as executor:
        records = evaluate(executor, problem, candidates, out)
    result = {
        "format": CALIBRATION_FORMAT,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "command": command,
        "config": cfg.to_dict(),
        "seed": cfg.seed,
        "genomes": genomes,
        "mult": mult,
        "data": {"spec": cfg.data, "sha256": corpus.sha256, "split": corpus.split()},
        "versions": versions(),
    } | report(problem, candidates, baseline, records)
    with staged_dir(out) as tmp:  # a crash leaves no half-written DIR
        write_json(tmp / CALIBRATION_JSON, result)
        (tmp / CALIBRATION_MD).write_text(markdown(result), encoding="utf-8")
    return result
