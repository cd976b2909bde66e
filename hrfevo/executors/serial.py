"""In-process, one job at a time: for debugging, tests and single-core machines.

`gpus_per_eval` > 0 runs each evaluation on this machine's GPU; asked of a machine without one,
it is refused at once (the Ray executor refuses it against its cluster's GPUs), never quietly
run on the CPU.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from typing import Any

from hrfevo.errors import UsageError
from hrfevo.executor import Execution, Executor, Job, run_job
from hrfevo.problem import Problem


class SerialExecutor(Executor):
    def __init__(self, problem: Problem, settings: Execution | None = None) -> None:
        import torch

        super().__init__(problem, settings)
        gpus = self.settings.gpus_per_eval
        if gpus > 0 and not torch.cuda.is_available():
            raise UsageError(
                f"--gpus-per-eval {gpus:g} asks for GPUs, but this machine has none; "
                "use --gpus-per-eval 0, or the ray executor on a GPU cluster (--ray-address)"
            )
        self.queue: deque[Job] = deque()

    def submit(self, job: Job) -> None:
        self.queue.append(job)

    def as_completed(self) -> Iterator[dict[str, Any]]:
        while self.queue:
            job = self.queue[0]
            record = run_job(self.problem, job)
            self.queue.popleft()  # only now: the job being run counts as pending until done
            settled = self.settle(job, record)
            if settled is not None:
                yield settled

    @property
    def pending(self) -> int:
        return len(self.queue)
