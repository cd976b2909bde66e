"""Problems the search can optimise. Adding one: a file here and one `PROBLEMS` entry."""

from hrfevo.problems.spectral import SpectralProblem
from hrfevo.problems.zdt import ZDT1

__all__ = ["ZDT1", "SpectralProblem"]
