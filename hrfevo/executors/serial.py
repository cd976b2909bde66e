"""In-process, one job at a time: for debugging, tests and single-core machines."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from typing import Any

from hrfevo.executor import Execution, Executor, Job, run_job
from hrfevo.problem import Problem


class SerialExecutor(Executor):
    def __init__(self, problem: Problem, settings: Execution | None = None) -> None:
        super().__init__(problem, settings)
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
