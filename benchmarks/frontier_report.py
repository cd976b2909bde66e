"""The frontier study's report: test loss against FLOPs per token, each set's hypervolume, the
gap at matched FLOPs, the closest contests against seed noise, the winners' genes, the seeds'
claims, the scale stage's section, and the figure (see `benchmarks/frontier.py`; the measures
are `frontier_measure.py`'s)."""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pywt

from benchmarks import frontier_recall
from benchmarks.common import NANOGPT_VAL_LOSS, SHAKESPEARE, machine_lines
from benchmarks.frontier_measure import (
    Contest,
    Judgement,
    Row,
    contests,
    gap,
    hypervolume,
    judged,
    kflops,
    ladder_at,
    num,
    rows,
)
from benchmarks.frontier_plan import (
    FULL,
    NANOGPT_BUDGET,
    ROLES,
    VOCAB,
    Cache,
    Model,
    Plan,
    Record,
    Settings,
    plan,
    searched,
    transformer,
)
from benchmarks.frontier_scale import Scale
from benchmarks.frontier_scale_report import scale_report
from benchmarks.frontier_train import Bracket
from hrfevo.api import load_run
from hrfevo.genome import Genome
from hrfevo.reporting.markdown import plural, table
from model import (
    MIXER_CHOICES,
    ModelConfig,
    SpectralAnalyzer,
    SpectralLM,
    describe_bytes,
    state_bytes,
    training_bytes,
)


def contest_cells(c: Contest, j: Judgement) -> list[str]:
    return [
        f"{c.member.job.model.name} ({kflops(c.member.flops)})",
        f"{c.below.job.model.name} ({kflops(c.below.flops)}) – "
        f"{c.above.job.model.name} ({kflops(c.above.flops)})",
        *(num(g, "+.4f") for g in j.gaps),
        num(j.mean, "+.4f"),
        num(j.spread),
        j.words,
    ]


def dominated(member: Row, ladder: list[Row]) -> list[Row]:
    """The transformers `member` Pareto-dominates: no more FLOPs and no higher test loss."""
    m = (member.flops, member.loss)
    return [
        t
        for t in ladder
        if m[1] is not None and t.loss is not None
        and m[0] <= t.flops and m[1] <= t.loss and m != (t.flops, t.loss)
    ]  # fmt: skip


def genes_of(genomes: list[Genome]) -> str:
    """What genomes hold: mixers by layer, embeddings, wavelet and basis families, α, sizes."""
    if not genomes:
        return "none"

    def counts(c: Counter[str]) -> str:
        return ", ".join(f"{k} {n}" for k, n in c.most_common()) or "none"

    mixers = Counter(m for g in genomes for m in g.arch.mixers)
    embeddings = Counter(g.arch.embedding for g in genomes)
    wavelets = Counter(
        pywt.Wavelet(g.wavelet.name).short_family_name
        for g in genomes
        if "wavelet" in g.arch.mixers
    )
    bases = Counter(b.family for g in genomes if g.arch.embedding != "table" for b in g.basis)
    alpha = [g.arch.spectral_share for g in genomes]
    widths = "/".join(str(d) for d in sorted({g.arch.d_model for g in genomes}))
    depths = "/".join(str(n) for n in sorted({g.arch.n_layers for g in genomes}))
    return (
        f"layers by mixer: {counts(mixers)}; embeddings: {counts(embeddings)}; wavelet "
        f"families (genomes): {counts(wavelets)}; basis families (functions): {counts(bases)}; "
        f"α {min(alpha):.2f}–{max(alpha):.2f} (mean {np.mean(alpha):.2f}); widths {widths}; "
        f"{depths} layers"
    )


# ---- stage 4: the report -------------------------------------------------------------------


