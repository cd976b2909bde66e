"""The frontier report's Scale section (`frontier_scale`): each selected model's gap in the study
and at every scale point side by side, with the seed spread; the rank correlations of the gaps
and of the test losses between the scales; which verdicts held, flipped or fell into noise; and
what each stage cost, with what larger factors would cost."""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable
from dataclasses import dataclass

from benchmarks.frontier_measure import Contest, Judgement, Row, judged, measured, num
from benchmarks.frontier_plan import Job, Plan, Record, Settings
from benchmarks.frontier_scale import Judged, Point, Scale, ScalePlan, scale_plan, selection
from benchmarks.frontier_train import other_seeds
from hrfevo.api import load_run
from hrfevo.errors import UsageError
from hrfevo.fidelity import kendall_tau, spearman
from hrfevo.reporting.markdown import plural, table
from hrfevo.stop import cpu_seconds
from model import ModelConfig, describe_bytes, state_bytes

LARGER = (4, 8)  # the factors (width and tokens alike) whose cost the section estimates


@dataclass(frozen=True)
class Outcome:
    """One selected contest at one scale point: its judgement there (None: outside the widened
    ladder), and the test losses of its models, each the mean over its seeds."""

    point: Point
    judgement: Judgement | None
    ladder: str  # the widened transformers either side
    configs: tuple[ModelConfig, ...]  # the model's, in the study and here (none: no contest)
    losses: dict[str, tuple[float | None, float | None]]  # model: (in the study, scaled)


def outcomes(sp: ScalePlan, cache: dict[str, Record], s: Settings, seeds: int) -> list[Outcome]:
    """Each contest of `sp`, in the selection's order."""
    out = []
    for _, trio in sp.contests:
        if trio is None:
            out.append(Outcome(sp.point, None, "—", (), {}))
            continue
        big = Contest(*(measured(m.job, cache) for m in trio))
        small = [measured(m.origin, cache) for m in trio]
        losses = {
            m.job.model.name: (mean_loss(a, cache, s.seeds), mean_loss(b, cache, seeds))
            for m, a, b in zip(trio, small, (big.member, big.below, big.above), strict=True)
        }
        ladder = f"{big.below.job.model.name} – {big.above.job.model.name}"
        configs = tuple(
            ModelConfig.from_dict(j.model.config) for j in (trio[0].origin, trio[0].job)
        )
        out.append(Outcome(sp.point, judged(big, cache, seeds), ladder, configs, losses))
    return out


def mean_loss(r: Row, cache: dict[str, Record], seeds: int) -> float | None:
    """The mean test loss over the seeds of `r`'s model trained so far."""
    done = [x for seed in range(seeds) if (x := r.seeded(cache, seed)) is not None]
    return statistics.fmean(done) if done else None


def transfer(small: Judgement, big: Judgement | None) -> str:
    """What became of a verdict of the study at a scale point."""
    if big is None:
        return "outside the widened ladder"
    if big.mean is None or small.mean is None:
        return "not trained yet"
    side = "the model" if big.mean < 0 else "the ladder"
    if small.beyond and big.beyond:
        return "held" if (small.mean < 0) == (big.mean < 0) else f"flipped ({side} ahead)"
    if small.beyond:
        return "fell into noise"
    return f"rose out of noise ({side} ahead)" if big.beyond else "stayed in noise"


def gap_cell(j: Judgement | None, words: str) -> str:
    if j is None or j.mean is None:
        return words
    return f"{j.mean:+.4f} ({num(j.spread)}), {words}"


def axes(small: Judgement, by: dict[Point, Outcome], scale: Scale) -> str:
    """What training did (the study's widths at the scale point's tokens, against the study)
    and what width did (the scale point against the study's widths at its tokens)."""
    narrow = Point(1, scale.tokens)
    base = small.mean if scale.tokens == 1 else mean_of(by.get(narrow))
    wide = mean_of(by.get(scale.point)) if scale.width > 1 else None
    parts = []
    if scale.tokens > 1 and base is not None and small.mean is not None:
        parts.append(f"tokens {base - small.mean:+.4f}")
    if wide is not None and base is not None:
        parts.append(f"width {wide - base:+.4f}")
    return ", ".join(parts) or "—"


def mean_of(o: Outcome | None) -> float | None:
    return None if o is None or o.judgement is None else o.judgement.mean


def correlation(pairs: Iterable[tuple[float | None, float | None]]) -> list[str]:
    """The number of pairs with both values, Kendall's τ and Spearman's ρ between them."""
    both = [(a, b) for a, b in pairs if a is not None and b is not None]
    xs, ys = [a for a, _ in both], [b for _, b in both]
    return [str(len(both)), rank(kendall_tau(xs, ys)), rank(spearman(xs, ys))]


def rank(x: float) -> str:
    return "—" if math.isnan(x) else f"{x:+.2f}"


