"""The one exception type that means "the user's input is wrong"."""


class UsageError(Exception):
    """Bad input: a flag, config file, genome, run directory or data path.

    The CLI prints its message on one line and exits with status 2. It is raised before any
    file is created or changed.
    """