def verdict(p: Plan, cache: dict[str, Record], s: Settings) -> str:
    """One context's answer, in numbers: seed 0 along the whole front, then the closest
    contests and the seeds' designs over every seed, and each set's hypervolume."""
    ladder = rows(p, cache, "ladder")
    scored = sorted(
        ((g, r) for r in rows(p, cache, "front") if (g := gap(r, ladder)) is not None),
        key=lambda x: x[0],
    )
    if not scored:
        return f"**Context {p.context}:** not enough is trained yet to compare."
    best, top = scored[0]
    wins = sum(g < 0 for g, _ in scored)
    where = f"{top.job.model.name}, `{top.job.model.genes}` at {kflops(top.flops)} FLOPs/token"
    head = (
        f"on training seed 0, {wins} of {len(scored)} front members inside the ladder's FLOPs "
        f"beat it at matched FLOPs (the best, {where}, by {-best:.4f} nats)"
        if wins
        else "on training seed 0, no front member inside the ladder's FLOPs beats it at "
        f"matched FLOPs (the closest, {where}, is {best:.4f} nats worse)"
    )
    judgements = [(c, judged(c, cache, s.seeds)) for c in contests(p, cache, s)]
    over = "; ".join(
        f"{c.member.job.model.name} {num(j.mean, '+.4f')} ({j.words})" for c, j in judgements
    )
    hv = {role: hypervolume(rows(p, cache, role)) for role in ("front", "ladder", "design")}
    return (
        f"**Context {p.context}:** {head}. Over {s.seeds} training seeds, the mean gaps of the "
        "closest front members and of the seeds' designs inside the ladder's FLOPs: "
        f"{over or 'not trained yet'}. Hypervolume: front {hv['front']:.4f}, ladder "
        f"{hv['ladder']:.4f}, seeds' designs {hv['design']:.4f}."
    )


def across(plans: dict[int, Plan], cache: dict[str, Record], s: Settings) -> list[str]:
    """What changes from the shortest context to the longest: what a token costs, the
    hypervolume margin, and the members that beat the ladder beyond seed noise."""
    short, long = min(plans), max(plans)

    def growth(role: str) -> str:
        at = [(flops_at(j.model, long), flops_at(j.model, short)) for j in plans[long].of(role)]
        ratios = [a / b for a, b in at if a is not None and b is not None]
        misfits = len(at) - len(ratios)
        but = f" ({misfits} of them too deep a wavelet cascade for {short})" if misfits else ""
        return (f"×{min(ratios):.2f}–×{max(ratios):.2f}" if ratios else "—") + but

    margin = ", ".join(
        f"{hypervolume(rows(p, cache, 'front')) - hypervolume(rows(p, cache, 'ladder')):+.4f} "
        f"at {T}"
        for T, p in plans.items()
    )
    winners = "; ".join(
        f"at {T}: "
        + (
            ", ".join(
                f"{c.member.job.model.name} (`{c.member.job.model.genes}`)"
                for c in contests(p, cache, s)
                if judged(c, cache, s.seeds).won
            )
            or "none"
        )
        for T, p in plans.items()
    )
    return [
        f"## From {short} to {long}",
        "",
        f"- FLOPs per token from {short} to {long}: the ladder's transformers {growth('ladder')} "
        f"(attention's cost grows with the context); the {long} front's members "
        f"{growth('front')}.",
        f"- Hypervolume, front minus ladder: {margin}.",
        f"- Models ahead of the ladder beyond seed noise: {winners}.",
        "",
    ]


def flops_at(model: Model, context: int) -> float | None:
    """The model's forward FLOPs per token at another context; None where it does not fit
    (a wavelet cascade deeper than the context allows)."""
    try:
        cfg = ModelConfig.from_dict(model.config | {"seq_len": context})
    except ValueError:
        return None
    return SpectralLM(cfg).flops_per_token()


def mixer_shares(p: Plan) -> str:
    """The retrained front's layers by mixer, as shares."""
    layers = Counter(
        m for j in p.of("front") for m in ModelConfig.from_dict(j.model.config).layer_mixers
    )
    total = sum(layers.values())
    return ", ".join(f"{m} {n / total:.0%}" for m, n in layers.most_common())


