"""A three-layer model with one of each mixer: small enough to train in a test."""

from model import ModelConfig

TINY = ModelConfig(
    vocab_size=256,
    seq_len=32,
    d_model=32,
    n_layers=3,
    mixer=["wavelet", "fourier", "attention"],
    wavelet_levels=2,
    embedding="spectral",
    harmonic_bases=8,
)
