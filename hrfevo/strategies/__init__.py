"""Search strategies by name. Adding one: a file here and one `STRATEGIES` entry."""

from hrfevo.strategies.nsga2 import NSGA2
from hrfevo.strategies.random_search import RandomSearch
from hrfevo.strategy import Strategy

STRATEGIES: dict[str, type[Strategy]] = {"nsga2": NSGA2, "random": RandomSearch}

__all__ = ["NSGA2", "STRATEGIES", "RandomSearch"]
