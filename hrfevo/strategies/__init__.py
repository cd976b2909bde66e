"""Search strategies by name. Adding one: a file here and one `STRATEGIES` entry,
"name": "hrfevo.strategies.<file>:<Class>" (imported only when a run uses it, so the CLI's
choices and help cost no import; the first entry is the default)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hrfevo.registry import Registry

if TYPE_CHECKING:
    from hrfevo.strategy import Strategy

STRATEGIES: Registry[Strategy] = Registry(
    "strategy",
    {
        "nsga2": "hrfevo.strategies.nsga2:NSGA2",
        "random": "hrfevo.strategies.random_search:RandomSearch",
        "tpe": "hrfevo.strategies.optuna_samplers:TPE",
        "optuna-nsga2": "hrfevo.strategies.optuna_samplers:OptunaNSGA2",
        "optuna-gp": "hrfevo.strategies.optuna_samplers:OptunaGP",
    },
)

__all__ = ["STRATEGIES"]
