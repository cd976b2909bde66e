"""Shared fixtures. Tests make their own data: nothing here reads ../shared."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from model.data import builtin_bytes

TEXT_BYTES = 600_000  # enough for every split to hold the smoke budget's evaluation windows


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    """Tests run on 2 shared cores; one torch thread keeps them deterministic and polite."""
    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def text_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A UTF-8 text corpus made on this machine: the head of the builtin corpus (prose and code),
    cut at a character boundary."""
    data = builtin_bytes()[:TEXT_BYTES].decode("utf-8", errors="ignore").encode("utf-8")
    path = tmp_path_factory.mktemp("data") / "text.txt"
    path.write_bytes(data)
    return path


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    """One two-worker Ray for a module (it takes seconds to start); executors borrow it."""
    ray = pytest.importorskip("ray")
    ray.init(
        address="local",
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        logging_level=logging.ERROR,
    )
    yield
    ray.shutdown()
