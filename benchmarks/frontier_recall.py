"""What the frontier study's models cost beyond their loss: in-context recall, inference state
and generation latency, for every model of every context (front members, transformers, the
seeds' designs and the anchor).

- Recall: the accuracy of `model.recall`'s MQAR probe at its default settings (those that
  `reports/recall.md` measured), on sequences of the model's context up to
  `Settings.recall_seq_len`: the probe's cost grows with the sequence, and at 512 tokens it
  would cost more than the study's trainings. The model's whole architecture is probed: its
  depth, mixers, embedding and spectral genes, at its width.
- State: `model.state_bytes`, exact, from the configuration (a KV cache, a convolution's
  history), for one sequence at the model's full context.
- Latency: `model.speed.generation_latency`, one token at batch 1 and full context, on one
  thread, the median of its repeats; measured, so as noisy as `reports/latency.md` says.

Recall and latency are kept in frontier-recall.json beside the report, keyed by the model and
the probe, so that an interrupted stage measures only what is missing.
"""

from __future__ import annotations

import hashlib
import json
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

from benchmarks.frontier_plan import Cache, Plan, Record, Settings
from hrfevo.reporting.markdown import plural
from model import ModelConfig, SpectralLM
from model.recall import Probe, recall_accuracy
from model.speed import generation_latency

Measure = tuple[dict[str, Any], Probe]  # a model's config, and the probe it takes


def cache_of(report: Path) -> Cache:
    return Cache(report.with_name(f"{report.stem}-recall.json"))


def probe(s: Settings, context: int) -> Probe:
    """The probe a model of this context takes."""
    return Probe(**(s.probe | {"seq_len": min(context, s.recall_seq_len)}))


def key(config: dict[str, Any], settings: Probe) -> str:
    blob = json.dumps([config, settings.to_dict()], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def measure(job: Measure) -> tuple[str, Record]:
    """One model's recall (and the probe's seconds) and latency, on one thread."""
    config, settings = job
    cfg = ModelConfig.from_dict(config)
    began = time.perf_counter()
    accuracy = recall_accuracy(cfg, settings, seed=0, threads=1)
    seconds = time.perf_counter() - began
    median, spread = generation_latency(SpectralLM(cfg), threads=1)
    return key(config, settings), {
        "recall": accuracy,
        "seconds": seconds,
        "latency_ms": 1e3 * median,
        "latency_spread_ms": 1e3 * spread,
    }


def measures(plans: list[Plan], s: Settings, report: Path, workers: int) -> None:
    """Probe every model of every plan that the cache lacks, `workers` at a time."""
    cache = cache_of(report)
    done = cache.read()
    jobs: dict[str, Measure] = {}
    for p in plans:
        for j in p.jobs:
            settings = probe(s, p.context)
            if (k := key(j.model.config, settings)) not in done:
                jobs[k] = (j.model.config, settings)
    print(f"recall stage: {plural(len(jobs), 'model')} to probe", file=sys.stderr)
    if workers == 1:
        for job in jobs.values():
            cache.put(*measure(job))
        return
    with ProcessPoolExecutor(min(workers, max(1, len(jobs)))) as pool:
        for done_job in as_completed(pool.submit(measure, job) for job in jobs.values()):
            cache.put(*done_job.result())


def looked_up(
    cache: dict[str, Record], s: Settings, context: int, config: dict[str, Any]
) -> Record:
    """The model's measures, or {} where not yet measured."""
    return cache.get(key(config, probe(s, context)), {})


def recall_verdict(
    context: int, winners: list[float], ladder: list[float], designs: list[float], s: Settings
) -> str:
    """Whether the models that win on loss lose on recall, and by how much."""
    settings = probe(s, context)
    floor = 1 / settings.pairs

    def described(values: list[float]) -> str:
        if not values:
            return "none measured"
        spread = f" ({min(values):.2f}–{max(values):.2f})" if len(values) > 1 else ""
        return f"{statistics.mean(values):.2f}{spread}"

    line = (
        f"Recall at context {context} (MQAR, {settings.pairs} pairs, T "
        f"{settings.length(context)}; {floor:.2f} is a guess among the sequence's values, no "
        f"recall): the front members that win on loss {described(winners)}, the ladder's "
        f"transformers {described(ladder)}, the seeds' designs {described(designs)}"
    )
    if winners and ladder:
        lost = statistics.mean(ladder) - statistics.mean(winners)
        if abs(lost) < 0.005:
            line += ": the winners recall as the ladder does"
        else:
            side = "lose" if lost > 0 else "gain"
            line += f": the winners {side} {abs(lost):.2f} of accuracy against the ladder"
    return line + "."


def seconds_spent(cache: dict[str, Record]) -> float:
    return sum(r["seconds"] for r in cache.values())