def context_section(
    p: Plan, cache: dict[str, Record], s: Settings, probed: dict[str, Record]
) -> list[str]:
    """The context's table, hypervolumes, contests and genes; `probed`: frontier_recall's."""
    run_data = load_run(p.run_dir)
    ladder, front = rows(p, cache, "ladder"), rows(p, cache, "front")
    cells = []
    for r in rows(p, cache):
        res, fixed = r.result or {}, r.job.model.role == "ladder"
        extra = frontier_recall.looked_up(probed, s, p.context, r.job.model.config)
        cells.append(
            [
                f"**{r.job.model.name}**", r.job.model.role, f"`{r.job.model.genes}`",
                f"{r.flops:,.0f}", f"{r.params:,}", describe_bytes(state_bytes(r.config)),
                num(extra.get("recall"), ".2f"), num(extra.get("latency_ms"), ".2f"),
                *lr_cells(r), num(res.get("val_loss")),
                f"**{num(r.loss)}**",
                "" if fixed else num(ladder_at(ladder, r.flops)),
                "" if fixed else num(gap(r, ladder), "+.4f"),
                f"{res['tokens_per_second']:,.0f}" if res else "—",
            ]
        )  # fmt: skip
    hv = [
        [
            name,
            sum(r.loss is not None for r in rows(p, cache, role)),
            f"{hypervolume(rows(p, cache, role)):.4f}",
        ]
        for role, (name, _) in ROLES.items()
        if role != "anchor"
    ]
    dominance = [
        f"- {m.job.model.name} dominates {', '.join(t.job.model.name for t in d)}"
        for m in front
        if (d := dominated(m, ladder))
    ]
    genomes = {
        r.job.model.name: Genome.from_dict(r.job.model.genome) for r in front if r.job.model.genome
    }
    won = [genomes[r.job.model.name] for r in front if (g := gap(r, ladder)) is not None and g < 0]
    spread = [r["metrics"]["flops_per_token"] for r in run_data.front_records]
    budget = p.jobs[0].budget
    ladder_cfg = run_data.config.fidelity
    confirmed = (
        f"confirmed at the top rung ({ladder_cfg.rungs[-1]} steps)" if ladder_cfg else "its results"
    )
    anchor = [
        f"nanoGPT's own model at its own learning rate reaches a test loss of {num(r.loss)}"
        + (
            f" on the bytes nanoGPT validates on; nanoGPT reports {NANOGPT_VAL_LOSS} there, "
            "training on 90% of the corpus where every model here trains on 80%."
            if Path(r.job.data).name == SHAKESPEARE.name
            else "."
        )
        for r in rows(p, cache, "anchor")
    ]
    return [
        f"## Context {p.context}",
        "",
        f"Search `{p.run_dir.name}`: {len(run_data.records)} genomes "
        f"({len(run_data.journal)} evaluations) over {run_data.generations} generations; its "
        f"final front holds {len(spread)} members from {kflops(min(spread))} to "
        f"{kflops(max(spread))} FLOPs per token, all {confirmed}, of which {len(front)} are "
        "retrained. "
        f"Long training: {budget['tokens']:,} tokens in batches of "
        f"{budget['batch_size']}×{p.context}; test loss on {p.jobs[0].test_tokens:,} tokens "
        "of the test split, in nats per byte." + "".join(f" {a}" for a in anchor),
        "",
        table(
            [
                "model",
                "role",
                "genes",
                "FLOPs/token",
                "params",
                "state/sequence",
                "recall",
                "latency (ms)",
                "lr (chosen)",
                "lr bracket: tried below – above",
                "val loss",
                "test loss",
                "ladder at its FLOPs",
                "gap",
                "tokens/s (training)",
            ],
            cells,
        ),
        "",
        bracketing(rows(p, cache), s),
        "",
        table(["set", "trained", "hypervolume"], hv),
        "",
        "The closest contests: the front members with the lowest gaps, and the seeds' "
        "designs, each against the "
        "ladder at its FLOPs, the two transformers either side of it, all trained with seeds "
        f"0 to {s.seeds - 1} at the learning rate each chose. The gap is the member's test "
        "loss minus the ladder's at its FLOPs, seed by seed; the seed spread is the larger of "
        "the member's and the ladder's ranges over the seeds. A contest is beyond seed noise "
        "when every seed's gap has the same sign and the mean gap exceeds the spread. Seed 0 "
        "chose these contests, so its gaps lean towards the front; the other seeds are the "
        "check.",
        "",
        table(
            [
                "model",
                "ladder either side",
                *(f"gap, seed {seed}" for seed in range(s.seeds)),
                "mean gap",
                "seed spread",
                "verdict",
            ],
            [contest_cells(c, judged(c, cache, s.seeds)) for c in contests(p, cache, s)],
        ),
        "",
        "Pareto dominance over the ladder (no more FLOPs and no higher test loss):",
        "",
        *(dominance or ["- no front member dominates a transformer of the ladder"]),
        "",
        f"Genes of the winners (below the ladder at matched FLOPs): {genes_of(won)}.",
        "",
        f"Genes of the retrained front: {genes_of(list(genomes.values()))}.",
        "",
    ]


