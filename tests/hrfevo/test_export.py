"""`hrfevo export`: the chosen genome as a standalone model that reproduces the run's numbers."""

from __future__ import annotations

import json
import math
import shlex
import shutil
from pathlib import Path

import pytest
from huggingface_hub import ModelCard

import hrfevo
from hrfevo.api import RunData
from hrfevo.choice import knee, parse_select
from hrfevo.cli import main
from hrfevo.genome import Genome
from model import SpectralLM
from model.data import load_corpus
from model.train import evaluate
from tests.hrfevo.damage import empty_copy


@pytest.fixture(scope="module")
def knee_export(run_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("export") / "knee"
    assert main(["export", str(run_dir), "--out", str(out)]) == 0
    return out


def cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        code = main(args)
    except SystemExit as e:  # argparse's own errors
        code = int(e.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def reevaluate(model_dir: Path, run: RunData) -> float:
    """The exported model's validation loss, measured as the proxy run measured it."""
    model = SpectralLM.from_pretrained(model_dir)
    corpus = load_corpus(run.config.data, min_tokens=run.config.space.seq_len + 1)
    budget = run.config.budget
    return evaluate(model, corpus.val, budget["eval_tokens"], budget["batch_size"])


def read_json(path: Path) -> dict:
    return json.loads(path.read_text())


def test_the_export_directory_holds_the_model_and_its_papers(knee_export: Path) -> None:
    assert sorted(p.name for p in knee_export.iterdir()) == [
        "README.md",
        "config.json",
        "genome.json",
        "metrics.json",
        "model.safetensors",
    ]
    assert not [p for p in knee_export.parent.iterdir() if p.name.startswith(".")]


def test_the_card_carries_the_hubs_metadata(knee_export: Path, run: RunData) -> None:
    """README.md is a Hub model card: YAML metadata that huggingface_hub parses, then the card."""
    from hrfevo.model_card import dataset_name

    card = ModelCard.load(knee_export / "README.md")
    data, m = card.data, read_json(knee_export / "metrics.json")
    assert (data.library_name, data.license, data.pipeline_tag) == (
        "hrfevo",
        "mit",
        "text-generation",
    )
    assert {"hrfevo", "spectral-lm", "byte-level"} <= set(data.tags or [])
    assert data.datasets == [dataset_name(run.config.data)] == [Path(run.config.data).name]
    assert data.model_name == f"hrfevo-{m['key']}"
    results = {r.metric_type: r for r in data.eval_results or []}
    assert (
        results["loss"].metric_value == m["test_loss"] and results["loss"].dataset_split == "test"
    )
    assert results["perplexity"].metric_value == m["test_perplexity"]
    assert card.text.startswith(f"\n# HRFEvo model {m['key']}")


def test_the_export_reproduces_the_journal_val_loss(knee_export: Path, run: RunData) -> None:
    metrics = read_json(knee_export / "metrics.json")
    recorded = run.record(metrics["key"])["metrics"]["val_loss"]
    assert reevaluate(knee_export, run) == recorded  # bit for bit on the CPU
    assert metrics["val_loss"] == recorded and metrics["journal_val_loss_gap"] == 0.0
    assert metrics["matches_journal"] is True


def test_metrics_describe_the_exported_model(knee_export: Path, run: RunData) -> None:
    m = read_json(knee_export / "metrics.json")
    model = SpectralLM.from_pretrained(knee_export)
    assert m["key"] == knee(run.front_records, run.problem)["key"]
    assert (m["select"], m["training"]) == ("knee", "proxy run reproduced")
    for name in ("val_loss", "perplexity", "bits_per_byte", "flops_per_token", "params"):
        assert m[name] == run.record(m["key"])["metrics"][name]
    assert m["params"] == model.num_parameters()
    assert sum(m["flops_breakdown"].values()) == pytest.approx(m["flops_per_token"])
    assert m["steps_done"] == run.config.budget["steps"]


def test_genome_json_is_the_exported_genome(knee_export: Path, run: RunData) -> None:
    genome = Genome.from_dict(read_json(knee_export / "genome.json"))
    assert genome.key == read_json(knee_export / "metrics.json")["key"]
    assert genome == run.genome(genome.key)


def test_the_model_card_gives_provenance(knee_export: Path, run: RunData) -> None:
    card = (knee_export / "README.md").read_text()
    key = read_json(knee_export / "metrics.json")["key"]
    for needed in (
        f"# HRFEvo model {key}",
        "SpectralLM.from_pretrained",
        f"run `{run.name}`",
        "`--select knee`: the knee of the final front",
        "## Neighbours on the final front",
        "| **exported** | " + key,
        run.info["data"]["sha256"][:16],
        f"| seed | {run.config.seed} |",
        "| torch | " + run.info["versions"]["torch"],
        "Journal val_loss",
    ):
        assert needed in card, needed
    for r in run.front_records[:3]:
        assert r["key"] in card


def test_the_model_card_says_what_the_model_is_for_and_is_not(
    knee_export: Path, run: RunData
) -> None:
    card = (knee_export / "README.md").read_text()
    m = read_json(knee_export / "metrics.json")
    for needed in (
        "## Intended use and limitations",
        "**Byte tokens.** It reads and writes raw UTF-8 bytes (vocabulary 256)",
        f"A test perplexity of {m['test_perplexity']:.1f} means",
        f"It trained for {m['steps_done']:,} steps ({m['train_tokens']:,} tokens), the search's "
        "proxy budget",
        f"reads at most {run.config.space.seq_len} bytes of context",
    ):
        assert needed in card, needed


def test_the_model_cards_sample_is_what_generate_prints(
    knee_export: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from hrfevo.exporter import SAMPLE
    from hrfevo.model_card import printable
    from hrfevo.reporting.markdown import code_block

    s = read_json(knee_export / "metrics.json")["sample"]
    assert {k: s[k] for k in SAMPLE} == SAMPLE and s["text"].startswith(s["prompt"])
    settings = [part for k, v in SAMPLE.items() for part in (f"--{k.replace('_', '-')}", str(v))]
    code, out, err = cli(["generate", str(knee_export), "--prompt", s["prompt"], *settings], capsys)
    assert code == 0, err
    assert out == s["text"] + "\n"
    card = (knee_export / "README.md").read_text()
    assert code_block(printable(s["text"]), "text") in card
    prompt = shlex.quote(s["prompt"])
    assert f"--prompt {prompt} --max-new-tokens {SAMPLE['max_new_tokens']}" in card


def test_the_model_card_compares_with_the_runs_transformer_baseline(
    knee_export: Path, run: RunData
) -> None:
    card = (knee_export / "README.md").read_text()
    ev = run.evaluations
    base = ev[ev["baseline"] & ev["seeded"]].iloc[0]
    mine = run.record(read_json(knee_export / "metrics.json")["key"])["metrics"]
    assert f"|  | this model | transformer `{base['key']}` | ratio |" in card
    ratio = mine["flops_per_token"] / base["flops_per_token"]
    row = f"| forward FLOPs per token | {mine['flops_per_token']:,.0f} | "
    assert row + f"{base['flops_per_token']:,.0f} | {ratio:.2f} |" in card


def test_a_card_says_when_there_is_no_baseline_or_the_export_is_it(
    run_dir: Path, tmp_path: Path
) -> None:
    from hrfevo.exporter import plan_export
    from hrfevo.model_card import _baseline

    run = RunData(run_dir)
    base = run.evaluations.loc[run.evaluations["baseline"], "key"].iloc[0]
    plan = plan_export(run, tmp_path / "out", f"key:{base}", None, None)
    assert "*is* the run's transformer baseline" in _baseline(plan)
    other = next(r for r in run.records if r["key"] != base and r["status"] == "ok")
    plan.record = other | {"rung": 1}  # as if it had been promoted and the baseline had not
    assert "The baseline stopped at rung 0 of the fidelity ladder" in _baseline(plan)
    run.evaluations["seeded"] = False
    assert "not seeded with the transformer baseline" in _baseline(plan)
    assert not (tmp_path / "out").exists()


def test_generate_runs_on_the_export(knee_export: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["generate", str(knee_export), "--prompt", "To be", "--max-new-tokens", "12"]
    code, out, err = cli([*args, "--temperature", "0"], capsys)
    assert code == 0, err
    assert out.startswith("To be") and len(out.encode()) >= len("To be") + 1


def test_retrain_steps_trains_longer_and_reproduces_itself(
    run_dir: Path, run: RunData, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "retrained"
    flags = ["--select", "min-perplexity", "--retrain-steps", "9"]
    code, stdout, err = cli(["export", str(run_dir), "--out", str(out), *flags], capsys)
    assert code == 0, err
    m = read_json(out / "metrics.json")
    assert (m["training"], m["steps_done"], m["train"]["steps"]) == ("retrained", 9, 9)
    assert m["matches_journal"] is None and m["journal"]["steps_done"] == 6
    assert m["key"] == run.best("min-perplexity")["key"] and "retrained" in stdout
    assert reevaluate(out, run) == m["val_loss"]
    assert "--retrain-steps" in (out / "README.md").read_text()


@pytest.mark.parametrize("mode", ["min-perplexity", "max-flops", "min", "max", "key"])
def test_every_select_mode_exports_its_choice(
    mode: str, run: RunData, run_dir: Path, tmp_path: Path
) -> None:
    select = {
        "min-perplexity": "min-perplexity",
        "max-flops": f"max-flops:{run.front()['flops_per_token'].min():.0f}",
        "min": "min:state_bytes",
        "max": f"max:params={run.front()['params'].median():.0f}",
        "key": f"key:{run.evaluations.loc[run.evaluations['baseline'], 'key'].iloc[0]}",
    }[mode]
    out = hrfevo.export(run, tmp_path / "out", select=select)
    m = read_json(out / "metrics.json")
    assert m["key"] == run.best(select)["key"] and m["select"] == str(parse_select(select))
    assert m["val_loss"] == run.record(m["key"])["metrics"]["val_loss"]
    front = run.front()
    if mode == "min":  # the front's smallest state, whatever its perplexity
        assert run.record(m["key"])["metrics"]["state_bytes"] == front["state_bytes"].min()
    if mode == "max":  # the best perplexity among those within the bound
        within = front[front["params"] <= front["params"].median()]
        assert m["key"] == within.sort_values(["perplexity", "key"])["key"].iloc[0]


def rec(key: str, perplexity: float, flops: float) -> dict:
    metrics = {"perplexity": perplexity, "flops_per_token": flops}
    return {"key": key, "status": "ok", "metrics": metrics}


def test_the_knee_is_nearest_the_ideal_point_on_normalised_objectives(run: RunData) -> None:
    # In (log_256 perplexity, log10 FLOPs) scaled over the front: a (1, 0), b (0.26, 0.33),
    # c (0, 1); b is 0.42 from the ideal point, a and c 1.0.
    front = [rec("a", 200, 1e3), rec("b", 120, 1e4), rec("c", 100, 1e6)]
    assert knee(front, run.problem)["key"] == "b"
    assert knee([rec("z", 200, 1e3), rec("y", 100, 1e6)], run.problem)["key"] == "y"  # a tie
    assert knee([rec("only", 150, 1e5)], run.problem)["key"] == "only"


def test_an_existing_empty_out_is_filled(run: RunData, tmp_path: Path) -> None:
    out = tmp_path / "empty"
    out.mkdir()
    hrfevo.export(run, out, select="min-perplexity")
    assert (out / "model.safetensors").is_file()


BAD = {
    "malformed select": (["--select", "best"], "choose knee, min-perplexity"),
    "max-flops without N": (["--select", "max-flops:"], "choose knee"),
    "max-flops not a number": (["--select", "max-flops:lots"], "positive number of FLOPs"),
    "budget below the front": (["--select", "max-flops:10"], "no front member fits"),
    "unknown key": (["--select", "key:0123456789abcdef"], "no genome with that key"),
    "unknown objective": (["--select", "min:beauty"], "no objective 'beauty'"),
    "max without a bound": (["--select", "max:params"], "choose knee"),
    "max bound not a number": (["--select", "max:params=few"], "N must be a positive number"),
    "max bound below the front": (["--select", "max:params=1"], "the lowest params on it is"),
    "retrain steps < 1": (["--retrain-steps", "0"], "--retrain-steps 0"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_is_one_line_and_writes_nothing(
    case: str, run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flags, message = BAD[case]
    out = tmp_path / "out"
    code, stdout, err = cli(["export", str(run_dir), "--out", str(out), *flags], capsys)
    assert code == 2 and stdout == ""
    assert err.count("\n") == 1 and err.startswith("hrfevo export: error: ") and message in err
    assert list(tmp_path.iterdir()) == []


def test_an_existing_non_empty_out_is_refused(
    run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("mine")
    code, _, err = cli(["export", str(run_dir), "--out", str(tmp_path / "out")], capsys)
    assert code == 2 and "exists and is not empty" in err and err.count("\n") == 1
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["keep.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_an_empty_run_is_refused(
    run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = empty_copy(run_dir, tmp_path / "empty")
    code, _, err = cli(["export", str(empty), "--out", str(tmp_path / "out")], capsys)
    assert code == 2 and "no successful evaluations" in err and err.count("\n") == 1
    assert not (tmp_path / "out").exists()
    assert [p.name for p in empty.iterdir()] == ["run.json"]


def test_the_export_scores_the_held_out_test_split(knee_export: Path, run: RunData) -> None:
    m = read_json(knee_export / "metrics.json")
    model = SpectralLM.from_pretrained(knee_export)
    corpus = load_corpus(run.config.data, min_tokens=run.config.space.seq_len + 1)
    budget = run.config.budget
    assert len(corpus.test) > 0 and m["test_loss"] != m["val_loss"]
    expected = evaluate(model, corpus.test, budget["eval_tokens"], budget["batch_size"])
    assert m["test_loss"] == pytest.approx(expected, rel=1e-6)  # threads may reorder sums
    assert m["test_perplexity"] == pytest.approx(math.exp(m["test_loss"]))
    card = (knee_export / "README.md").read_text()
    assert f"| test loss (held out) | {m['test_loss']:.4f} nats per byte |" in card


@pytest.mark.parametrize(("shift", "reproduced"), [(1.004, True), (1.006, False)])
def test_reproduced_is_claimed_only_within_half_a_percent_of_the_journal(
    shift: float,
    reproduced: bool,
    run_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The journal's val_loss moved by 0.4% or 0.6%: export must notice the second."""
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    records = RunData(copy).records
    key = min(records, key=lambda r: r["metrics"].get("perplexity") or math.inf)["key"]
    lines = []
    for line in (copy / "journal.jsonl").read_text().splitlines():
        r = json.loads(line)
        if r["key"] == key:
            r["metrics"]["val_loss"] *= shift
        lines.append(json.dumps(r))
    (copy / "journal.jsonl").write_text("\n".join(lines) + "\n")
    code, stdout, err = cli(["export", str(copy), "--out", str(tmp_path / "out"), "--select",
                             f"key:{key}"], capsys)  # fmt: skip
    assert code == 0, err
    m = read_json(tmp_path / "out" / "metrics.json")
    card = (tmp_path / "out" / "README.md").read_text()
    assert m["matches_journal"] is reproduced
    if reproduced:
        assert m["training"] == "proxy run reproduced" and err == ""
        assert "the proxy run was reproduced" in card
    else:
        assert m["training"] == "proxy run re-trained, val_loss 0.60% from the journal's"
        assert "NOT reproduced" in card and "differs from the journal's" in err
        assert "proxy run reproduced" not in stdout


def test_a_genome_evaluated_on_a_gpu_is_exported_on_one_when_there_is_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import torch

    from hrfevo.exporter import export_device

    on_gpu, on_cpu = {"worker": {"device": "cuda:0"}}, {"worker": {"device": "cpu"}}
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert (export_device(on_gpu), export_device(on_cpu)) == ("cuda", "cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert export_device(on_gpu) == "cpu"


def test_a_diverged_retrain_exits_1_and_writes_nothing(
    run_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The work ran but gave no model: status 1, as `hrfevo train` says for a diverged run."""
    import dataclasses

    from hrfevo import exporter

    real = exporter.train

    def diverging(*args: object, **kwargs: object) -> object:
        model, result = real(*args, **kwargs)  # type: ignore[arg-type]
        return model, dataclasses.replace(result, status="diverged", val_loss=math.inf)

    monkeypatch.setattr(exporter, "train", diverging)
    before = sorted(p.name for p in run_dir.iterdir())
    code, stdout, err = cli(["export", str(run_dir), "--out", str(tmp_path / "out")], capsys)
    assert code == 1 and stdout == "" and err.count("\n") == 1
    assert err.startswith("hrfevo export: re-training ") and "diverged after" in err
    assert list(tmp_path.iterdir()) == [] and sorted(p.name for p in run_dir.iterdir()) == before
