"""summary.md of one run's report (`hrfevo.reporting.reporter.report`): the run at a glance.

Overview, configuration, evaluations per generation, failures, the final front (each key's
short prefix in bold, as pareto.png labels the points), with a ladder the provisional fronts
of the rungs below (apart, labelled), the fidelity ladder, the figures.
"""

from __future__ import annotations

import json
import platform
import time

import pandas as pd
import yaml

from hrfevo.api import RunData
from hrfevo.choice import knee
from hrfevo.reporting.markdown import figure, plural, table
from hrfevo.reporting.plots import short_keys
from model import describe_bytes

TOP = 10  # front members listed
FEW_FAILURES = 5  # more are also counted by error
SETTINGS = ("preset", "data", "seed", "strategy", "population", "generations", "objectives")
CAPTIONS = {
    "pareto": "Pareto front",
    "hypervolume": "Hypervolume",
    "fidelity": "Fidelity",
    "objectives": "Every pair of objectives",
}


def summary(run: RunData, figures: list[str], fmt: str = "png") -> str:
    """The Markdown; `figures` names the figures written beside it (pareto, hypervolume, ...)."""
    parts = (
        _overview(run),
        _config(run),
        _evaluations(run),
        _failures(run),
        _front(run),
        _provisional(run),
        _fidelity(run),
        _figures(figures, fmt),
    )
    return "\n\n".join(p for p in parts if p) + "\n"


def _overview(run: RunData) -> str:
    done, target = run.view.generation, run.view.target
    state = "finished" if done >= target else "in progress"
    hosts = sorted({str(r.get("worker", {}).get("host")) for r in run.records})
    devices = sorted({str(d) for d in run.evaluations["device"].dropna()})
    return (
        f"# HRFEvo run `{run.name}`\n\n"
        f"`{run.path.resolve()}`, created {run.info.get('created', '?')}: generation "
        f"{done}/{target} ({state}). Evaluated on {', '.join(hosts)} "
        f"({', '.join(devices) or 'no device recorded'}). Written by `hrfevo report` on "
        f"{platform.node()} at {time.strftime('%Y-%m-%d %H:%M')}; re-run it to refresh."
    )


def _config(run: RunData) -> str:
    cfg = run.config.to_dict()
    n = len(run.info.get("seed_genomes", []))
    if cfg["seeds"] is None:
        source = "the default (the transformer baseline, where it fits the space)"
    else:
        source = ", ".join(cfg["seeds"]) or "none"
    rows = [(k, f"`{json.dumps(cfg[k])}`") for k in SETTINGS]
    rows += [
        ("seeds", f"{plural(n, 'genome')} from {source}"),
        ("budget", f"`{json.dumps(cfg['budget'])}`"),
    ]
    return (
        "## Configuration\n\n"
        + table(("setting", "value"), rows)
        + "\n\n<details><summary>Full config (usable as <code>hrfevo run --config</code>)"
        + "</summary>\n\n```yaml\n"
        + yaml.safe_dump(cfg, default_flow_style=None, sort_keys=True, width=96)
        + "```\n\n</details>"
    )


def _evaluations(run: RunData) -> str:
    ev, hv = run.evaluations, run.hypervolume
    counts = ev["status"].value_counts()
    total = ", ".join(f"{n} {status}" for status, n in counts.items())
    promoted = len(run.journal) - len(run.records)
    extra = f" (and {plural(promoted, 'promotion')} up the ladder)" if promoted else ""
    new = hv["evaluations"].diff().fillna(hv["evaluations"]).astype(int)
    rows = [
        (int(g), n, int(f), int(s), f"{h:.4f}")
        for g, n, f, s, h in zip(
            hv["generation"], new, hv["failures"], hv["front_size"], hv["hypervolume"], strict=True
        )
    ]
    return f"## Evaluations\n\n{plural(len(ev), 'genome')} evaluated{extra}: {total}.\n\n" + table(
        ("generation", "new evaluations", "failures so far", "front size", "hypervolume"),
        rows,
    )


def _fidelity(run: RunData) -> str:
    """With a ladder: how many genomes reached each rung, and how well the rungs agree."""
    ladder = run.config.fidelity
    if ladder is None or run.fidelity.empty:
        return "## Fidelity\n\nOne fidelity: every genome trained for the budget's steps."
    reached = [sum(r.get("rung", 0) >= n for r in run.records) for n in range(len(ladder.rungs))]
    last = run.fidelity[run.fidelity["generation"] == run.fidelity["generation"].max()]
    rows = [
        (f"{r.rung_from} → {r.rung_to}", r.n, f"{r.kendall_tau:.2f}", f"{r.spearman:.2f}")
        for r in last.itertuples()
    ]
    steps = ", ".join(f"{s}" for s in ladder.rungs)
    return (
        f"## Fidelity\n\nLadder of {steps} steps, promoting {ladder.promote:.0%} of each rung; "
        f"genomes reaching each rung: {' / '.join(map(str, reached))}. Rank agreement of "
        "perplexity between rungs, over every genome evaluated at both:\n\n"
        + table(("rungs", "genomes", "Kendall τ", "Spearman"), rows)
    )


