"""The CLI: its command convention, help, --version, run --dry-run, live progress, Ctrl-C,
`hrfevo runs` and streamed generation."""

from __future__ import annotations

import argparse
import csv
import io
import re
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

import hrfevo
from hrfevo import cli
from hrfevo.commands import COMMANDS, generate
from hrfevo.commands.run import presets_markdown, presets_table
from hrfevo.config import resolve
from hrfevo.estimate import Estimate, Measured, evaluations
from hrfevo.executors.serial import SerialExecutor
from hrfevo.genome import describe
from hrfevo.presets import PRESETS
from hrfevo.problems.zdt import ZDT1
from hrfevo.progress import Progress
from hrfevo.search import Search
from hrfevo.stop import Spent, Stop
from hrfevo.storage import locked
from hrfevo.strategies.nsga2 import NSGA2
from model import ModelConfig, SpectralLM
from tests.hrfevo.clitools import invoke as run_cli
from tests.hrfevo.clitools import tree_digest

README = Path(__file__).resolve().parents[2] / "README.md"
HEAVY = ("torch", "ray", "numpy", "pandas", "optuna", "yaml")


# ---- the convention ------------------------------------------------------------------------


def subparsers() -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in cli.build_parser()._actions if a.dest == "command")
    return dict(action.choices)  # type: ignore[arg-type]


@pytest.mark.parametrize("module", COMMANDS, ids=lambda m: m.__name__.rsplit(".", 1)[-1])
def test_every_command_module_follows_the_convention(module: Any) -> None:
    name = cli.command_name(module)
    assert module.__doc__.startswith(f"`hrfevo {name}`: ")
    assert callable(module.add_arguments) and callable(module.main)
    assert not hasattr(module, "add_parser") and not hasattr(module, "run")
    parser = subparsers()[name]
    assert parser.get_default("func") is module.main
    for action in parser._actions:
        assert action.help, f"hrfevo {name} {action.option_strings or action.dest}: no help"


