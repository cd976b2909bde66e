"""Shared fixtures. The standard small corpus is read from ../shared, never copied here."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
SHAKESPEARE = REPO.parent / "shared" / "data" / "tinyshakespeare.txt"


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    """Tests run on 2 shared cores; one torch thread keeps them deterministic and polite."""
    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def shakespeare() -> Path:
    if not SHAKESPEARE.is_file():
        pytest.skip(f"{SHAKESPEARE} not found (the shared data folder sits beside the repo)")
    return SHAKESPEARE