def probe_words(s: Settings) -> str:
    probe = frontier_recall.probe(s, s.recall_seq_len)
    return (
        f"{probe.pairs} pairs over {probe.vocab} tokens, {probe.steps} steps of "
        f"{probe.batch_size}, lr {probe.lr:g}; reports/recall.md"
    )


def recall_line(p: Plan, cache: dict[str, Record], s: Settings, probed: dict[str, Record]) -> str:
    """The recall of the front members that win on loss, beside the ladder's and the designs'."""
    ladder = rows(p, cache, "ladder")

    def recall(rs: list[Row]) -> list[float]:
        got = [frontier_recall.looked_up(probed, s, p.context, r.job.model.config) for r in rs]
        return [g["recall"] for g in got if g]

    winners = [r for r in rows(p, cache, "front") if (g := gap(r, ladder)) is not None and g < 0]
    return frontier_recall.recall_verdict(
        p.context, recall(winners), recall(ladder), recall(rows(p, cache, "design")), s
    )


def lr_cells(r: Row) -> list[str]:
    """The learning rate chosen, with the trials run, and the rates beside it (`Bracket`)."""
    res = r.result
    if res is None:
        return ["—", "—"]
    if r.job.lr is not None:
        return [f"{res['lr']:.3g} (fixed)", ""]
    n, planned = res["trials"], r.job.trials
    trials = f"{n} trials" if n >= planned else f"{n} of {planned} trials"
    b: Bracket | None = res["bracket"]
    if b is None:
        return [f"{res['lr']:.3g} ({trials})", "—"]

    def side(rate: float | None, edge: bool) -> str:
        return f"{rate:.3g}" if rate is not None else "edge" if edge else "—"

    extra = f", +{plural(b.extra, 'trial')}" if b.extra else ""
    below, above = side(b.below, b.at_low), side(b.above, b.at_high)
    return [
        f"{res['lr']:.3g} ({trials})",
        f"{'yes' if b.bracketed else 'no'}: {below} – {above}{extra}",
    ]


def bracketing(rs: list[Row], s: Settings) -> str:
    """How many studied models' rates are bracketed, and what that took."""
    brackets = {
        r.job.model.name: b
        for r in rs
        if r.result and r.job.lr is None and (b := r.result["bracket"]) is not None
    }
    if not brackets:
        return "Learning rates: no study has a result yet."
    loose = [name for name, b in brackets.items() if not b.bracketed]
    extra = [b.extra for b in brackets.values() if b.extra]
    return (
        f"Learning rates: {len(brackets) - len(loose)} of {plural(len(brackets), 'studied model')} "
        f"bracketed (a rate tried within ×{s.lr_factor:g} of the one chosen on each side, or "
        f"the range's edge); {len(extra)} needed extra trials ({sum(extra)} in all, at most "
        f"{s.lr_extra} each)" + (f"; not bracketed: {', '.join(loose)}." if loose else ".")
    )


