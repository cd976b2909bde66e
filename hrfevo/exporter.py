"""Export one genome of a run as a standalone model directory: `hrfevo export`.

    DIR/config.json, model.safetensors   SpectralLM.from_pretrained(DIR) loads them
    DIR/genome.json                      the genome (usable as a `hrfevo run --seeds` file)
    DIR/metrics.json                     validation and test loss, perplexity, FLOPs, params
    DIR/README.md                        the model card: Hub metadata (library, license, tags,
                                         corpus, test loss), intended use and limitations, a
                                         sample, the run's transformer baseline, selection and
                                         provenance

DIR is a Hugging Face Hub model repository as it stands: `hf upload ID DIR` uploads all of it
(`SpectralLM.push_to_hub(ID)` only the model, with a short card).

Evaluations keep no weights. Export re-trains the chosen genome with the run's recorded budget
and seed through the same `model.train.train`, with the recorded thread count and on the kind
of device the run evaluated it on (when this machine has one), which reproduces the proxy
run's weights bit for bit on the same machine. The re-trained validation loss is compared with
the journal's: "reproduced" only within TOLERANCE, else the gap is stated. `retrain_steps`
trains for that many steps instead (other settings unchanged).

The test split is scored here and only here: the search selects on validation loss, and never
sees the test split, so `test_loss` is the held-out number to quote.

Everything is checked before training starts, and the directory is written beside DIR and
renamed into place, so bad input or a crash leaves no half-written DIR.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hrfevo.api import RunData
from hrfevo.choice import Choice, choose, parse_select
from hrfevo.errors import DivergedError, UsageError
from hrfevo.genome import Genome, to_model_config
from hrfevo.model_card import model_card
from hrfevo.problem import Record
from hrfevo.problems.spectral import open_corpus
from hrfevo.storage import check_new_dir, staged_dir, write_json
from model import (
    ByteTokenizer,
    Corpus,
    ModelConfig,
    SpectralLM,
    TrainConfig,
    TrainResult,
    evaluate,
    resolve_device,
    train,
)

GENOME_FILE = "genome.json"  # beside the weights: the genome, a `hrfevo run --seeds` file
METRICS_FILE = "metrics.json"  # its measurements (also what `hrfevo train` writes)

# The model card's sample: sampling settings, and the prompt's source and length.
SAMPLE = {"max_new_tokens": 160, "temperature": 0.8, "top_k": 40, "seed": 0}
PROMPT_CHARS = 32

# The proxy run's val_loss is reproduced exactly on the same CPU build; a different machine
# or torch build may differ in the last bits. Beyond this relative gap, something changed.
TOLERANCE = 0.005


@dataclass
class ExportPlan:
    """Everything an export needs, checked: nothing here has touched the disk."""

    run: RunData
    out: Path
    choice: Choice
    record: Record  # the chosen genome's journal line
    genome: Genome
    model_cfg: ModelConfig
    train_cfg: TrainConfig
    corpus: Corpus
    retrained: bool  # trained for --retrain-steps rather than the proxy run's budget


def export(
    run: str | Path | RunData,
    out: str | Path,
    select: str = "knee",
    retrain_steps: int | None = None,
    device: str | None = None,
    progress: bool | None = False,
) -> Path:
    """Choose a genome of `run` by `select`, train it and write the model directory `out`.

    `device` None: the kind of device the run evaluated the genome on, if this machine has it.
    """
    plan = plan_export(run, Path(out), select, retrain_steps, device)
    model, result = train(plan.model_cfg, plan.train_cfg, plan.corpus, progress=progress)
    if result.status != "ok":
        raise DivergedError(
            f"re-training {plan.record['key']} diverged after {result.steps_done} steps; "
            "nothing written (fewer --retrain-steps?)"
        )
    return write(plan, model, result)


def plan_export(
    run: str | Path | RunData,
    out: Path,
    select: str,
    retrain_steps: int | None,
    device: str | None,
) -> ExportPlan:
    """Check every input (UsageError naming the first problem) and resolve the export."""
    choice = parse_select(select)
    check_new_dir(out)
    if retrain_steps is not None and retrain_steps < 1:
        raise UsageError(f"--retrain-steps {retrain_steps}: must be a positive integer")
    data = run if isinstance(run, RunData) else RunData(run)
    if not any(r["status"] == "ok" for r in data.records):
        raise UsageError(f"{data.path} has no successful evaluations yet: nothing to export")
    record = choose(choice, data.front_records, data.records, data.problem)
    genome = Genome.from_dict(record["candidate"])
    space = data.config.space
    return ExportPlan(
        run=data,
        out=out,
        choice=choice,
        record=record,
        genome=genome,
        model_cfg=to_model_config(genome, space.vocab_size, space.seq_len),
        train_cfg=train_config(record, retrain_steps, device),
        corpus=run_corpus(data),
        retrained=retrain_steps is not None,
    )


def run_device(record: Record) -> str:
    """The device kind a journal line was evaluated on: "cuda" or "cpu"."""
    device = str((record.get("worker") or {}).get("device") or "cpu")
    return "cuda" if device.startswith("cuda") else "cpu"


def export_device(record: Record) -> str:
    """The run's device kind when this machine has it, else the CPU."""
    import torch

    return "cuda" if run_device(record) == "cuda" and torch.cuda.is_available() else "cpu"


