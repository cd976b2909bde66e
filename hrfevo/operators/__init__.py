"""Variation operators: plain functions of (genome, space, rng), as in DEAP's operator modules.

One module per concept: `sampling` (random genomes), `repair` (back into the space),
`mutation` and `crossover`. Every operator takes the RNG as an argument (a
`numpy.random.Generator`; never a global) and returns a new genome that `repair` has mapped
back into the space.
"""

from hrfevo.operators.crossover import crossover, siblings
from hrfevo.operators.draw import Rng
from hrfevo.operators.mutation import (
    EXTRA_MUTATION_P,
    MAX_TRIES,
    MUTATIONS,
    Mutation,
    add_function,
    drop_function,
    mutate,
    step_center,
    step_depth,
    step_ffn_mult,
    step_frequency,
    step_heads,
    step_levels,
    step_phase,
    step_shape,
    step_spectral_share,
    step_wavelet,
    step_width,
    swap_family,
    switch_band_mixing,
    switch_embedding,
    switch_layer_mixer,
    switch_wavelet_family,
    wavelet_family,
)
from hrfevo.operators.repair import DECIMALS, repair
from hrfevo.operators.sampling import random_basis_function, random_genome

__all__ = [
    "DECIMALS",
    "EXTRA_MUTATION_P",
    "MAX_TRIES",
    "MUTATIONS",
    "Mutation",
    "Rng",
    "add_function",
    "crossover",
    "drop_function",
    "mutate",
    "random_basis_function",
    "random_genome",
    "repair",
    "siblings",
    "step_center",
    "step_depth",
    "step_ffn_mult",
    "step_frequency",
    "step_heads",
    "step_levels",
    "step_phase",
    "step_shape",
    "step_spectral_share",
    "step_wavelet",
    "step_width",
    "swap_family",
    "switch_band_mixing",
    "switch_embedding",
    "switch_layer_mixer",
    "switch_wavelet_family",
    "wavelet_family",
]