def mixer_flops(mixer: str, d_model: int, context: int) -> float:
    cfg = ModelConfig(vocab_size=VOCAB, seq_len=context, d_model=d_model, n_layers=1, mixer=mixer)
    return SpectralLM(cfg).flops_breakdown()[f"layer0.{mixer}"]


def claims(plans: dict[int, Plan], cache: dict[str, Record]) -> list[list[str]]:
    """Each quantitative claim of the seed documents beside what is measured here."""
    short, long = plans[min(plans)], plans[max(plans)]
    designs = {T: {r.job.model.name: r for r in rows(p, cache, "design")} for T, p in plans.items()}
    spectral, signal = designs[short.context]["SpectralLLM"], designs[short.context]["SignalLLM"]
    ladder = rows(short, cache, "ladder")
    a = SpectralAnalyzer(spectral.job.model.built()).analyze()

    def shares(*prefixes: str) -> str:
        """The spectral share of the parameters / FLOPs of the components named `prefixes`."""
        parts = [c for c in a["components"] if c["name"].startswith(prefixes)]
        out = []
        for measure in ("params", "flops"):
            total = sum(c[measure] for c in parts) or 1
            out.append(sum(c[measure] for c in parts if c["spectral"]) / total)
        return f"{out[0]:.1%} / {out[1]:.1%}"

    near = min(ladder, key=lambda t: abs(math.log10(t.flops / spectral.flops)))
    batch = short.jobs[0].budget["batch_size"]
    memory = memory_bytes(spectral, batch) / memory_bytes(near, batch)
    speed = "its tokens/s not measured yet"
    if spectral.result and near.result:
        ratio = spectral.result["tokens_per_second"] / near.result["tokens_per_second"]
        speed = f"{ratio:.2f}× the training tokens/s of {near.job.model.name}"
    ppl = "not trained yet" if spectral.loss is None else f"{math.exp(spectral.loss):.2f}"
    d, layers = spectral.job.model.config["d_model"], spectral.job.model.config["n_layers"]
    ffns = [f"layer{i}.ffn" for i in range(layers)]
    mixers = [f"layer{i}.wavelet" for i in range(layers)]
    flops = {c["name"]: c["flops"] for c in a["components"]}
    synthesis = flops["embedding.spectral"]  # a table's lookup costs no FLOPs
    g = gap(spectral, ladder)
    versus = "not trained yet" if g is None else f"{math.exp(g) - 1:+.1%}"
    grow = {
        m: mixer_flops(m, d, long.context) / mixer_flops(m, d, short.context) for m in MIXER_CHOICES
    }
    D, B, n = (signal.job.model.config[k] for k in ("d_model", "harmonic_bases", "n_layers"))
    table_ratio = VOCAB * D / (VOCAB * B + 2 * B)  # a table's V·D against C (V×B) and Φ's 2B
    demo = 50_000 * 768 / (50_000 * 64 + 2 * 64)  # at its demo's V 50,000, D 768, B 64
    same = {  # the SignalLLM design's FLOPs against a transformer's of its width and depth
        T: designs[T]["SignalLLM"].flops / transformer(D, n, 4, T).built().flops_per_token()
        for T in plans
    }
    return [
        ["SpectralLLM", "spectral embedding: parameter / compute ratio",
         "33.3% / 98.6% (up to 99.4%)",
         f"{shares('embedding', 'head')} of the hybrid embedding and its tied head"],
        ["SpectralLLM", "harmonic synthesis: computational overhead", "100×",
         f"{synthesis:,.0f} FLOPs per token where a lookup costs none: "
         f"{synthesis / spectral.flops:.1%} of the model's"],
        ["SpectralLLM", "wavelet attention: parameter / compute ratio", "29.7% / 85.4%",
         f"{shares(*mixers)}: the causal wavelet mixer counts as spectral throughout"],
        ["SpectralLLM", "frequency FFN: parameter / compute ratio", "21.8% / 45.2%",
         f"{shares(*ffns)} at α 0.5"],
        ["SpectralLLM", "whole model: parameter / compute ratio", "29.7% / 74.1%",
         f"{a['params']['share']:.1%} / {a['flops']['share']:.1%}"],
        ["SpectralLLM", "memory against an equivalent transformer", "60% (40% less)",
         f"{memory:.0%} of {near.job.model.name}'s, the transformer nearest in FLOPs "
         f"(`model.memory` estimate, batch {batch}×{short.context})"],
        ["SpectralLLM", "training convergence against the baseline", "15% faster",
         "test loss against the ladder at its FLOPs after equal tokens (seed 0): "
         + ", ".join(
             f"{num(gap(designs[T]['SpectralLLM'], rows(p, cache, 'ladder')), '+.4f')} nats "
             f"at {T}" for T, p in plans.items()
         ) + f"; {speed} at {short.context}"],
        ["SpectralLLM", "WikiText-103 perplexity with 8.3M parameters", "45.2",
         f"not measured (a word-level corpus); at context {short.context}, test perplexity "
         f"per byte {ppl} with {spectral.params:,} parameters"],
        ["SpectralLLM", "technical text: perplexity against a transformer", "15–20% better",
         "not measured (no technical corpus here); on this corpus at context "
         f"{short.context}, per-byte perplexity {versus} against the ladder's at its FLOPs"],
        ["SignalLLM", "frequency-domain attention: O(n log n) against O(n²)", "confirmed",
         f"FLOPs per token of one mixer at d {d}, context {short.context} → {long.context}: "
         + ", ".join(f"{m} ×{x:.2f}" for m, x in grow.items())],
        ["SignalLLM", "embedding parameters", "6× fewer",
         f"{table_ratio:.1f}× fewer than a table at V {VOCAB}, D {D}, B {B}; {demo:.1f}× at "
         "its demo's V 50,000, D 768, B 64"],
        ["SignalLLM", "FLOPs at longer sequences", "significantly lower",
         "; ".join(f"{x:.2f}× a transformer's of its size at {T}" for T, x in same.items())],
    ]  # fmt: skip


