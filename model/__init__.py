"""A causal spectral language model: harmonic embeddings, wavelet and Fourier token mixers.

`model/` stands alone: build, train, save, load and generate without the search (`hrfevo/`).
"""

from model.basis import FAMILIES, BasisSpec, default_basis
from model.config import ModelConfig
from model.lm import SpectralLM

__all__ = ["FAMILIES", "BasisSpec", "ModelConfig", "SpectralLM", "default_basis"]
