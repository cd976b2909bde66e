"""HRFEvo's own problem: genomes scored by a proxy training run and their FLOPs per token.

`GenomeEncoding`, at the end, gives its genomes the fixed length Optuna's samplers need, with
*slots*: a mixer for every layer the space allows and five genes for every basis function it
allows. Slots beyond a genome's depth or basis size are inactive: `decode` ignores them and
`encode` fills them with defaults. `decode` maps every assignment to a genome in the space
(through `repair`), and `encode` inverts it on the space's genomes: decode(encode(x)) has x's
key. Both are pure, so a study rebuilt from stored parameters decodes to the same genomes.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import socket
import time
from functools import lru_cache
from typing import Any

import numpy as np

from hrfevo.errors import UsageError
from hrfevo.fidelity import Fidelity, forecast
from hrfevo.genome import ArchGenes, Genome, WaveletGenes, describe, to_model_config
from hrfevo.objectives import OBJECTIVES, PROBED, REQUIRED
from hrfevo.operators import mutate, random_genome, repair, siblings
from hrfevo.problem import Candidate, Encoding, Objectives, Param, Params, Problem
from hrfevo.space import SearchSpace, frequency_range
from model import (
    FAMILIES,
    BasisSpec,
    Corpus,
    DataError,
    ModelConfig,
    SpectralLM,
    TrainConfig,
    TrainResult,
    TrainState,
    load_corpus,
    state_bytes,
    train,
)
from model.pretrained import expected_tensors
from model.recall import Probe, recall_accuracy
from model.speed import generation_latency
from model.train_state import check_blob

LN2 = math.log(2)
TWO_PI = 2 * math.pi

# Metrics that depend only on (genome, seed, budget); the rest of a result goes to `timings`.
METRICS = (
    "val_loss",
    "perplexity",
    "bits_per_byte",
    "flops_per_token",
    "params",
    "train_tokens",
    "steps_done",
    "state_bytes",  # inference state at a full context (`model.memory.state_bytes`)
)
# What rung 0 adds with a forecast (`Fidelity.forecast_from`): its first read, and the forecast.
FORECAST_METRICS = ("early_loss", "forecast_loss")
# Measured on the worker's device (`model.speed`): milliseconds to generate a token at batch 1
# and full context, median and interquartile range. Not a function of (genome, seed, budget):
# a rerun measures them again, so comparisons of runs leave them out; a resumed run reads
# them from the journal like every other metric.
MEASURED_METRICS = ("latency_ms", "latency_spread_ms")
# `hrfevo.objectives.PROBED` (recall_error) is measured by a second training, the MQAR probe
# (`model.recall`), where the run sets one: a function of (genome, seed, probe), so compared
# like METRICS, but absent where not probed.


def ranked(metrics: dict[str, Any]) -> dict[str, Any]:
    """The metrics a result is ranked by: those measured, or with a forecast of the top rung's
    loss (rung 0 of a ladder with `forecast_from`), the loss-based ones at the forecast."""
    if "forecast_loss" not in metrics:
        return metrics
    loss = float(metrics["forecast_loss"])
    return metrics | {"val_loss": loss, "perplexity": math.exp(loss), "bits_per_byte": loss / LN2}


class OverCapError(ValueError):
    """A genome whose model is larger than the space's caps: its own failure, not trained."""


def open_corpus(
    spec: str, min_tokens: int, sha256: str | None = None, split: dict[str, Any] | None = None
) -> Corpus:
    """Load the corpus `spec`; a UsageError if it is unreadable, too short, or (given `sha256`
    and `split`) not byte for byte, and split for split, the corpus a run recorded."""
    try:
        corpus = _checked(load_corpus(spec, min_tokens=min_tokens), sha256)
    except DataError as e:
        raise UsageError(str(e)) from None
    if split is not None and corpus.split() != split:
        raise UsageError(
            f"corpus {spec!r} splits differently from the run's record (train/val/test "
            f"{_sizes(corpus.split())} now, {_sizes(split)} recorded)"
        )
    return corpus


def _sizes(split: dict[str, Any]) -> str:
    return "/".join(str(split.get(f"{part}_tokens", "?")) for part in ("train", "val", "test"))


@lru_cache(maxsize=4)
def _worker_corpus(spec: str, min_tokens: int) -> Corpus:
    """One copy of the corpus per worker process, however many genomes it evaluates."""
    return load_corpus(spec, min_tokens=min_tokens)


def _checked(corpus: Corpus, sha256: str | None) -> Corpus:
    if sha256 is not None and corpus.sha256 != sha256:
        raise UsageError(
            f"corpus {corpus.name!r} on {socket.gethostname()} is not the run's: sha256 "
            f"{corpus.sha256[:12]}, the run recorded {sha256[:12]}"
        )
    return corpus


