"""Evaluations as Ray tasks: a local Ray by default, or an existing cluster with GPUs.

With no address, `ray.init` starts a private Ray on this machine and `close` shuts it down;
with `ray_address` the driver joins a running cluster and ships its own `hrfevo` and `model`
source to the workers (the nodes need the dependencies: `pip install hrfevo`).

Each evaluation asks Ray for `cpus_per_eval` CPUs and `gpus_per_eval` GPUs (fractions share
a GPU). The requested resources are checked against the cluster before anything is submitted:
a task that asks for what no node has would wait forever. The executor keeps at most as many
tasks in flight as the cluster can run at once, so a task starts as soon as it is submitted:
the queue stays in the driver, and `eval_timeout` counts from the start of an evaluation
rather than from the moment it was proposed.

Fault tolerance: a worker process or node that dies, Ray's out-of-memory kill, and an
evaluation past `eval_timeout` (killed with `ray.cancel(force=True)`) are machine faults, not
results: the job runs again, up to `max_retries` times, and a fault that persists stops the
run with nothing journaled for that genome (see `hrfevo.executor`). A driver that dies is
covered by `hrfevo resume`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import threading
import time
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hrfevo.errors import UsageError
from hrfevo.executor import Execution, Executor, Job, fault_record, run_job
from hrfevo.problem import Problem

POLL_SECONDS = 1.0  # longest blocking wait, so Ctrl-C and time-outs are noticed promptly
CONNECT_SECONDS = 5.0  # Ray itself retries an unreachable address for minutes
# Ray's start-up lines and the workers' output stay out of the user's terminal; failures
# reach the journal as records.
QUIET: dict[str, Any] = {"logging_level": logging.ERROR, "log_to_driver": False}


def _evaluate(problem: Problem, job: Job) -> dict[str, Any]:
    """Runs in a Ray worker: one job, plus the node and the GPUs Ray placed it on."""
    import ray

    record = run_job(problem, job)
    record["worker"] |= {
        "node": ray.get_runtime_context().get_node_id(),
        "gpu_ids": [str(i) for i in ray.get_gpu_ids()],  # physical ids behind cuda:0, cuda:1...
    }
    return record


def capacity(nodes: list[dict[str, float]], need: dict[str, float]) -> int:
    """How many evaluations, each needing `need` on one node, the nodes can run at once."""
    wanted = [(k, v) for k, v in need.items() if v > 0]
    # the epsilon keeps 1.0 / 0.1 == 9.999... from losing a slot
    return sum(min(int(res.get(k, 0.0) / v + 1e-9) for k, v in wanted) for res in nodes)


def check_resources(nodes: list[dict[str, float]], need: dict[str, float]) -> int:
    """The cluster's capacity for evaluations; a UsageError when it cannot run a single one."""
    slots = capacity(nodes, need)
    if slots:
        return slots
    total = {k: sum(res.get(k, 0.0) for res in nodes) for k in ("CPU", "GPU")}
    have = f"{total['CPU']:g} CPUs and {total['GPU']:g} GPUs over {len(nodes)} node(s)"
    if need.get("GPU", 0) > 0 and total["GPU"] == 0:
        raise UsageError(
            f"--gpus-per-eval {need['GPU']:g} asks for GPUs, but the Ray cluster has none "
            f"({have}); use --gpus-per-eval 0, or join a GPU cluster with --ray-address"
        )
    raise UsageError(
        f"no Ray node can hold one evaluation ({need['CPU']:g} CPUs, {need.get('GPU', 0):g} "
        f"GPUs; the cluster has {have}); lower --cpus-per-eval or --gpus-per-eval"
    )


def local_resources() -> dict[str, float]:
    """What a local Ray on this machine would have: every core, and the GPUs torch can use."""
    import torch

    return {"CPU": float(os.cpu_count() or 1), "GPU": float(torch.cuda.device_count())}


def check_reachable(address: str) -> None:
    """Fail in seconds on a host:port that does not answer (Ray would retry for minutes)."""
    if address in ("auto", "local") or "://" in address:
        return  # Ray resolves these itself and fails fast
    host, _, port = address.rpartition(":")
    try:
        socket.create_connection((host or "127.0.0.1", int(port)), CONNECT_SECONDS).close()
    except (OSError, ValueError) as e:
        raise UsageError(f"cannot reach the Ray cluster at --ray-address {address} ({e})") from None


