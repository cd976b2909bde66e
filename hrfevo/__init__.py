"""HRFEvo: evolutionary search for causal spectral language models."""

__version__ = "0.1.0"
