"""Problems the search can optimise: HRFEvo's own, and the standard benchmarks that check the
loop (ZDT1-3 and DTLZ2, on the unit cube). Adding one: a file here and an export below."""

from hrfevo.problems.dtlz import DTLZ2
from hrfevo.problems.spectral import SpectralProblem
from hrfevo.problems.unit_cube import UnitCubeProblem
from hrfevo.problems.zdt import ZDT1, ZDT2, ZDT3

__all__ = ["DTLZ2", "ZDT1", "ZDT2", "ZDT3", "SpectralProblem", "UnitCubeProblem"]