def test_help_imports_nothing_heavy_and_version_is_the_packages(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = (
        "import sys; from hrfevo.cli import main\n"
        "try: main(['--help'])\nexcept SystemExit: pass\n"
        f"print('loaded', sorted(m for m in {HEAVY!r} if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip().endswith("loaded []")
    assert hrfevo.__version__ == metadata.version("hrfevo")
    assert run_cli(["--version"], capsys)[:2] == (0, f"hrfevo {hrfevo.__version__}\n")


@pytest.mark.parametrize("name", list(subparsers()))
def test_every_command_has_help(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli([name, "--help"], capsys)
    assert code == 0 and out.startswith(f"usage: hrfevo {name}")


def test_run_help_shows_each_presets_settings_and_the_fixed_texts(
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = run_cli(["run", "--help"], capsys)[1]
    flat = " ".join(out.split())
    for name, size, executor, space, budget in presets_table():
        cfg = resolve(name, None, {})
        assert size == f"{cfg.population} × {cfg.generations}" and executor == cfg.executor
        assert f"{name} {size} generations, {executor} executor" in flat
        assert f"space {space}" in flat and f"budget {budget}" in flat
    assert "populations/<preset>-<YYYYmmdd-HHMMSS>-s<seed>" in flat
    assert "needs --executor ray" in flat
    assert "(default: the preset's: serial for smoke, ray for tiny and small)" in flat
    generate_help = " ".join(run_cli(["generate", "--help"], capsys)[1].split())
    assert "hrfevo export --out" in generate_help


def test_every_path_the_readme_names_is_in_the_repo() -> None:
    """A README claim comes from a script that anyone can rerun, into a committed report; and
    the modules it points a reader to are where it says."""
    text = README.read_text(encoding="utf-8")
    named = set(re.findall(r"(?:reports|benchmarks)/[\w./-]+\.(?:md|py|png)", text))
    assert "reports/frontier.md" in named and "`python -m benchmarks.frontier`" in text
    named |= set(re.findall(r"`((?:hrfevo|model|tests)/[\w./-]*)", text))
    missing = sorted(n for n in named if not (README.parent / n).exists())
    assert not missing, f"README names paths the repo lacks: {missing}"


def test_the_readme_shows_the_presets_the_notation_and_every_command() -> None:
    text = README.read_text(encoding="utf-8")
    assert presets_markdown() in text, "README's presets table differs from presets_markdown()"
    for line in ("<!-- ci: install -->", "<!-- ci: test -->"):
        assert line in text
    example = status_example()
    assert f"`{example}`" in text
    for name in subparsers():
        assert f"hrfevo {name}" in text


def status_example() -> str:
    from hrfevo.commands.status import epilog

    return epilog().splitlines()[0].removeprefix("genome notation, e.g. ").rstrip(":")


def test_status_help_explains_the_genome_notation(capsys: pytest.CaptureFixture[str]) -> None:
    out = run_cli(["status", "--help"], capsys)[1]
    example = status_example()
    assert example.startswith("d32 WF sym2/2/sum spectral[10] ffn3.13/")
    for part in example.split():
        assert re.search(rf"^  {re.escape(part)} +\w", out, re.MULTILINE), part
    assert "W wavelet, F fourier, A attention" in out


# ---- run --dry-run --------------------------------------------------------------------------


def test_dry_run_prints_a_usable_config_and_an_estimate_and_writes_nothing(
    tmp_path: Path,
    text_file: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    before = tree_digest(tmp_path)
    flags = ["--preset", "smoke", "--data", str(text_file), "--population", "5"]
    code, out, err = run_cli(["run", *flags, "--out", "new", "--dry-run"], capsys)
    assert code == 0, err
    assert tree_digest(tmp_path) == before and not (tmp_path / "new").exists()
    config = tmp_path.parent / f"{tmp_path.name}-dry.yaml"
    config.write_text(out)
    expected = resolve("smoke", None, {"data": str(text_file), "population": 5})
    assert resolve(None, config, {}).to_dict() == expected.to_dict()
    assert "# evaluations: at most 10 (6 steps each)" in out  # 5 genomes × 2 generations
    assert re.search(r"# time: .* / 1 at once \(the serial executor\) ≈ [\d.]+ (s|min)", out)
    assert "assumes:" in out and out.count("MFLOPs/token") == 3


def test_the_estimate_counts_the_ladders_quota_and_continued_steps() -> None:
    cfg = resolve("tiny", None, {})
    assert evaluations(cfg) == (32, 10, 3)  # ⌊32/3⌋, ⌊10/3⌋
    e = Estimate(
        rungs=(120, 360, 960),
        evaluations=(32, 10, 3),
        continues=True,
        measured=(Measured("a", 1e5, 0.01, 0.5), Measured("b", 2e5, 0.03, 1.5)),
        device="cpu",
        threads=1,
        workers=2,
    )
    assert e.rung_seconds(0) == pytest.approx(120 * 0.02 + 1.0)
    assert e.rung_seconds(2) == pytest.approx(600 * 0.02 + 1.0)  # from rung 1's 360 steps on
    total = 32 * 3.4 + 10 * 5.8 + 3 * 13.0
    assert e.wall_seconds == pytest.approx(total / 2)


# ---- progress ---------------------------------------------------------------------------------


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def zdt_run(tmp_path: Path, stream: io.StringIO, generations: int = 3) -> Path:
    problem = ZDT1()
    progress = Progress(problem, generations, tmp_path / "run", 6.0, stream)
    strategy = NSGA2(problem, 6, np.random.default_rng(0))
    Search(tmp_path / "run", problem, strategy, SerialExecutor(problem), progress).run(generations)
    return tmp_path / "run"


def test_progress_in_a_log_numbers_generations_as_the_csvs_do(tmp_path: Path) -> None:
    log = io.StringIO()
    run_dir = zdt_run(tmp_path, log)
    lines = log.getvalue().splitlines()
    assert lines[0] == f"run directory {run_dir}  (hrfevo status {run_dir})"
    evaluated = [line for line in lines if line.startswith("  [")]
    assert len(evaluated) == 18  # one line per finished evaluation when not on a terminal
    assert re.fullmatch(
        r"  \[0:\d\d\] \S+ f1 \S+ \(1 done, 5 pending; [\d.]+ s/eval, eta [\d.]+ (s|min)\)",
        evaluated[0],
    )
    with open(run_dir / "hypervolume.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    done = [line for line in lines if " done: " in line]
    assert len(done) == len(rows) == 3
    for row, line in zip(rows, done, strict=True):
        g = int(row["generation"])
        head = f"generation {g} ({g + 1} of 3) done: front {row['front_size']}, "
        assert line.startswith(head + f"hypervolume {float(row['hypervolume']):.4f}")
    assert "eta 0.0 s" in done[-1]


def test_progress_on_a_terminal_redraws_one_line_and_ends_it_on_ctrl_c() -> None:
    screen = Terminal()
    progress = Progress(ZDT1(), 2, None, 4.0, screen)
    progress.generation_started(0, 4, 0)
    record = {"key": "k", "status": "ok", "metrics": {"f1": 3.0}}
    progress.evaluated(record, 3)
    progress.evaluated(record, 2)
    assert screen.getvalue().count("\n") == 1 and screen.getvalue().count("\r\033[K") == 2
    assert re.search(
        r"2 done, 2 pending \| k f1 3 \| 0:00 elapsed, [\d.]+ s/eval", screen.getvalue()
    )
    progress.end_line()
    assert screen.getvalue().endswith("\n") and screen.getvalue().count("\n") == 2


def test_ctrl_c_prints_the_exact_resume_command(
    tmp_path: Path,
    text_file: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from hrfevo import run

    def interrupted(cfg: Any, out: Path, observer: Any = None, stop: Any = None) -> Path:
        out.mkdir()
        (out / run.RUN_FILE).write_text("{}")
        raise KeyboardInterrupt

    monkeypatch.setattr(run, "start", interrupted)
    out = tmp_path / "a run"
    code, _, err = run_cli(["run", "--preset", "smoke", "--out", str(out)], capsys)
    assert code == 130
    assert err.splitlines()[-1] == f"hrfevo run: interrupted; continue with: hrfevo resume '{out}'"


# ---- runs ---------------------------------------------------------------------------------


def test_runs_lists_each_run_with_its_state(
    run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copytree(run_dir, tmp_path / "done")
    stopped = tmp_path / "stopped"
    shutil.copytree(run_dir, stopped)
    (stopped / "checkpoint.json").write_text(
        (stopped / "checkpoint.json").read_text().replace('"target": 2', '"target": 5')
    )
    shutil.copytree(run_dir, tmp_path / "running")
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "run.json").write_text("{")
    (tmp_path / "not a run").mkdir()
    before = tree_digest(tmp_path)
    with locked(tmp_path / "running" / "run.json"):
        code, out, _ = run_cli(["runs", str(tmp_path)], capsys)
    assert code == 0 and tree_digest(tmp_path) == before
    rows = {line.split()[0].rsplit("/", 1)[-1]: line for line in out.splitlines()[1:]}
    assert sorted(rows) == ["broken", "done", "running", "stopped"]
    with open(run_dir / "hypervolume.csv", newline="") as f:
        hv = f"{float(list(csv.DictReader(f))[-1]['hypervolume']):.4f}"
    evaluations = len((run_dir / "journal.jsonl").read_text().splitlines())
    assert re.search(rf"done +finished +2 of 2 +{evaluations} +{hv} +smoke +nsga2$", rows["done"])
    assert re.search(r"stopped +stopped +2 of 5 ", rows["stopped"])
    assert re.search(r"running +running +2 of 2 ", rows["running"])
    assert re.search(r"broken +unreadable +\S.*corrupted", rows["broken"])
    assert run_cli(["runs", str(tmp_path / "done")], capsys)[1].count("\n") == 2  # one run
    code, _, err = run_cli(["runs", str(tmp_path / "nowhere")], capsys)
    assert code == 2 and err.count("\n") == 1 and "is not a directory" in err


# ---- generate ---------------------------------------------------------------------------------


class Recorder(io.StringIO):
    def __init__(self) -> None:
        super().__init__()
        self.writes: list[str] = []

    def write(self, s: str) -> int:
        self.writes.append(s)
        return super().write(s)


def test_generate_streams_the_same_bytes_and_says_when_the_prompt_is_cropped(
    capsys: pytest.CaptureFixture[str],
) -> None:
    torch.manual_seed(0)
    model = SpectralLM(
        ModelConfig(vocab_size=256, seq_len=16, d_model=16, n_layers=1, mixer="fourier")
    ).eval()
    prompt = "naïve café " * 3  # 39 bytes, over the 16-byte context; multi-byte characters
    args = argparse.Namespace(prompt=prompt, max_new_tokens=24, temperature=1.0, top_k=None, seed=3)
    out = Recorder()
    generate.stream(model, args, out)
    ids = torch.tensor([list(prompt.encode())])
    with torch.no_grad():
        whole = model.generate(ids, 24, 1.0, None, generator=torch.Generator().manual_seed(3))
    assert out.getvalue() == bytes(whole[0].tolist()).decode("utf-8", errors="replace") + "\n"
    assert len(out.writes) >= 24  # written as sampled, not all at once
    note = capsys.readouterr().err
    assert "the prompt is 39 bytes and the model's context 16" in note


def test_describe_is_the_notation_status_shows(run_dir: Path) -> None:
    from hrfevo.genome import Genome
    from hrfevo.run import RunView

    record = RunView(run_dir).front()[0]
    assert RunView(run_dir).problem().describe(record["candidate"]) == describe(
        Genome.from_dict(record["candidate"])
    )
    assert PRESETS["smoke"]["executor"] == "serial"


@pytest.mark.parametrize(
    ("stop", "spent", "eta"),
    [
        (Stop(10), None, 38.0),  # 1 s/eval × (2 pending + 9 generations × 4)
        (Stop(10, evaluations=6), None, 4.0),  # 4 evaluations left at 1 s each
        (Stop(10, cpu_seconds=100), None, 8.0),  # 80 CPU-seconds left at 10 a second
        (Stop(10, wall_seconds=30), Spent(3, 12, 50.0, 25.0), 3.0),  # 25 s before, 2 now
        (Stop(10, evaluations=100, wall_seconds=1000), None, 38.0),  # generations come first
    ],
)
def test_the_eta_is_the_soonest_limit(
    stop: Stop, spent: Spent | None, eta: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ETA once counted only generations, whatever --max-evaluations or a time limit said."""
    now = [0.0]
    monkeypatch.setattr("hrfevo.progress.time.monotonic", lambda: now[0])
    log = io.StringIO()
    progress = Progress(ZDT1(), 10, None, 4.0, log, stop=stop, spent=spent)
    progress.generation_started(0, 4, 0)
    record = {"key": "k", "status": "ok", "metrics": {"f1": 3.0}, "timings": {"seconds": 10.0}}
    for pending in (3, 2):
        now[0] += 1.0
        progress.evaluated(record, pending)
    assert progress.eta() == pytest.approx(eta)
    limited = any(v is not None for v in stop.limits().values())
    assert ("(1 of at most 10)" if limited else "(1 of 10)") in log.getvalue()