def _failures(run: RunData) -> str:
    failed = run.evaluations[run.evaluations["status"] != "ok"]
    if failed.empty:
        return "## Failures\n\nNone."
    rows = [(r.key, r.generation, r.status, str(r.error or "")) for r in failed.itertuples()]
    listing = table(("key", "generation", "status", "error"), rows)
    if len(failed) <= FEW_FAILURES:
        return "## Failures\n\n" + listing
    errors = failed.assign(error=failed["error"].fillna("").astype(str))
    common = errors.groupby(["status", "error"]).size().sort_values(ascending=False, kind="stable")
    counts = table(("status", "error", "genomes"), common.reset_index().to_numpy().tolist())
    return (
        f"## Failures\n\n{plural(len(failed), 'genome')} failed. By error, the most common "
        f"first:\n\n{counts}\n\n<details><summary>Every failure</summary>\n\n{listing}\n\n"
        "</details>"
    )


HEADER = (
    *("key", "perplexity", "bits/byte", "FLOPs/token", "params", "state", "d_model", "layers"),
    *("mixers", "embedding", "bases", "wavelet", "ffn×", "α", "heads"),
)
RECALL = "recall"  # a column where the run probes: MQAR accuracy (`model.recall`)


def _header(probed: bool) -> tuple[str, ...]:
    """HEADER, with the recall column after the state's where the run probes."""
    if not probed:
        return HEADER
    at = HEADER.index("state") + 1
    return (*HEADER[:at], RECALL, *HEADER[at:])


def _probed(run: RunData) -> bool:
    return bool(run.evaluations["recall_error"].notna().any())


def _front(run: RunData) -> str:
    ladder = run.config.fidelity
    if not run.front_records:
        if ladder and run.provisional[0]:
            return (
                f"## Final front\n\nEmpty: no genome has been trained to the top rung (rung "
                f"{ladder.top}, {ladder.rungs[-1]} steps) yet, so no result is confirmed. The "
                "provisional fronts below come from shorter training."
            )
        return (
            "## Final front\n\nNo evaluation has succeeded, so there is no front yet and no "
            "figures; the failures above say why."
        )
    front: pd.DataFrame = run.front().head(TOP)
    best = knee(run.front_records, run.problem)["key"]
    short = short_keys(run.evaluations["key"])
    probed = _probed(run)
    rows = [_front_row(r, best, short[r["key"]], probed) for _, r in front.iterrows()]
    n = len(run.front_records)
    shown = (
        f"the {TOP} with the lowest perplexity are listed" if n > TOP else "listed by perplexity"
    )
    where = f", each confirmed at the top rung ({ladder.rungs[-1]} steps)" if ladder else ""
    return (
        f"## Final front\n\n{plural(n, 'member')}{where}, {shown}. The bold start of each key "
        "labels its point in the Pareto figure. ★ marks the knee (what `hrfevo export "
        "--select knee` picks), † the seeded transformer baseline."
        + (" Recall is the MQAR probe's accuracy." if probed else "")
        + "\n\n"
        + table(_header(probed), rows)
    )


def _provisional(run: RunData) -> str:
    """One table per rung below the top, highest first, with that rung's metrics."""
    ladder = run.config.fidelity
    if ladder is None:
        return ""
    short, probed = short_keys(run.evaluations["key"]), _probed(run)
    parts = [
        "## Provisional fronts\n\nThe front of each rung below the top, from its shorter "
        "training: not comparable with the final front, and never part of it or of its "
        "hypervolume. A genome may sit on several."
        + (
            f" Rung 0 ranks by its forecast of rung {ladder.top}'s loss from two reads "
            f"({ladder.forecast_from} and {ladder.rungs[0]} steps), so its front is chosen by "
            "the forecast; the table gives what was measured."
            if ladder.forecast_from
            else ""
        )
    ]
    for rung in reversed(range(ladder.top)):
        members = run.provisional_front(rung).head(TOP)
        rows = [_front_row(r, "", short[r["key"]], probed) for _, r in members.iterrows()]
        title = f"### Rung {rung} ({ladder.rungs[rung]} steps): "
        n = len(run.provisional[rung])
        body = "\n\n" + table(_header(probed), rows) if n else ""
        parts.append(title + plural(n, "member") + body)
    return "\n\n".join(parts)


def _front_row(r: pd.Series, knee_key: str, short: str, probed: bool) -> tuple[object, ...]:
    key = r["key"]
    mark = ("★" if key == knee_key else "") + ("†" if r["baseline"] and r["seeded"] else "")
    recall = ("" if pd.isna(r["recall_error"]) else f"{1 - r['recall_error']:.3f}",)
    return (
        f"**{short}**{key[len(short) :]} {mark}".strip(),
        f"{r['perplexity']:.2f}",
        f"{r['bits_per_byte']:.3f}",
        f"{r['flops_per_token']:,.0f}",
        f"{r['params']:,}",
        "" if pd.isna(r["state_bytes"]) else describe_bytes(r["state_bytes"]),  # older runs: none
        *(recall if probed else ()),
        r["d_model"],
        r["n_layers"],
        r["mixers"],
        r["embedding"],
        r["n_bases"],
        "" if pd.isna(r["wavelet"]) else r["wavelet"],
        f"{r['ffn_mult']:g}",
        f"{r['spectral_share']:g}",
        "" if pd.isna(r["n_heads"]) else int(r["n_heads"]),
    )


def _figures(names: list[str], fmt: str) -> str:
    if not names:
        return "## Figures\n\nNone: no evaluation has succeeded."
    return "## Figures\n\n" + "\n\n".join(figure(CAPTIONS[n], f"{n}.{fmt}") for n in names)
