"""MODEL_CARD.md for an exported model: what it is, how good, how chosen, where it came from."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

from hrfevo.api import Record, genes
from hrfevo.genome import Genome, describe
from hrfevo.run import versions

if TYPE_CHECKING:
    from hrfevo.exporter import ExportPlan

NEIGHBOURS = 3  # front members shown on each side of the exported one, in FLOPs order


def model_card(plan: ExportPlan, metrics: dict[str, Any]) -> str:
    """The card's Markdown; `metrics` is what metrics.json holds."""
    sections = (
        _header(plan),
        _metrics(metrics),
        _architecture(plan),
        _selection(plan, metrics),
        _neighbours(plan),
        _provenance(plan),
    )
    return "\n\n".join(sections) + "\n"


def markdown_table(header: tuple[str, ...], rows: list[tuple[Any, ...]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(str(c) for c in row) + " |" for row in rows])


def _header(plan: ExportPlan) -> str:
    cfg, out = plan.model_cfg, plan.out
    return f"""# HRFEvo model {plan.record["key"]}

`{describe(plan.genome)}`: a causal spectral language model over UTF-8 bytes (vocabulary \
{cfg.vocab_size}, context {cfg.seq_len} tokens), found by HRFEvo's evolutionary search in \
run `{plan.run.name}`. It needs only the `model` package:

```python
from model import SpectralLM
model = SpectralLM.from_pretrained("{out}")
```

or, from the shell, `hrfevo generate {out} --prompt "def " --max-new-tokens 200`."""


def _metrics(m: dict[str, Any]) -> str:
    test = m.get("test_loss")
    rows = [
        (
            "test loss (held out)",
            f"{test:.4f} nats per byte" if test is not None else "no test split",
        ),
        ("test perplexity", f"{m['test_perplexity']:.2f}" if test is not None else "-"),
        ("validation loss (selected on)", f"{m['val_loss']:.4f} nats per byte"),
        ("perplexity", f"{m['perplexity']:.2f}"),
        ("bits per byte", f"{m['bits_per_byte']:.4f}"),
        ("forward FLOPs per token", f"{m['flops_per_token']:,.0f}"),
        ("parameters", f"{m['params']:,}"),
        ("training", f"{m['steps_done']} steps, {m['train_tokens']:,} tokens on {m['device']}"),
        ("search evaluated it on", m.get("run_device", "?")),
    ]
    parts = [(name, f"{v:,.0f}") for name, v in m["flops_breakdown"].items()]
    return (
        "## Metrics\n\nThe search chose this genome by its validation loss, so quote the test "
        "loss: the test split was held out from the search and scored only here.\n\n"
        + markdown_table(("metric", "value"), rows)
        + "\n\nFLOPs per token by component (analytic, forward, at the full context):\n\n"
        + markdown_table(("component", "FLOPs"), parts)
    )


def _architecture(plan: ExportPlan) -> str:
    rows = [(k, "" if v is None else v) for k, v in genes(plan.genome).items()]
    return (
        "## Architecture\n\n"
        + markdown_table(("gene", "value"), rows)
        + "\n\nThe full genome (basis functions included) is in `genome.json`; "
        "`hrfevo run --seeds genome.json` starts a search from it."
    )


def _selection(plan: ExportPlan, m: dict[str, Any]) -> str:
    key, journal = plan.record["key"], m["journal"]
    if plan.retrained:
        how = (
            f"Trained from scratch for {m['steps_done']} steps (`--retrain-steps`), with the "
            f"proxy run's other settings; the search's proxy run reached val_loss "
            f"{journal['val_loss']:.4f} in {journal['steps_done']} steps."
        )
    else:
        verdict = (
            "the proxy run was reproduced"
            if m["matches_journal"]
            else "NOT reproduced: the gap exceeds 0.5% (another machine, device or library?)"
        )
        how = (
            "Evaluations keep no weights, so export re-ran the proxy training with the run's "
            f"budget and seed on {m['device']} (the search ran it on {m.get('run_device', '?')}). "
            f"Journal val_loss {journal['val_loss']:.6f}, export {m['val_loss']:.6f} "
            f"(relative gap {m['journal_val_loss_gap']:.2e}): {verdict}."
        )
    return (
        f"## How it was selected\n\n`--select {plan.selection}`: {plan.selection.explain()}. "
        f"Genome {key}, evaluated in generation {plan.record['generation']}.\n\n{how}"
    )


def _neighbours(plan: ExportPlan) -> str:
    front = sorted(plan.run.front_records, key=lambda r: r["metrics"]["flops_per_token"])
    key = plan.record["key"]
    on_front = any(r["key"] == key for r in front)
    shown = front if on_front else [*front, plan.record]
    shown.sort(key=lambda r: (r["metrics"]["flops_per_token"], r["key"]))
    i = next(i for i, r in enumerate(shown) if r["key"] == key)
    rows = [_row(r, r["key"] == key) for r in shown[max(0, i - NEIGHBOURS) : i + NEIGHBOURS + 1]]
    note = "" if on_front else " It is not on the front; it is shown where its FLOPs put it."
    return (
        f"## Neighbours on the final front\n\nThe front has {len(front)} members; up to "
        f"{NEIGHBOURS} on each side in FLOPs order.{note}\n\n"
        + markdown_table(("", "key", "perplexity", "FLOPs/token", "params", "genes"), rows)
    )


def _row(r: Record, chosen: bool) -> tuple[Any, ...]:
    m = r["metrics"]
    return (
        "**exported**" if chosen else "",
        r["key"],
        f"{m['perplexity']:.2f}",
        f"{m['flops_per_token']:,.0f}",
        f"{m['params']:,}",
        f"`{describe(Genome.from_dict(r['candidate']))}`",
    )


def split_text(split: dict[str, Any]) -> str:
    """One line: how the corpus was split, and the size of each split."""
    how = (
        "by whole files (a hash of each path)"
        if split.get("method") == "files"
        else "in contiguous blocks, in order"
    )
    sizes = ", ".join(
        f"{part} {split[f'{part}_tokens']:,}"
        + (f" ({split['files'][part]} files)" if "files" in split else "")
        for part in ("train", "val", "test")
    )
    return f"{how}: {sizes} bytes"


def _provenance(plan: ExportPlan) -> str:
    info, cfg, split = plan.run.info, plan.run.config, plan.run.info["data"]["split"]
    rows = [
        ("run", f"`{plan.run.path.resolve()}` (created {info.get('created', '?')})"),
        ("search", f"{cfg.strategy}, population {cfg.population}, {cfg.generations} generations"),
        ("evaluations", f"{len(plan.run.records)} in the journal"),
        ("seed", cfg.seed),
        ("data", f"`{cfg.data}`, sha256 {split['sha256'][:16]}…"),
        ("split", split_text(split)),
        ("training budget", f"`{json.dumps(plan.train_cfg.to_dict())}`"),
        ("exported", time.strftime("%Y-%m-%dT%H:%M:%S%z")),
    ]
    run_versions, now = info.get("versions", {}), versions()
    libs = [(k, run_versions.get(k, "?"), now.get(k, "?")) for k in sorted(now)]
    return (
        "## Provenance\n\n"
        + markdown_table(("", ""), rows)
        + "\n\nLibrary versions:\n\n"
        + markdown_table(("library", "search", "export"), libs)
    )
