"""A causal spectral language model: harmonic embeddings, wavelet and Fourier token mixers.

`model/` stands alone: build, train, save, load and generate without the search (`hrfevo/`).
What this file exports is the public API; `hrfevo/` imports `model` through it alone.
"""

from model.analysis import SpectralAnalyzer
from model.basis import FAMILIES, BasisSpec, default_basis
from model.checks import ConfigError, check_int, fail, is_int, is_number, reject_unknown_fields
from model.config import (
    BAND_MIXING_CHOICES,
    EMBEDDING_CHOICES,
    MAX_FFN_MULT,
    MAX_SIZES,
    MIXER_CHOICES,
    ModelConfig,
    max_wavelet_levels,
)
from model.data import ByteTokenizer, Corpus, DataError, contamination, load_corpus
from model.ffn import hidden_width
from model.lm import SpectralLM
from model.memory import describe_bytes, memory_problem, state_bytes, training_bytes
from model.mixers import MIXERS
from model.pretrained import CONFIG_FILE, WEIGHTS_FILE
from model.train import (
    TrainResult,
    decay_start,
    evaluate,
    resolve_device,
    seed_stream,
    train,
)
from model.train_config import MAX_SEED, MAX_STEPS, MAX_THREADS, TrainConfig, valid_device
from model.train_state import TrainState
from model.wavelets import canonical_wavelet, wavelet_aliases

__all__ = [
    "BAND_MIXING_CHOICES",
    "CONFIG_FILE",
    "EMBEDDING_CHOICES",
    "FAMILIES",
    "MAX_FFN_MULT",
    "MAX_SEED",
    "MAX_SIZES",
    "MAX_STEPS",
    "MAX_THREADS",
    "MIXERS",
    "MIXER_CHOICES",
    "WEIGHTS_FILE",
    "BasisSpec",
    "ByteTokenizer",
    "ConfigError",
    "Corpus",
    "DataError",
    "ModelConfig",
    "SpectralAnalyzer",
    "SpectralLM",
    "TrainConfig",
    "TrainResult",
    "TrainState",
    "canonical_wavelet",
    "check_int",
    "contamination",
    "decay_start",
    "default_basis",
    "describe_bytes",
    "evaluate",
    "fail",
    "hidden_width",
    "is_int",
    "is_number",
    "load_corpus",
    "max_wavelet_levels",
    "memory_problem",
    "reject_unknown_fields",
    "resolve_device",
    "seed_stream",
    "state_bytes",
    "train",
    "training_bytes",
    "valid_device",
    "wavelet_aliases",
]