def scale_report(
    plans: dict[int, Plan], cache: dict[str, Record], s: Settings, scale: Scale, cores: int
) -> tuple[str | None, list[str]]:
    """The Verdict's line and the Scale section; (None, []) before a scaled training is done."""
    chosen: dict[int, list[Judged]] = {}
    for T, p in plans.items():
        try:
            chosen[T] = selection(p, cache, s)
        except UsageError:  # the study is not complete there: nothing chosen yet
            continue
    points = sorted(scale.points, key=lambda pt: (pt.width, pt.tokens))
    sps = [scale_plan(plans[T], chosen[T], pt, cache, s) for T in chosen for pt in points]
    if not any(k in cache for sp in sps for j in sp.jobs for k in j.cache_keys()):
        return None, []
    results = {(sp.context, sp.point): outcomes(sp, cache, s, scale.seeds) for sp in sps}
    lines = ["## Scale", "", method(s, scale), ""]
    for T, picked in chosen.items():
        lines += context_table(T, picked, points, results, scale, s)
    lines += transfers(chosen, points, results)
    lines += correlations(chosen, points, results)
    lines += cost(plans, sps, cache, s, scale, cores)
    main = [
        (f"{c.member.job.model.name} at {T}", transfer(j, o.judgement))
        for T, picked in chosen.items()
        for (c, j), o in zip(picked, results[T, scale.point], strict=True)
    ]
    held = sum(w == "held" for _, w in main)
    beyond = sum(j.beyond for picked in chosen.values() for _, j in picked)
    line = (
        f"At {scale.point} (see Scale): {held} of the {plural(beyond, 'verdict')} beyond seed "
        f"noise held; " + "; ".join(f"{name}: {w}" for name, w in main) + "."
    )
    return line, lines


def method(s: Settings, scale: Scale) -> str:
    return (
        "The contests the study judged (every front member beyond seed noise, the one within "
        "noise with the lowest mean gap, and the seeds' designs), each at every scale point: "
        f"the models widened (d_model and heads × the width factor: depth, mixers, FFN "
        "multiple, spectral genes and basis functions kept), the transformers either side of "
        "each in FLOPs taken from the ladder's chain widened the same way, all trained on the "
        "study's tokens × the token factor. Every model's learning rate is tuned again on "
        f"validation until bracketed (×{s.lr_factor:g} either side, or the range's edge), "
        "starting from the rate it chose in the study; then each trains with seeds 0 to "
        f"{scale.seeds - 1} at its rate. A cell holds the mean gap over the seeds, (the seed "
        "spread), and what became of the study's verdict: held (beyond noise, same side), "
        "flipped (beyond noise, the other side), fell into noise, rose out of noise, or stayed "
        "in noise. The inference state is what the model keeps between generated tokens "
        "for one sequence at full context (`model.state_bytes`), in the study and widened. "
        "The last column splits the change at "
        f"×{scale.tokens} tokens: what training did (the study's widths there, minus the "
        f"study) and what width did (×{scale.width} width minus the study's widths)."
    )


def context_table(
    T: int,
    picked: list[Judged],
    points: list[Point],
    results: dict[tuple[int, Point], list[Outcome]],
    scale: Scale,
    s: Settings,
) -> list[str]:
    cells = []
    for i, (c, j) in enumerate(picked):
        by = {pt: results[T, pt][i] for pt in points}
        cells.append(
            [
                f"**{c.member.job.model.name}**",
                f"{c.below.job.model.name} – {c.above.job.model.name}",
                by[scale.point].ladder,
                " → ".join(describe_bytes(state_bytes(c)) for c in by[scale.point].configs) or "—",
                gap_cell(j, "beyond noise" if j.beyond else "within noise"),
                *(gap_cell(by[pt].judgement, transfer(j, by[pt].judgement)) for pt in points),
                axes(j, by, scale),
            ]
        )
    header = [
        "model",
        "study's ladder",
        f"ladder at {scale.point}",
        f"inference state, study → {scale.point}",
        f"gap, study ({s.seeds} seeds)",
        *(f"gap, {pt} ({scale.seeds} seeds)" for pt in points),
        "change: tokens, width",
    ]
    return [f"### Context {T}", "", table(header, cells), ""]


def transfers(
    chosen: dict[int, list[Judged]],
    points: list[Point],
    results: dict[tuple[int, Point], list[Outcome]],
) -> list[str]:
    """Each point's verdicts by what became of them."""
    lines = []
    for pt in points:
        groups: dict[str, list[str]] = {}
        for T, picked in chosen.items():
            for (c, j), o in zip(picked, results[T, pt], strict=True):
                word = transfer(j, o.judgement).split(" (")[0]
                groups.setdefault(word, []).append(f"{c.member.job.model.name} at {T}")
        said = "; ".join(f"{w}: {', '.join(names)}" for w, names in groups.items())
        lines.append(f"- At {pt}, the study's verdicts: {said}.")
    return ["What became of the verdicts:", "", *lines, ""]


