"""A run directory as pandas tables, for notebooks: `hrfevo.load_run(path)`.

    run = hrfevo.load_run("populations/tiny-20250101-120000-s0")
    run.evaluations            # one row per genome: its highest-rung metrics, gene summary
    run.front()                # the final front, of top-rung results (rows of `evaluations`)
    run.provisional_front(0)   # with a ladder: the provisional front of rung 0's results
    run.fidelity               # with a ladder: rank agreement between rungs, by generation
    run.best("max-flops:5e4")  # one row, chosen as `hrfevo export --select` would
    run.genome(key)            # the hrfevo.genome.Genome of any evaluation

Reading never changes the directory, so it works on a run that is still going; the tables
then include the generation in progress.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from hrfevo.choice import choose, parse_select
from hrfevo.errors import UsageError
from hrfevo.genome import GENES, Genome, describe, genes, is_baseline
from hrfevo.objectives import PROBED
from hrfevo.pareto import fidelity_log, front, generation_logs, genomes, provisional
from hrfevo.problem import Record
from hrfevo.problems.spectral import MEASURED_METRICS, METRICS
from hrfevo.run import RunView

COLUMNS = (
    *("key", "rung", "generation", "status", "error", *METRICS, *PROBED),
    *MEASURED_METRICS,
    *("seconds", "device"),
    "summary",
    *GENES,
    *("baseline", "seeded", "on_front"),
)


class RunData:
    """A run directory, read once and validated (a bad directory is a UsageError)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.view = RunView(self.path)
        self.name = self.path.resolve().name
        self.config, self.info = self.view.config, self.view.info
        self.problem = self.view.problem()
        self.journal: list[Record] = self.view.records()  # every evaluation, journal order
        self.records: list[Record] = genomes(self.journal)  # each genome's highest rung
        self.front_records: list[Record] = front(self.journal, self.problem)  # confirmed
        self.provisional: dict[int, list[Record]] = provisional(self.journal, self.problem)
        # Every generation that has a record, the one in progress included.
        self.generations = 1 + max((r["generation"] for r in self.journal), default=-1)
        self.evaluations = self._evaluations()
        self.pareto, self.hypervolume = generation_logs(
            self.journal, self.problem, self.generations
        )
        self.fidelity = fidelity_log(self.journal, self.problem, self.generations)

    def _evaluations(self) -> pd.DataFrame:
        return self._table(self.records)

    def _table(self, records: list[Record]) -> pd.DataFrame:
        """One row of COLUMNS per record."""
        seeded = {Genome.from_dict(g).key for g in self.info.get("seed_genomes", [])}
        on_front = {r["key"] for r in self.front_records}
        rows = []
        for r in records:
            genome = Genome.from_dict(r["candidate"])
            rows.append(
                {
                    **{k: r[k] for k in ("key", "generation", "status", "error")},
                    "rung": r.get("rung", 0),
                    **{m: r["metrics"].get(m) for m in (*METRICS, *PROBED, *MEASURED_METRICS)},
                    "seconds": r["timings"].get("seconds"),
                    "device": r.get("worker", {}).get("device"),
                    "summary": describe(genome),
                    **genes(genome),
                    "baseline": is_baseline(genome),
                    "seeded": r["key"] in seeded,
                    "on_front": r["key"] in on_front,
                }
            )
        return pd.DataFrame(rows, columns=list(COLUMNS))

    def front(self) -> pd.DataFrame:
        """The final front's rows of `evaluations`, by perplexity then FLOPs then key: the
        genomes confirmed at the top rung that no other one dominates (`hrfevo.pareto`)."""
        keys = [r["key"] for r in self.front_records]
        return self.evaluations.set_index("key", drop=False).loc[keys].reset_index(drop=True)

    def provisional_front(self, rung: int) -> pd.DataFrame:
        """The provisional front of the results at `rung`, a rung below the ladder's top: rows
        like `evaluations`', with the metrics measured at that rung."""
        if rung not in self.provisional:
            rungs = ", ".join(map(str, self.provisional)) or "none (no fidelity ladder)"
            raise UsageError(f"rung {rung}: the provisional rungs of {self.path} are {rungs}")
        return self._table(self.provisional[rung])

    def record(self, key: str) -> Record:
        """The record of `key` at the highest rung it reached; UsageError if the run has none."""
        for r in self.records:
            if r["key"] == key:
                return r
        raise UsageError(f"no genome with key {key!r} in {self.path}")

    def select(self, select: str = "knee") -> Record:
        """The journal record that `hrfevo export --select SELECT` would take."""
        return choose(parse_select(select), self.front_records, self.records, self.problem)

    def best(self, select: str = "knee") -> pd.Series:
        """The `evaluations` row of the genome that SELECT picks (see hrfevo.choice)."""
        key = self.select(select)["key"]
        return self.evaluations.loc[self.evaluations["key"] == key].iloc[0]

    def genome(self, key: str) -> Genome:
        """The genome evaluated under `key`."""
        return Genome.from_dict(self.record(key)["candidate"])

    def __repr__(self) -> str:
        return (
            f"RunData({str(self.path)!r}: {len(self.journal)} evaluations, "
            f"{self.generations} generations, front of {len(self.front_records)})"
        )


def load_run(path: str | Path) -> RunData:
    """Open a run directory for reading (see the module docstring)."""
    return RunData(path)