def memory_bytes(row: Row, batch: int) -> int:
    return training_bytes(ModelConfig.from_dict(row.job.model.config), batch)


def command(s: Settings, args: argparse.Namespace, scale: Scale | None) -> str:
    """The command line that reproduces the report (with `scale`, its Scale section too)."""
    scaled = [] if scale is None else [
        *("--scale-width", str(scale.width), "--scale-tokens", str(scale.tokens)),
        *("--token-factors", *map(str, scale.token_factors), "--scale-seeds", str(scale.seeds)),
    ]  # fmt: skip
    flags = [
        *(["--quick"] if args.quick else []),
        *([] if Path(args.data) == SHAKESPEARE else ["--data", args.data]),
        *("--strategy", args.strategy, "--seed", str(args.seed)),
        *("--contexts", *map(str, s.contexts), "--population", str(s.population)),
        *("--generations", str(s.generations), "--lr-trials", str(s.lr_trials)),
        *("--workers", str(args.workers), "--executor", args.executor),
        *(["--cpus-per-eval", str(args.cpus_per_eval)] if args.cpus_per_eval else []),
        *(["--gpus-per-eval", f"{args.gpus_per_eval:g}"] if args.gpus_per_eval else []),
        *scaled,
    ]
    return " ".join(["python -m benchmarks.frontier", *flags])


