"""A causal spectral language model: harmonic embeddings, wavelet and Fourier token mixers.

`model/` stands alone: build, train, save, load and generate without the search (`hrfevo/`).
"""

from model.analysis import SpectralAnalyzer
from model.basis import FAMILIES, BasisSpec, default_basis
from model.config import ModelConfig
from model.data import ByteTokenizer, Corpus, DataError, load_corpus
from model.lm import SpectralLM
from model.train import TrainConfig, TrainResult, evaluate, train

__all__ = [
    "FAMILIES",
    "BasisSpec",
    "ByteTokenizer",
    "Corpus",
    "DataError",
    "ModelConfig",
    "SpectralAnalyzer",
    "SpectralLM",
    "TrainConfig",
    "TrainResult",
    "default_basis",
    "evaluate",
    "load_corpus",
    "train",
]
