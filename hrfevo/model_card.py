"""README.md for an exported model, the Hub's model card: YAML metadata (library, license,
tags, corpus, test loss), then what the model is and is not for, how good it is against the
run's transformer baseline, what it writes, how it was chosen and where it came from."""

from __future__ import annotations

import json
import shlex
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from huggingface_hub import CardData, EvalResult, ModelCard, ModelCardData

from hrfevo.genome import Genome, describe, genes
from hrfevo.problem import Record
from hrfevo.reporting.markdown import code_block, plural, table
from hrfevo.versions import versions

if TYPE_CHECKING:
    from hrfevo.exporter import ExportPlan

NEIGHBOURS = 3  # front members shown on each side of the exported one, in FLOPs order
TEST_METRICS = (  # the card's model-index: metric type, metrics.json's key, its name
    ("loss", "test_loss", "test loss (nats per byte)"),
    ("perplexity", "test_perplexity", "test perplexity (per byte)"),
)


def model_card(plan: ExportPlan, metrics: dict[str, Any], library: CardData) -> ModelCard:
    """The card: `card_data`'s metadata, then the Markdown; `metrics` is what metrics.json
    holds, `library` the metadata SpectralLM's Hub mixin gives every model it saves."""
    sections = (
        _header(plan),
        _intended_use(plan, metrics),
        _metrics(metrics),
        _baseline(plan),
        _sample(plan, metrics),
        _architecture(plan),
        _selection(plan, metrics),
        _neighbours(plan),
        _provenance(plan),
    )
    text = "\n\n".join(sections) + "\n"
    return ModelCard(f"---\n{card_data(plan, metrics, library).to_yaml()}\n---\n\n{text}")


def card_data(plan: ExportPlan, m: dict[str, Any], library: CardData) -> ModelCardData:
    """The Hub's metadata: the library's (name, license, tags), the corpus, and the held-out
    test loss as a model-index result (none when the corpus has no test split)."""
    dataset = dataset_name(plan.run.config.data)
    data = ModelCardData(
        **library.to_dict() | {"datasets": [dataset], "model_name": f"hrfevo-{plan.record['key']}"}
    )
    if m.get("test_loss") is not None:
        data.eval_results = [
            EvalResult(
                task_type="text-generation",
                dataset_type=dataset,
                dataset_name=dataset,
                dataset_split="test",
                metric_type=kind,
                metric_value=m[key],
                metric_name=name,
            )
            for kind, key, name in TEST_METRICS
        ]
    return data


def dataset_name(spec: str) -> str:
    """A corpus as the Hub's `datasets` metadata names it: a Hub dataset's id (hf:NAME[:CONFIG]),
    "python-standard-library" for the builtin corpus, else the text file's name."""
    if spec.startswith("hf:"):
        return spec[3:].split(":")[0]
    return "python-standard-library" if spec == "builtin" else Path(spec).name


def _header(plan: ExportPlan) -> str:
    cfg, out = plan.model_cfg, plan.out
    return f"""# HRFEvo model {plan.record["key"]}

`{describe(plan.genome)}`: a causal spectral language model over UTF-8 bytes (vocabulary \
{cfg.vocab_size}, context {cfg.seq_len} tokens), found by HRFEvo's evolutionary search in \
run `{plan.run.name}`. It needs only the `model` package:

```python
from model import SpectralLM
model = SpectralLM.from_pretrained("{out}")  # or its Hub id, once pushed
```

or, from the shell, `hrfevo generate {out} --prompt "def " --max-new-tokens 200`."""


def _intended_use(plan: ExportPlan, m: dict[str, Any]) -> str:
    cfg = plan.model_cfg
    tested = m.get("test_loss") is not None
    ppl, split = (m["test_perplexity"], "test") if tested else (m["perplexity"], "validation")
    budget = "`--retrain-steps`" if plan.retrained else "the search's proxy budget"
    points = (
        f"**Byte tokens.** It reads and writes raw UTF-8 bytes (vocabulary {cfg.vocab_size}): any "
        "text and no tokenizer, but a byte is a fraction of a word. Its perplexity is *per "
        "byte*, so it cannot be set beside another model's perplexity per word or per subword "
        "token; bits per byte can.",
        f"**What its perplexity means.** A {split} perplexity of {ppl:.1f} means the model is, on "
        f"average, as unsure of the next byte as a uniform choice among {ppl:.1f} bytes would "
        f"be: {cfg.vocab_size} is blind guessing, 1 certainty.",
        f"**A proxy budget.** It trained for {m['steps_done']:,} steps ({m['train_tokens']:,} "
        f"tokens), {budget}: enough to rank architectures against each other (how faithfully, "
        "`hrfevo calibrate` measures), not to make a good language model. Every number here is "
        "a briefly trained model's, and a longer training may rank architectures differently.",
        f"**Its data and context.** It saw only the training split of `{plan.run.config.data}` "
        f"(see Provenance) and reads at most {cfg.seq_len} bytes of context.",
    )
    return (
        "## Intended use and limitations\n\nA research artefact: one point of a search for "
        "cheap causal spectral language models, for studying how harmonic embeddings and "
        "wavelet or Fourier token mixers trade perplexity against compute. It is not a "
        "general-purpose text generator, and it has had no instruction tuning or safety "
        "filtering.\n\n" + "\n".join(f"- {p}" for p in points)
    )