def write_report(s: Settings, args: argparse.Namespace, scale: Scale) -> None:
    """The report and its figure, from the searches that have finished and what is cached; the
    Scale section once `scale`'s points have a result."""
    cache = Cache(args.out.with_suffix(".json")).read()
    plans = {T: plan(s, T, args, out) for T in s.contexts if (out := searched(s, T, args))}
    probed = frontier_recall.cache_of(args.out).read()
    hours = sum(r["seconds"] for r in cache.values()) / 3600
    at_scale, scale_lines = scale_report(plans, cache, s, scale, os.cpu_count() or 1)
    lines = [
        "# The frontier study: at equal FLOPs, does an evolved spectral LM beat a transformer?",
        "",
        "Produced by `benchmarks/frontier.py`; rerun it to reproduce (the trainings in "
        f"`{args.out.with_suffix('.json').name}` are reused, and the searches continue where "
        "they stopped). Command:",
        "",
        f"    {command(s, args, scale if scale_lines else None)}",
        "",
        *machine_lines(1, load=False),  # the trainings ran before this report, under their own
        f"- {plural(len(cache), 'training')} so far, {hours:.1f} hours of them, on "
        f"{placement(cache)}",
        f"- {plural(len(probed), 'model')} probed for recall and latency, "
        f"{frontier_recall.seconds_spent(probed) / 3600:.1f} hours of probes",
        "",
        "## Verdict",
        "",
        *(
            ["- `--quick`: toy sizes, which test the script, not the question."]
            if args.quick
            else []
        ),
        *(f"- {verdict(p, cache, s)}" for p in plans.values()),
        *(f"- {recall_line(p, cache, s, probed)}" for p in plans.values()),
        *([f"- {at_scale}"] if at_scale else []),
        *(f"- The retrained front's layers at {T}: {mixer_shares(p)}." for T, p in plans.items()),
        *([] if plans else ["- No search has finished yet."]),
        "",
        "## How it was measured",
        "",
        f"**Search.** The `{s.preset}` preset at each context (its fidelity ladder, WSD at its "
        f"learning rate), strategy `{args.strategy}`, population {s.population}, "
        f"{s.generations} generations, widths {list(s.d_model or []) or 'as the preset'}; a "
        f"step holds {s.search_tokens:,} tokens at every context. **Long training.** "
        f"{s.tokens:,} tokens for every model, at least {s.step_tokens} a step in whole "
        f"sequences{NANOGPT_BUDGET if s.tokens == FULL.tokens else ''}, AdamW (0.9, 0.99), "
        "weight decay 0.1, clipping at 1.0, 5% linear warm-up and cosine decay to a tenth; "
        "80/10/10 train/validation/test split, the test split being nanoGPT's validation "
        f"split. **Learning rate.** Per model, an Optuna study of {s.lr_trials} trials on the "
        f"validation loss (first {', '.join(f'{x:g}' for x in s.lr_grid)}, then TPE in "
        f"[{s.lr_range[0]:g}, {s.lr_range[1]:g}]), then up to {s.lr_extra} more until the "
        f"rate best on validation is bracketed: a rate tried within ×{s.lr_factor:g} of it on "
        "each side (one that diverged counts), or the range's edge on that side; each extra "
        f"trial is the best rate ÷ or × {s.lr_factor:g}, clipped to the range. The test loss "
        "reported is that of the trial best on validation. **Ladder.** Transformers (table "
        "embedding, attention, FFN 4×, α 0) scaled in width and depth, from the last at or "
        "below the cheapest front member or seeds' design to the first at or above the "
        f"costliest, at least {s.min_ladder}. **Gap.** Test loss "
        "minus the ladder's at equal FLOPs, linear in log FLOPs between trained ladder sizes "
        "(none outside them). **Hypervolume** on the run's axes: test loss / ln 256 and log10 "
        "FLOPs per token, reference (1, 9). **Tokens per second**: the training loop's, on "
        "the device and threads above, with other trainings sharing the machine as the "
        "executor placed them. "
        f"**Seeds' designs** at d {s.design[0]}, "
        f"{plural(s.design[1], 'layer')}: `design_models` in the script maps each document's "
        "configuration onto this code's causal modules. **Recall, state, latency** "
        "(`frontier_recall.py`): recall is the accuracy of each model's architecture, trained "
        "from scratch on MQAR by `model.recall`'s probe "
        f"({probe_words(s)}), on held-out sequences of its context up to {s.recall_seq_len} "
        "tokens; the state is what it keeps between generated tokens for one sequence at full "
        "context (`model.state_bytes`, fp32, exact); the latency is one generated token at "
        "batch 1 and full context, one thread, the median of 15 passes (measured, so comparable "
        "only within this table: reports/latency.md).",
        "",
    ]
    for p in plans.values():
        lines += context_section(p, cache, s, probed)
    if len(plans) > 1:
        lines += across(plans, cache, s)
    lines += scale_lines
    if plans:
        header = ["source", "claim", "claimed", "measured here (causal models)"]
        lines += ["## The seeds' claims", "", table(header, claims(plans, cache)), ""]
    lines += [f"![test loss against FLOPs per token]({args.out.with_suffix('.png').name})", ""]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines))
    plot(args.out.with_suffix(".png"), plans, cache)
    print(f"wrote {args.out}", file=sys.stderr)


