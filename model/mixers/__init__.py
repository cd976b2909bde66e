"""Token mixers, looked up by name. Adding one: a file beside these and one `MIXERS` entry."""

from model.mixers.attention import CausalSelfAttention
from model.mixers.base import Mixer
from model.mixers.fourier import FourierMixer
from model.mixers.wavelet import WaveletMixer

MIXERS: dict[str, type[Mixer]] = {
    "wavelet": WaveletMixer,
    "fourier": FourierMixer,
    "attention": CausalSelfAttention,
}

__all__ = ["MIXERS", "CausalSelfAttention", "FourierMixer", "Mixer", "WaveletMixer"]