class SpectralProblem(Problem):
    """Minimise validation perplexity and forward FLOPs per token (and optionally parameters).

    The hypervolume is measured on (log_V perplexity, log10 FLOPs per token[, log10 params]):
    log_V perplexity is the validation loss as a fraction of uniform guessing's ln V, so 1.0 is
    a model that has learned nothing, and costs enter by orders of magnitude. `hrfevo.objectives`
    gives the reference point.
    """

    def __init__(
        self,
        space: SearchSpace,
        budget: TrainConfig,
        data: str,
        objectives: tuple[str, ...] = REQUIRED,
        crossover_prob: float = 0.9,
        data_sha256: str | None = None,
        fidelity: Fidelity | None = None,
        probe: Probe | None = None,
    ) -> None:
        """`data_sha256`, when given, is checked in every worker: an evaluation on other bytes
        (a changed file, another Python's `builtin`, a cluster node with its own copy) stops
        the run with a UsageError instead of mixing corpora in one journal.

        With a `fidelity` ladder, rung r trains for `fidelity.rungs[r]` steps (the budget's other
        settings unchanged). With the "wsd" schedule and `warmup_steps`, a promoted genome
        continues from its state at the rung below instead of starting again, which gives the
        same result for a fraction of the cost (see `model.train_state`).

        With a `probe`, every genome that reaches the top rung also trains, from scratch, on
        MQAR, and its `recall_error` is recorded; when `recall_error` is an objective, every
        evaluation probes (the same value at every rung), since every rung ranks by it."""
        self.space, self.train_cfg, self.data = space, budget, data
        self.fidelity = fidelity
        self.rungs = len(fidelity.rungs) if fidelity else 1
        self.data_sha256 = data_sha256
        self.objective_names, self.crossover_prob = objectives, crossover_prob
        self.hv_reference = tuple(OBJECTIVES[name].hv_reference for name in objectives)
        self.probe = probe
        if probe is None and set(objectives) & set(PROBED):
            raise ValueError(f"objectives {', '.join(PROBED)} need a probe")

    def sample(self, rng: np.random.Generator) -> Candidate:
        return random_genome(self.space, rng).to_dict()

    def vary(
        self, a: Candidate, b: Candidate, rng: np.random.Generator
    ) -> tuple[Candidate, Candidate]:
        """Two children: the complementary `siblings` of a crossover (with probability
        crossover_prob, else copies of the parents), each mutated."""
        x, y = Genome.from_dict(a), Genome.from_dict(b)
        if rng.random() < self.crossover_prob:
            x, y = siblings(x, y, self.space, rng)
        return mutate(x, self.space, rng).to_dict(), mutate(y, self.space, rng).to_dict()

    def key(self, x: Candidate) -> str:
        return Genome.from_dict(x).key

    def describe(self, x: Candidate) -> str:
        return describe(Genome.from_dict(x))

    def rung_config(self, rung: int = 0) -> TrainConfig:
        """The training budget of an evaluation at `rung`."""
        if self.fidelity is None:
            return self.train_cfg
        steps = self.fidelity.rungs[rung]
        return dataclasses.replace(self.train_cfg, steps=steps, tokens=None)

    @property
    def continues(self) -> bool:
        """Whether a promoted genome continues from its state at the rung below."""
        cfg = self.train_cfg
        return self.rungs > 1 and cfg.schedule == "wsd" and cfg.warmup_steps is not None

    def evaluate(self, x: Candidate, rung: int = 0, start: bytes | None = None) -> dict[str, Any]:
        cfg = to_model_config(Genome.from_dict(x), self.space.vocab_size, self.space.seq_len)
        self.check_caps(cfg)
        corpus = _checked(_worker_corpus(self.data, self.space.seq_len + 1), self.data_sha256)
        keep = self.continues and rung < self.rungs - 1
        state = TrainState.from_bytes(start) if start is not None and self.continues else None
        early = self._early_read(cfg, corpus) if rung == 0 else None
        if early is not None and early.trunk is not None:
            state = early.trunk  # rung 0 goes on from the read's stable stage: the same result
        budget = self.rung_config(rung)
        model, result = train(cfg, budget, corpus, progress=False, start=state, trunk=keep)
        out = result.to_dict()
        if result.status == "ok":
            median, spread = generation_latency(model, budget.threads)
            out |= {"latency_ms": 1e3 * median, "latency_spread_ms": 1e3 * spread}
        out |= {"state_bytes": state_bytes(cfg)}  # from the config: the same at every rung
        metrics = {k: out[k] for k in METRICS} | self._forecast(early, result)
        metrics |= {k: out[k] for k in MEASURED_METRICS if k in out}
        probed = self._recall(cfg, rung, result) if result.status == "ok" else {}
        metrics |= {k: probed[k] for k in PROBED if k in probed}
        spent = result.seconds + (early.seconds if early else 0.0) + probed.get("seconds", 0.0)
        return {
            "status": result.status,
            "metrics": metrics,
            "timings": {k: out[k] for k in ("tokens_per_second", "continued_from")}
            | {"seconds": spent}
            | ({"recall_seconds": probed["seconds"]} if probed else {})
            | result.timings,
            "device": result.device,
        } | ({"state": result.trunk.to_bytes()} if keep and result.trunk else {})

    def _recall(self, cfg: ModelConfig, rung: int, result: TrainResult) -> dict[str, float]:
        """The probe's recall_error and its seconds, where this evaluation probes (else {})."""
        wanted = set(self.objective_names) & set(PROBED) or rung == self.rungs - 1
        if self.probe is None or not wanted:
            return {}
        budget = self.rung_config(rung)
        began = time.perf_counter()
        accuracy = recall_accuracy(cfg, self.probe, budget.seed, budget.threads, result.device)
        return {"recall_error": 1.0 - accuracy, "seconds": time.perf_counter() - began}

    def check_start(self, x: Candidate, start: bytes) -> None:
        cfg = to_model_config(Genome.from_dict(x), self.space.vocab_size, self.space.seq_len)
        check_blob(start, expected_tensors(SpectralLM, cfg))

    def _early_read(self, cfg: ModelConfig, corpus: Corpus) -> TrainResult | None:
        """Rung 0's first read, at `fidelity.forecast_from` steps, with the state before its
        decay (None: the ladder forecasts nothing)."""
        if self.fidelity is None or self.fidelity.forecast_from is None or not self.continues:
            return None
        budget = dataclasses.replace(self.train_cfg, steps=self.fidelity.forecast_from, tokens=None)
        return train(cfg, budget, corpus, progress=False, trunk=True)[1]

    def _forecast(self, early: TrainResult | None, result: TrainResult) -> dict[str, float]:
        """The early read's loss and the top rung's forecast loss, when both reads are ok."""
        if early is None or early.status != "ok" or result.status != "ok":
            return {}
        assert self.fidelity is not None and self.fidelity.forecast_from is not None
        reads = (self.fidelity.forecast_from, early.val_loss), (result.steps_done, result.val_loss)
        values = early.val_loss, forecast(*reads, self.fidelity.rungs[-1])
        return dict(zip(FORECAST_METRICS, values, strict=True))

    def check_caps(self, cfg: ModelConfig) -> None:
        """OverCapError if the model is larger than the space allows (built, never trained)."""
        caps = {"flops_per_token": self.space.max_flops_per_token, "params": self.space.max_params}
        if all(cap is None for cap in caps.values()):
            return
        model = SpectralLM(cfg)
        size = {"flops_per_token": model.flops_per_token(), "params": model.num_parameters()}
        for name, cap in caps.items():
            if cap is not None and size[name] > cap:
                raise OverCapError(f"{name} {size[name]:,.0f} is over space.max_{name} {cap:,.0f}")

    def objectives(self, record: dict[str, Any]) -> Objectives:
        """The record's objectives; a rung-0 result with a forecast ranks by the forecast."""
        if record["status"] != "ok":
            return self.penalty()
        metrics = ranked(record["metrics"])
        return tuple(float(metrics[name]) for name in self.objective_names)

    def budget(self, rung: int = 0) -> dict[str, Any]:
        return self.rung_config(rung).to_dict()

    def on_device(self, device: str) -> SpectralProblem:
        if self.train_cfg.device != "auto":  # the budget names a device: keep it
            return self
        pinned = copy.copy(self)
        pinned.train_cfg = dataclasses.replace(self.train_cfg, device=device)
        return pinned

    def encoding(self) -> GenomeEncoding:
        return GenomeEncoding(self.space)

    def penalty(self) -> Objectives:
        return tuple(OBJECTIVES[name].penalty for name in self.objective_names)

    def hv_point(self, objectives: Objectives) -> Objectives:
        return tuple(
            OBJECTIVES[name].hv_value(v, self.space.vocab_size)
            for name, v in zip(self.objective_names, objectives, strict=True)
        )