class RayExecutor(Executor):
    """Runs each job as a Ray task; yields records as the tasks finish (`ray.wait`)."""

    def __init__(self, problem: Problem, settings: Execution | None = None) -> None:
        super().__init__(problem, settings)
        settings = self.settings  # the defaults when none were given
        self.need = {"CPU": float(settings.cpus_per_eval), "GPU": float(settings.gpus_per_eval)}
        self.timeout = settings.eval_timeout
        self.queue: deque[tuple[Job, float]] = deque()  # (job, time submitted)
        self.running: dict[Any, tuple[Job, dict[str, float]]] = {}  # ObjectRef -> job, times
        self.owns_ray = False  # whether close() shuts Ray down
        _check_device(problem, settings)
        try:
            self._connect(settings)
            self._prepare(settings)
        except BaseException:  # a UsageError, or Ctrl-C during start-up: leave no Ray behind
            self.close()
            raise

    def _connect(self, settings: Execution) -> None:
        import ray

        if ray.is_initialized():  # a caller's Ray (a notebook, a test): use it, leave it running
            return
        if settings.ray_address is None:
            self._start_local(settings.ray_dashboard)
        else:
            self._join(settings.ray_address)

    def _start_local(self, dashboard: bool) -> None:
        import ray

        resources = local_resources()
        check_resources([resources], self.need)  # before Ray starts: fails in a second
        if dashboard:
            _check_dashboard()
        with _sigint_blocked(), _sigterm_handler_kept():  # the block reaches every Ray process
            ray.init(
                address="local",  # a new Ray, even if another runs on this machine
                num_cpus=int(resources["CPU"]),
                num_gpus=int(resources["GPU"]),
                include_dashboard=dashboard,
                **QUIET,
            )
            self.owns_ray = True  # before the block lifts and a pending Ctrl-C arrives

    def _join(self, address: str) -> None:
        import ray

        check_reachable(address)
        try:
            with _sigterm_handler_kept():
                ray.init(address=address, runtime_env=_shipped_source(), **QUIET)
        except ConnectionError as e:
            raise UsageError(f"cannot join Ray at --ray-address {address}: {e}") from None
        self.owns_ray = True

    def _prepare(self, settings: Execution) -> None:
        import ray

        self.slots = check_resources(_alive_nodes(), self.need)
        self.problem_ref = ray.put(self.problem)  # shipped once, not per task
        self.task = ray.remote(_evaluate).options(
            num_cpus=settings.cpus_per_eval,
            num_gpus=settings.gpus_per_eval,
            max_retries=0,  # `settle` retries faults, time-outs included, by one rule
            retry_exceptions=False,
        )

    def submit(self, job: Job) -> None:
        self.queue.append((job, time.time()))

    def as_completed(self) -> Iterator[dict[str, Any]]:
        import ray

        self.slots = capacity(_alive_nodes(), self.need) or self.slots  # nodes may have joined
        self._dispatch()
        while self.running:
            ready, _ = ray.wait(list(self.running), num_returns=1, timeout=self._wait_seconds())
            finished = [self._collect(ref) for ref in ready] + list(self._expire())
            for job, record in finished:
                settled = self.settle(job, record)  # a fault goes back in the queue
                if settled is not None:
                    yield settled
            self._dispatch()

    @property
    def pending(self) -> int:
        return len(self.queue) + len(self.running)

    def _dispatch(self) -> None:
        """Start queued jobs while the cluster has room for them."""
        while self.queue and len(self.running) < self.slots:
            job, submitted = self.queue.popleft()
            dispatched = time.time()  # before .remote(): the task may start before it returns
            ref = self.task.remote(self.problem_ref, job)
            self.running[ref] = (job, {"submitted": submitted, "dispatched": dispatched})

    def _wait_seconds(self) -> float:
        if self.timeout is None:
            return POLL_SECONDS
        first = min(times["dispatched"] for _, times in self.running.values())
        return max(0.0, min(POLL_SECONDS, first + self.timeout - time.time()))

    def _collect(self, ref: Any) -> tuple[Job, dict[str, Any]]:
        import ray

        job, times = self.running.pop(ref)
        try:
            record = ray.get(ref)
        except ray.exceptions.RayTaskError as e:
            if isinstance(e.cause, UsageError):  # e.g. the node's corpus is not the run's
                raise UsageError(str(e.cause)) from None
            raise
        except ray.exceptions.RayError as e:  # the worker, its node or its memory: a fault
            reason = str(e).strip().splitlines()[0] if str(e).strip() else ""
            record = fault_record(self.problem, job, f"{type(e).__name__}: {reason}")
        record["timings"] |= times | {"collected": time.time()}
        return job, record

    def _expire(self) -> Iterator[tuple[Job, dict[str, Any]]]:
        """Kill the evaluations that ran past eval_timeout: machine faults, not results."""
        import ray

        if self.timeout is None:
            return
        now = time.time()
        overdue = [r for r, (_, t) in self.running.items() if now - t["dispatched"] > self.timeout]
        if not overdue:
            return
        # One that finished meanwhile is collected as usual: cancelling a task as it finishes
        # is the race that can crash Ray's core worker (see close).
        finished, _ = ray.wait(overdue, num_returns=len(overdue), timeout=0)
        for ref in [r for r in overdue if r not in finished]:
            ray.cancel(ref, force=True)  # kills the worker process; Ray does not retry it
            job, times = self.running.pop(ref)
            record = fault_record(self.problem, job, f"timed out after {self.timeout:g} s")
            record["timings"] |= times | {"collected": now}
            yield job, record

    def close(self) -> None:
        """Stop what is still running: shut Ray down if this executor started or joined it
        (that ends every task of this driver), else cancel its tasks."""
        import ray

        if self.owns_ray:
            # No ray.cancel first: cancelling tasks that are finishing, right before shutdown,
            # can trip a check in Ray's core worker and crash the driver (Ray 2.60, 1 Ctrl-C
            # in ~12; cf. ray-project/ray#54846).
            ray.shutdown()
            self.owns_ray = False
        elif ray.is_initialized():
            for ref in self.running:
                ray.cancel(ref, force=True)
        self.running.clear()
        self.queue.clear()