def train_config(record: Record, retrain_steps: int | None, device: str | None) -> TrainConfig:
    """The journal line's budget, on `device` (None: `export_device`), with `retrain_steps`
    replacing its length."""
    budget = dict(record["budget"], device=device or export_device(record))
    if retrain_steps is not None:
        budget |= {"steps": retrain_steps, "tokens": None}
    try:
        cfg = TrainConfig.from_dict(budget)
        resolve_device(cfg.device)
    except (ValueError, TypeError) as e:
        raise UsageError(f"cannot re-train {record['key']}: {e}") from None
    return cfg


def run_corpus(data: RunData) -> Corpus:
    """The run's corpus, checked to be byte for byte the one it was searched on."""
    config, recorded = data.config, data.info["data"]
    return open_corpus(
        config.data, config.space.seq_len + 1, recorded["sha256"], recorded.get("split")
    )


def metrics(plan: ExportPlan, model: SpectralLM, result: TrainResult) -> dict[str, Any]:
    """metrics.json: the exported weights' own measurements, and the journal's for comparison."""
    journal = plan.record["metrics"]
    gap = abs(result.val_loss - journal["val_loss"]) / journal["val_loss"]
    test_loss = test_split_loss(plan, model)
    if plan.retrained:
        training = "retrained"
    elif gap <= TOLERANCE:
        training = "proxy run reproduced"
    else:
        training = f"proxy run re-trained, val_loss {gap:.2%} from the journal's"
    return {
        "key": plan.record["key"],
        "select": str(plan.choice),
        "training": training,
        "val_loss": result.val_loss,  # nats per token (byte)
        "perplexity": result.perplexity,
        "bits_per_byte": result.bits_per_byte,
        "test_loss": test_loss,  # the held-out split: never seen by the search
        "test_perplexity": math.exp(test_loss) if test_loss is not None else None,
        "flops_per_token": result.flops_per_token,
        "flops_breakdown": model.flops_breakdown(),
        "params": result.params,
        "steps_done": result.steps_done,
        "train_tokens": result.train_tokens,
        "device": result.device,
        "run_device": run_device(plan.record),  # where the search evaluated it
        "train": plan.train_cfg.to_dict(),
        "split": result.split,
        "journal": journal,
        "matches_journal": None if plan.retrained else bool(gap <= TOLERANCE),
        "journal_val_loss_gap": gap,  # relative; 0.0 when the proxy run was reproduced exactly
    }


def test_split_loss(plan: ExportPlan, model: SpectralLM) -> float | None:
    """Mean loss on the run's test split, with the validation's window count and batch size;
    None when the corpus was split without one."""
    if len(plan.corpus.test) < plan.model_cfg.seq_len + 1:
        return None
    cfg = plan.train_cfg
    return evaluate(model, plan.corpus.test, cfg.eval_tokens, cfg.batch_size)


def sample_prompt(corpus: Corpus) -> str:
    """Up to PROMPT_CHARS characters of the first non-blank whole line of the held-out test
    split (the validation split when there is none): text the model has not trained on."""
    held_out = corpus.test if len(corpus.test) else corpus.val
    text = ByteTokenizer().decode(held_out[:4096]).replace("\ufffd", "")
    lines = text.split("\n")[1:-1] or text.split("\n")  # whole lines, if there are any
    line = next((ln.strip() for ln in lines if ln.strip()), "")
    return line[:PROMPT_CHARS] or "The "


def sample(model_dir: Path, corpus: Corpus) -> dict[str, Any]:
    """A continuation sampled on the CPU from the saved model, as `hrfevo generate model_dir
    --prompt P` with SAMPLE's settings prints it: {"prompt", "text" (prompt included),
    "device", and SAMPLE's settings}."""
    import torch

    model = SpectralLM.from_pretrained(model_dir, device=torch.device("cpu")).eval()
    prompt = sample_prompt(corpus)
    ids = torch.from_numpy(ByteTokenizer().encode(prompt).astype("int64"))[None]  # (1, T)
    generator = torch.Generator().manual_seed(int(SAMPLE["seed"]))
    with torch.no_grad():
        out = model.generate(
            ids,
            int(SAMPLE["max_new_tokens"]),
            float(SAMPLE["temperature"]),
            int(SAMPLE["top_k"]),
            generator=generator,
        )
    text = ByteTokenizer().decode(out[0])
    return {"prompt": prompt, "text": text, "device": "cpu", **SAMPLE}


def write(plan: ExportPlan, model: SpectralLM, result: TrainResult) -> Path:
    """Write the directory beside `plan.out`, then rename it into place."""
    with staged_dir(plan.out) as tmp:
        model.save_pretrained(tmp)  # config.json, model.safetensors and a short README.md
        m = metrics(plan, model, result) | {"sample": sample(tmp, plan.corpus)}
        write_json(tmp / GENOME_FILE, plan.genome.to_dict())
        write_json(tmp / METRICS_FILE, m)
        model_card(plan, m, model.generate_model_card().data).save(tmp / "README.md")
    return plan.out
