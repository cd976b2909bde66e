"""Joining a multi-node Ray cluster (simulated on this machine by `ray.cluster_utils.Cluster`):
evaluations land on every node, fractional GPUs are scheduled, resources are checked."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import ray
from ray.cluster_utils import Cluster

from hrfevo import run
from hrfevo.config import resolve
from hrfevo.errors import UsageError
from hrfevo.storage import Journal


@pytest.fixture(scope="module")
def two_nodes() -> Iterator[Cluster]:
    """Two nodes with 2 CPUs and one logical GPU each (Ray schedules it; no CUDA behind it)."""
    cluster = Cluster(
        initialize_head=True,
        head_node_args={"num_cpus": 2, "num_gpus": 1, "include_dashboard": False},
    )
    cluster.add_node(num_cpus=2, num_gpus=1)
    cluster.wait_for_nodes()
    yield cluster
    ray.shutdown()
    cluster.shutdown()


def test_evaluations_are_placed_on_both_nodes_with_a_quarter_gpu_each(
    two_nodes: Cluster, tmp_path: Path, text_file: Path
) -> None:
    flags = {
        "data": str(text_file),
        "executor": "ray",
        "ray_address": two_nodes.address,
        "gpus_per_eval": 0.25,
        "generations": 1,
    }
    out = run.start(resolve("smoke", None, flags), tmp_path / "run")
    records = list(Journal(out / "journal.jsonl").records.values())
    assert {r["status"] for r in records} == {"ok"}
    assert len({r["worker"]["node"] for r in records}) == 2
    assert all(r["worker"]["gpu_ids"] == ["0"] for r in records)  # each node's one GPU
    assert not ray.is_initialized(), "the executor disconnects from a cluster it joined"


def test_asking_for_more_gpus_than_any_node_has_fails_at_once(
    two_nodes: Cluster, tmp_path: Path, text_file: Path
) -> None:
    flags = {"executor": "ray", "ray_address": two_nodes.address, "gpus_per_eval": 2.0}
    start = time.monotonic()
    with pytest.raises(UsageError, match="no Ray node can hold one evaluation"):
        run.start(resolve("smoke", None, flags | {"data": str(text_file)}), tmp_path / "run")
    assert time.monotonic() - start < 20
    assert not (tmp_path / "run").exists()
    assert not ray.is_initialized()
