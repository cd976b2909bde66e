"""A run's report: `hrfevo report RUN [--out DIR]`, by default into reports/<run>/.

    pareto.png       perplexity against FLOPs per token, fronts by generation (hrfevo.plots)
    hypervolume.png  hypervolume per generation
    fidelity.png     with a fidelity ladder: Kendall τ between rungs per generation
    summary.md       config, evaluation counts, failures, the top of the front, the figures

A report is derived from the run directory alone, so re-running it refreshes the files in
place (each one replaced atomically); the run itself is only read.
"""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path

import pandas as pd
import yaml
from matplotlib.figure import Figure

from hrfevo.api import RunData
from hrfevo.errors import UsageError
from hrfevo.model_card import markdown_table
from hrfevo.plots import fidelity_figure, hypervolume_figure, pareto_figure
from hrfevo.selection import knee
from hrfevo.storage import atomic_replace, atomic_write_text

REPORTS = Path("reports")
TOP = 10  # front members listed in summary.md
DPI = 150
SETTINGS = ("preset", "data", "seed", "strategy", "population", "generations", "objectives")


def report(run: str | Path | RunData, out: str | Path | None = None) -> Path:
    """Write the report of `run` into `out` (default reports/<run name>/); returns `out`."""
    data = run if isinstance(run, RunData) else RunData(run)
    target = Path(out) if out is not None else REPORTS / data.name
    if target.exists() and not target.is_dir():
        raise UsageError(f"--out {target} exists and is not a directory")
    if not data.front_records:
        raise UsageError(f"{data.path} has no successful evaluations yet: nothing to report")
    target.mkdir(parents=True, exist_ok=True)
    _save(pareto_figure(data), target / "pareto.png")
    _save(hypervolume_figure(data), target / "hypervolume.png")
    if data.problem.rungs > 1:
        _save(fidelity_figure(data), target / "fidelity.png")
    atomic_write_text(target / "summary.md", summary(data))
    return target


def _save(fig: Figure, path: Path) -> None:
    atomic_replace(path, lambda tmp: fig.savefig(tmp, dpi=DPI, format=path.suffix[1:]))


def summary(run: RunData) -> str:
    """summary.md: the run at a glance, with the figures beside it."""
    parts = (
        _overview(run),
        _config(run),
        _evaluations(run),
        _failures(run),
        _front(run),
        _fidelity(run),
        "## Figures\n\n![Pareto front](pareto.png)\n\n![Hypervolume](hypervolume.png)"
        + ("\n\n![Fidelity](fidelity.png)" if run.problem.rungs > 1 else ""),
    )
    return "\n\n".join(parts) + "\n"


def _overview(run: RunData) -> str:
    done, target = run.view.generation, run.view.target
    state = "finished" if done >= target else "in progress"
    hosts = sorted({str(r.get("worker", {}).get("host")) for r in run.records})
    devices = sorted({str(d) for d in run.evaluations["device"].dropna()})
    return (
        f"# HRFEvo run `{run.name}`\n\n"
        f"`{run.path.resolve()}`, created {run.info.get('created', '?')}: generation "
        f"{done}/{target} ({state}). Evaluated on {', '.join(hosts)} "
        f"({', '.join(devices)}). Written by `hrfevo report` on {platform.node()} at "
        f"{time.strftime('%Y-%m-%d %H:%M')}; re-run it to refresh."
    )


def _config(run: RunData) -> str:
    cfg = run.config.to_dict()
    rows = [(k, f"`{json.dumps(cfg[k])}`") for k in SETTINGS]
    rows += [
        (
            "seeds",
            f"{len(run.info.get('seed_genomes', []))} genomes from "
            + (", ".join(cfg["seeds"]) or "none" if cfg["seeds"] is not None else "the default"),
        ),
        ("budget", f"`{json.dumps(cfg['budget'])}`"),
    ]
    return (
        "## Configuration\n\n"
        + markdown_table(("setting", "value"), rows)
        + "\n\n<details><summary>Full config (usable as <code>hrfevo run --config</code>)"
        + "</summary>\n\n```yaml\n"
        + yaml.safe_dump(cfg, default_flow_style=None, sort_keys=True, width=96)
        + "```\n\n</details>"
    )


def _evaluations(run: RunData) -> str:
    ev, hv = run.evaluations, run.hypervolume
    counts = ev["status"].value_counts()
    total = ", ".join(f"{n} {status}" for status, n in counts.items())
    new = hv["evaluations"].diff().fillna(hv["evaluations"]).astype(int)
    rows = [
        (int(g), n, int(f), int(s), f"{h:.4f}")
        for g, n, f, s, h in zip(
            hv["generation"], new, hv["failures"], hv["front_size"], hv["hypervolume"], strict=True
        )
    ]
    return f"## Evaluations\n\n{len(ev)} genomes evaluated: {total}.\n\n" + markdown_table(
        ("generation", "new evaluations", "failures so far", "front size", "hypervolume"),
        rows,
    )


def _fidelity(run: RunData) -> str:
    """With a ladder: how many genomes reached each rung, and how well the rungs agree."""
    ladder = run.config.ladder()
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
        + markdown_table(("rungs", "genomes", "Kendall τ", "Spearman"), rows)
    )


def _failures(run: RunData) -> str:
    failed = run.evaluations[run.evaluations["status"] != "ok"]
    if failed.empty:
        return "## Failures\n\nNone."
    rows = [
        (r.key, r.generation, r.status, str(r.error or "").replace("|", "\\|"))
        for r in failed.itertuples()
    ]
    return "## Failures\n\n" + markdown_table(("key", "generation", "status", "error"), rows)


def _front(run: RunData) -> str:
    front: pd.DataFrame = run.front().head(TOP)
    best = knee(run.front_records, run.problem)["key"]
    header = (
        *("key", "perplexity", "bits/byte", "FLOPs/token", "params", "d_model", "layers"),
        *("mixers", "embedding", "bases", "wavelet", "ffn×", "α", "heads"),
    )
    rows = [_front_row(r, best) for _, r in front.iterrows()]
    shown = f"the {len(front)} best" if len(run.front_records) > TOP else "all"
    return (
        f"## Final front\n\n{len(run.front_records)} members; {shown} by perplexity. "
        "★ marks the knee (`hrfevo export --select knee`), † a transformer baseline.\n\n"
        + markdown_table(header, rows)
    )


def _front_row(r: pd.Series, knee_key: str) -> tuple[object, ...]:
    mark = ("★" if r["key"] == knee_key else "") + ("†" if r["baseline"] else "")
    return (
        f"{r['key']} {mark}".strip(),
        f"{r['perplexity']:.2f}",
        f"{r['bits_per_byte']:.3f}",
        f"{r['flops_per_token']:,.0f}",
        f"{r['params']:,}",
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
