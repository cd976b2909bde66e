"""The exceptions the CLI turns into exit statuses: bad input (2), work whose result failed
(1), and evaluations the machine could not run (3)."""


class UsageError(Exception):
    """Bad input: a flag, config file, genome, run directory or data path.

    The CLI prints its message on one line and exits with status 2. It is raised before any
    file is created or changed.
    """


class MachineFaultError(Exception):
    """Evaluations the machine could not run (time-outs, lost workers, out of memory), after
    their retries. Nothing was journaled for them; `hrfevo resume` runs them again.

    The CLI prints the message on one line and exits with status 3.
    """

    def __init__(self, run_dir: object, errors: list[str], remedy: str | None = None) -> None:
        counts: dict[str, int] = {}
        for error in errors:
            counts[error] = counts.get(error, 0) + 1
        why = "; ".join(f"{e} (x{n})" if n > 1 else e for e, n in counts.items())
        n, them = len(errors), "them" if len(errors) != 1 else "it"
        remedy = remedy or f"`hrfevo resume {run_dir}` runs {them} again"
        super().__init__(
            f"{n} evaluation{'s' if n != 1 else ''} could not run: {why}. Nothing was "
            f"recorded for {them}; {remedy}"
        )
        self.errors = errors


class DivergedError(Exception):
    """A training ran, but its loss was not finite: there is no model to write, and nothing
    was written. The CLI prints the message on one line and exits with status 1, as a run
    whose every evaluation failed does."""