def _baseline(plan: ExportPlan) -> str:
    """The exported genome against the run's seeded transformer, as the search scored both."""
    title = "## Against the run's transformer baseline\n\n"
    ev = plan.run.evaluations
    keys = list(ev.loc[ev["baseline"] & ev["seeded"], "key"])
    if not keys:
        return title + (
            "The run was not seeded with the transformer baseline (`--seeds` named none, or it "
            "did not fit the search space), so there is none to compare with."
        )
    key, base = plan.record["key"], keys[0]
    if key == base:
        return title + "The exported model *is* the run's transformer baseline."
    by = {(r["key"], r.get("rung", 0)): r for r in plan.run.journal}
    rung = min(plan.record.get("rung", 0), max(g for k, g in by if k == base))
    mine, theirs = by[key, rung], by[base, rung]
    if theirs["status"] != "ok":
        return title + f"The baseline `{base}` {theirs['status']}: {theirs.get('error')}."
    steps = theirs["metrics"].get("steps_done", "?")
    lower = ""
    if rung < plan.record.get("rung", 0):
        lower = (
            f" The baseline stopped at rung {rung} of the fidelity ladder, so both are compared "
            f"there: this model's numbers above come from its longer training."
        )
    return (
        title
        + f"Both as the search scored them: trained for {steps} steps with the same budget and "
        f"seed, on the validation split (the baseline has no test score).{lower}\n\n"
        + table(("", "this model", f"transformer `{base}`", "ratio"), _versus(mine, theirs))
        + "\n\nRatio: this model's value over the baseline's; lower is better for each."
    )


COMPARED = (  # journal metric, its name in the card, its format
    ("perplexity", "perplexity (validation)", ".2f"),
    ("bits_per_byte", "bits per byte", ".3f"),
    ("flops_per_token", "forward FLOPs per token", ",.0f"),
    ("params", "parameters", ",.0f"),
)


def _versus(mine: Record, theirs: Record) -> list[tuple[Any, ...]]:
    rows = []
    for name, label, fmt in COMPARED:
        a, b = mine["metrics"][name], theirs["metrics"][name]
        rows.append((label, f"{a:{fmt}}", f"{b:{fmt}}", f"{a / b:.2f}"))
    return rows


def printable(text: str) -> str:
    """`text` with control characters other than newline and tab shown as U+FFFD."""
    return "".join(c if c.isprintable() or c in "\n\t" else "\ufffd" for c in text)


def _sample(plan: ExportPlan, m: dict[str, Any]) -> str:
    s = m["sample"]
    settings = (
        f"--max-new-tokens {s['max_new_tokens']} --temperature {s['temperature']:g} "
        f"--top-k {s['top_k']} --seed {s['seed']}"
    )
    return (
        "## A sample\n\nNot chosen or edited: the prompt is the start of the first line of the "
        f"held-out text, and {plural(s['max_new_tokens'], 'byte')} were sampled after it on the "
        f"CPU ({settings}). Run `hrfevo generate {shlex.quote(str(plan.out))} --prompt "
        f"{shlex.quote(s['prompt'])} {settings}` to see it again. A model trained this briefly "
        "writes bytes that are often not valid UTF-8; they show as �, as do control "
        "characters.\n\n" + code_block(printable(s["text"]), "text")
    )


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
        + table(("metric", "value"), rows)
        + "\n\nFLOPs per token by component (analytic, forward, at the full context):\n\n"
        + table(("component", "FLOPs"), parts)
    )


def _architecture(plan: ExportPlan) -> str:
    rows = [(k, "" if v is None else v) for k, v in genes(plan.genome).items()]
    return (
        "## Architecture\n\n"
        + table(("gene", "value"), rows)
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
        f"## How it was selected\n\n`--select {plan.choice}`: {plan.choice.explain()}. "
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
        + table(("", "key", "perplexity", "FLOPs/token", "params", "genes"), rows)
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
        + table(("", ""), rows)
        + "\n\nLibrary versions:\n\n"
        + table(("library", "search", "export"), libs)
    )