class GenomeEncoding(Encoding):
    """A `SearchSpace`'s genomes: size, mixer, FFN, embedding, wavelet and basis genes.

    A basis function's frequency is a fraction in [0, 1], log-spaced over the space's frequency
    range at the chosen width (`space.frequency_range`), so every value is valid at every width;
    its shape is a fraction of its family's shape range.
    """

    def __init__(self, space: SearchSpace) -> None:
        self.space = space
        s = space
        self.max_layers, self.max_bases = s.n_layers[1], min(s.n_bases[1], max(s.d_model))
        self.params = [
            Param("d_model", choices=tuple(s.d_model)),
            Param("n_layers", low=s.n_layers[0], high=s.n_layers[1], integer=True),
            *(Param(f"mixer{i}", choices=tuple(s.mixers)) for i in range(self.max_layers)),
            Param("ffn_mult", low=s.ffn_mult[0], high=s.ffn_mult[1]),
            Param("spectral_share", low=s.spectral_share[0], high=s.spectral_share[1]),
            Param("embedding", choices=tuple(s.embeddings)),
            Param("n_heads", choices=tuple(s.n_heads)),
            Param("wavelet", choices=tuple(s.wavelets)),
            Param("levels", low=s.levels[0], high=s.levels[1], integer=True),
            Param("mixing", choices=tuple(s.band_mixing)),
            Param("n_bases", low=s.n_bases[0], high=self.max_bases, integer=True),
        ]
        for j in range(self.max_bases):
            self.params += [
                Param(f"basis{j}.family", choices=tuple(s.basis_families)),
                Param(f"basis{j}.frequency"),
                Param(f"basis{j}.phase", high=TWO_PI),
                Param(f"basis{j}.shape"),
                Param(f"basis{j}.center"),
            ]

    def decode(self, params: Params) -> Candidate:
        d_model, n_layers = int(params["d_model"]), int(params["n_layers"])
        arch = ArchGenes(
            d_model=d_model,
            n_layers=n_layers,
            mixers=tuple(params[f"mixer{i}"] for i in range(n_layers)),
            ffn_mult=float(params["ffn_mult"]),
            spectral_share=float(params["spectral_share"]),
            embedding=params["embedding"],
            n_heads=int(params["n_heads"]),
        )
        wavelet = WaveletGenes(params["wavelet"], int(params["levels"]), params["mixing"])
        n_bases = min(int(params["n_bases"]), d_model)
        basis = tuple(self._basis_function(params, j, d_model) for j in range(n_bases))
        return repair(Genome(basis, wavelet, arch), self.space).to_dict()

    def _basis_function(self, params: Params, j: int, d_model: int) -> BasisSpec:
        family = params[f"basis{j}.family"]
        shape_range = FAMILIES[family].shape_range
        lo, hi = shape_range or (0.0, 0.0)
        return BasisSpec(
            family=family,
            frequency=_log_lerp(float(params[f"basis{j}.frequency"]), *frequency_range(d_model)),
            phase=float(params[f"basis{j}.phase"]),
            shape=lo + float(params[f"basis{j}.shape"]) * (hi - lo),
            center=float(params[f"basis{j}.center"]),
        )

    def encode(self, x: Candidate) -> Params:
        g = repair(Genome.from_dict(x), self.space)
        a, w = g.arch, g.wavelet
        mixers = list(a.mixers) + [a.mixers[-1]] * (self.max_layers - a.n_layers)
        params: Params = {
            "d_model": a.d_model,
            "n_layers": a.n_layers,
            **{f"mixer{i}": m for i, m in enumerate(mixers)},
            "ffn_mult": a.ffn_mult,
            "spectral_share": a.spectral_share,
            "embedding": a.embedding,
            "n_heads": a.n_heads,
            "wavelet": w.name,
            "levels": w.levels,
            "mixing": w.mixing,
            # a table embedding may carry no basis: it reads none, so any count decodes alike
            "n_bases": max(len(g.basis), self.space.n_bases[0]),
        }
        for j in range(self.max_bases):
            params |= self._encode_function(g.basis[j] if j < len(g.basis) else None, j, a)
        return params

    def _encode_function(self, b: BasisSpec | None, j: int, a: ArchGenes) -> Params:
        if b is None:  # an inactive slot
            b = BasisSpec(self.space.basis_families[0], frequency=1.0)
        lo, hi = FAMILIES[b.family].shape_range or (0.0, 0.0)
        return {
            f"basis{j}.family": b.family,
            f"basis{j}.frequency": _log_fraction(b.frequency, *frequency_range(a.d_model)),
            f"basis{j}.phase": b.phase,
            f"basis{j}.shape": (b.shape - lo) / (hi - lo) if hi > lo else 0.0,
            f"basis{j}.center": b.center,
        }


def _log_lerp(t: float, lo: float, hi: float) -> float:
    return math.exp(math.log(lo) + t * (math.log(hi) - math.log(lo)))


def _log_fraction(v: float, lo: float, hi: float) -> float:
    return min(max((math.log(v) - math.log(lo)) / (math.log(hi) - math.log(lo)), 0.0), 1.0)