def _check_dashboard() -> None:
    try:
        import ray.dashboard.optional_deps  # noqa: F401 (what `ray[default]` adds)
    except ImportError:
        raise UsageError("--ray-dashboard needs `pip install 'ray[default]'`") from None


def _check_device(problem: Problem, settings: Execution) -> None:
    device = str(problem.budget(0).get("device", "auto"))
    if device.startswith("cuda") and settings.gpus_per_eval == 0:
        raise UsageError(
            f"budget.device={device!r} needs --gpus-per-eval > 0: "
            "Ray gives an evaluation no GPU unless it asks for one"
        )


@contextlib.contextmanager
def _sigint_blocked() -> Iterator[None]:
    """Keep Ctrl-C away from the Ray processes started here.

    A terminal sends SIGINT to the whole process group, and a Ray killed under a live driver
    crashes it. A blocked signal stays blocked in every process started meanwhile (the mask is
    inherited through fork and exec), while the driver gets a Ctrl-C pressed during start-up as
    soon as the block is lifted: a KeyboardInterrupt, after which `close` shuts Ray down.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


@contextlib.contextmanager
def _sigterm_handler_kept() -> Iterator[None]:
    """Keep the caller's own SIGTERM handler (hrfevo's CLI stops a run as Ctrl-C does), which
    `ray.init` would replace with `sys.exit(15)`; with no handler of the caller's, Ray's stays.
    """
    previous = signal.getsignal(signal.SIGTERM)
    try:
        yield
    finally:
        if callable(previous) and threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, previous)


def _alive_nodes() -> list[dict[str, float]]:
    import ray

    return [dict(n["Resources"]) for n in ray.nodes() if n.get("Alive")]


def _shipped_source() -> dict[str, Any]:
    """Send the driver's `hrfevo` and `model` packages, so every node runs the same code."""
    import hrfevo
    import model

    packages = [str(Path(p.__file__).parent) for p in (hrfevo, model) if p.__file__]
    return {"py_modules": packages, "excludes": ["__pycache__", "*.pyc"]}
