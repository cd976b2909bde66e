"""The benchmarks are a package, run as `python -m benchmarks.NAME` from the repository root:
every such command in the README and the reports names a module that exists, none is written
the old way (`python benchmarks/NAME.py`, which no longer runs), every runnable benchmark is in
the README, and each answers --help."""

from __future__ import annotations

import importlib
import re
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
DOCS = [README, *sorted((REPO / "reports").glob("**/*.md"))]
MODULES = {p.stem for p in (REPO / "benchmarks").glob("*.py")} - {"__init__"}
# the benchmarks that run (the others are parts of them): a file with a __main__ guard
RUNNABLE = sorted(
    p.stem
    for p in (REPO / "benchmarks").glob("*.py")
    if 'if __name__ == "__main__":' in p.read_text(encoding="utf-8")
)
COMMAND = re.compile(r"python -m benchmarks\.([a-z0-9_]+)")  # NAME, in capitals, is a placeholder


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(REPO)))
def test_every_benchmark_command_names_a_module_in_the_one_form(doc: Path) -> None:
    text = doc.read_text(encoding="utf-8")
    old = re.findall(r"python3? benchmarks/\S+", text)
    assert not old, f"{doc.name}: {old} (run a benchmark as python -m benchmarks.NAME)"
    missing = sorted(set(COMMAND.findall(text)) - MODULES)
    assert not missing, f"{doc.name} names benchmarks that benchmarks/ lacks: {missing}"


def test_the_readme_gives_every_runnable_benchmarks_command() -> None:
    assert len(RUNNABLE) >= 11  # the __main__ guard found: the list is not empty by mistake
    named = set(COMMAND.findall(README.read_text(encoding="utf-8")))
    assert not set(RUNNABLE) - named, f"README lacks {sorted(set(RUNNABLE) - named)}"


@pytest.mark.parametrize("name", RUNNABLE)
def test_every_benchmark_answers_help(
    name: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    module = importlib.import_module(f"benchmarks.{name}")
    monkeypatch.setattr(sys, "argv", [f"benchmarks/{name}.py", "--help"])
    with pytest.raises(SystemExit) as done:
        module.main()  # reads sys.argv, as `python -m benchmarks.NAME --help` does
    assert done.value.code == 0
    assert capsys.readouterr().out.startswith("usage: ")