def correlations(
    chosen: dict[int, list[Judged]],
    points: list[Point],
    results: dict[tuple[int, Point], list[Outcome]],
) -> list[str]:
    """Kendall's τ and Spearman's ρ between the study and each point: of the selected
    contests' mean gaps, and of the test losses of every model they train, context by context
    and all together."""
    groups = [(str(T), [T]) for T in chosen] + ([("all", list(chosen))] if len(chosen) > 1 else [])
    cells = []
    for pt in points:
        for where, Ts in groups:
            gaps = [
                (j.mean, mean_of(o))
                for T in Ts
                for (_, j), o in zip(chosen[T], results[T, pt], strict=True)
            ]
            losses = {(T, m): x for T in Ts for o in results[T, pt] for m, x in o.losses.items()}
            cells.append([str(pt), where, *correlation(gaps), *correlation(losses.values())])
    header = ["scale point", "context", "contests", "τ of gaps", "ρ of gaps"]
    header += ["models", "τ of test losses", "ρ of test losses"]
    return [
        "Rank correlation with the study (test losses: each model against the model it was "
        "widened from, each the mean over its seeds):",
        "",
        table(header, cells),
        "",
    ]


def keys(jobs: list[Job], cache: dict[str, Record], seeds: int) -> set[str]:
    """The cache keys of `jobs`' trainings: their studies and their other seeds."""
    studied = {k for j in jobs for k in j.cache_keys()}
    return studied | {j.key() for j in other_seeds(jobs, cache, seeds)}


def cost(
    plans: dict[int, Plan],
    sps: list[ScalePlan],
    cache: dict[str, Record],
    s: Settings,
    scale: Scale,
    cores: int,
) -> list[str]:
    """CPU-hours by stage, and what `LARGER` factors would take, from the scale point's."""

    def hours(ks: set[str]) -> float:
        return sum(cache[k]["seconds"] for k in ks if k in cache) / 3600

    study = keys([j for p in plans.values() for j in p.jobs], cache, s.seeds)
    by_point = {
        pt: keys([j for sp in sps if sp.point == pt for j in sp.jobs], cache, scale.seeds)
        for pt in dict.fromkeys(sp.point for sp in sps)
    }
    other = set(cache) - study - set().union(*by_point.values())
    searches = ", ".join(
        f"at {T} {cpu_seconds(load_run(p.run_dir).journal) / 3600:.2f}" for T, p in plans.items()
    )
    stages = [f"searches {searches}", f"the study's trainings {hours(study):.2f}"]
    stages += [f"{pt} {hours(ks):.2f}" for pt, ks in by_point.items()]
    stages += [f"other cached trainings (earlier fronts) {hours(other):.2f}"] if other else []
    return [
        f"**Cost.** CPU-hours, each training's own seconds on its one thread (the searches': "
        f"their journals'): {'; '.join(stages)}.",
        "",
        larger(by_point.get(scale.point, set()), cache, scale, cores),
        "",
    ]


def larger(done: set[str], cache: dict[str, Record], scale: Scale, cores: int) -> str:
    """What `LARGER` factors would take: the scale point's seconds × the FLOPs and tokens the
    factor adds, FLOPs per token growing as the width squared."""
    ran = [cache[k] for k in done if k in cache]
    if not ran:
        return f"**Larger.** Not estimated until the {scale.point} point has trainings."
    seconds = sum(r["seconds"] for r in ran)
    speed = statistics.median(r["tokens_per_second"] for r in ran)
    gpu = all(r.get("device", "cpu").startswith("cuda") for r in ran)
    unit, at_once = ("GPU-hours", 1) if gpu else ("CPU-hours", cores)
    guesses = []
    for f in LARGER:
        h = seconds * (f / scale.width) ** 2 * (f / scale.tokens) / 3600
        guesses.append(f"about {h:,.1f} {unit} ({h / at_once:,.1f} hours) at ×{f} width and tokens")
    where = "on the GPU they ran on" if gpu else f"on this machine's {plural(cores, 'core')}, "
    where += "" if gpu else "one training a core; on one GPU: not measured (none ran on one)"
    return (
        f"**Larger.** From the {scale.point} point's {seconds / 3600:.2f} {unit} so far "
        f"({plural(len(ran), 'training')}, a median {speed:,.0f} tokens/s each), assuming a "
        "training's time grows with its FLOPs per token times its tokens, and FLOPs per token "
        "as the width squared (the projections' and the FFN's; the embedding's and attention "
        "scores' grow as the width, and wider matrices run faster per FLOP, so this leans "
        f"high), the same models would take {'; '.join(guesses)}, {where}."
    )