def placement(cache: dict[str, Record]) -> str:
    """Where the cached trainings ran, by device and threads (older entries did not say)."""
    where = Counter(
        f"{r['device']} with {plural(r['threads'], 'thread')}" if "device" in r else "not recorded"
        for r in cache.values()
    )
    return "; ".join(f"{k}: {n}" for k, n in where.most_common()) or "none yet"


def flops_tick(x: float, _: object) -> str:
    """A log axis's tick label at 1, 2 and 5 times a power of ten, in k or M; none between."""
    mantissa = x / 10 ** math.floor(math.log10(x))
    if min(abs(mantissa - m) for m in (1, 2, 5)) > 1e-6:
        return ""
    return f"{x / 1e3:g}k" if x < 1e6 else f"{x / 1e6:g}M"


def plot(path: Path, plans: dict[int, Plan], cache: dict[str, Record]) -> None:
    """Test loss against FLOPs per token, one panel per context, every point labelled."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter

    fig = Figure(figsize=(6.5 * max(1, len(plans)), 5), layout="constrained")
    for ax, p in zip(
        fig.subplots(1, max(1, len(plans)), squeeze=False)[0], plans.values(), strict=False
    ):
        for role, (name, style) in ROLES.items():
            done = sorted(
                (r for r in rows(p, cache, role) if r.loss is not None), key=lambda r: r.flops
            )
            x, y = [r.flops for r in done], [float(r.loss or 0) for r in done]
            if not done:
                continue
            if role == "ladder":
                ax.plot(x, y, color=style["color"], lw=1)
            if role == "front":  # the staircase through the members no cheaper one beats
                keep = [i for i in range(len(y)) if y[i] <= min(y[: i + 1])]
                ax.step(
                    [x[i] for i in keep],
                    [y[i] for i in keep],
                    where="post",
                    color=style["color"],
                    lw=1,
                )
            ax.scatter(x, y, label=name, zorder=3, **style)
            for r, xi, yi in zip(done, x, y, strict=True):
                ax.annotate(
                    r.job.model.name,
                    (xi, yi),
                    xytext=(4, 3),
                    textcoords="offset points",
                    fontsize=7,
                )
        ax.set_xscale("log")
        for axis_ticks in (ax.xaxis.set_major_formatter, ax.xaxis.set_minor_formatter):
            axis_ticks(FuncFormatter(flops_tick))
        ax.set_title(f"context {p.context}")
        ax.set_xlabel("forward FLOPs per token (log scale)")
        ax.set_ylabel("test loss (nats per byte)")
        ax.grid(True, which="both", alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
    fig.savefig(path, dpi=150)
