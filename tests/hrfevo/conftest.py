"""One finished smoke run per test session, shared by the tests that only read it."""

from __future__ import annotations

from pathlib import Path

import pytest

from hrfevo.api import RunData, load_run
from hrfevo.config import resolve
from hrfevo.run import start


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory: pytest.TempPathFactory, text_file: Path) -> Path:
    """A finished smoke run (serial executor, Tiny Shakespeare). Read it only; copy to change."""
    cfg = resolve("smoke", None, {"executor": "serial", "data": str(text_file)})
    return start(cfg, tmp_path_factory.mktemp("smoke") / "run")


@pytest.fixture(scope="session")
def run(run_dir: Path) -> RunData:
    return load_run(run_dir)
