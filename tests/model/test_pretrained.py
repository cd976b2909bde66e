"""A model directory is untrusted input: each way of tampering with one is a one-line ValueError
naming the field, file or tensor, raised before the model is built (model/pretrained.py)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import torch

from model import SpectralLM
from model.pretrained import expected_tensors
from tests.model.tampering import SMALL, TAMPERINGS, edit_config, save, tampered, weights
from tests.model.test_lm import KINDS, small


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The device of each SpectralLM built from now on ("meta" allocates nothing)."""
    built: list[str] = []
    init = SpectralLM.__init__

    def spy(self: SpectralLM, config: Any) -> None:
        built.append(torch.empty(0).device.type)  # the device a factory call lands on
        init(self, config)

    monkeypatch.setattr(SpectralLM, "__init__", spy)
    return built


@pytest.mark.parametrize("name", list(TAMPERINGS))
def test_a_tampered_directory_is_refused_in_one_line_before_any_build(
    name: str, tmp_path: Path, builds: list[str]
) -> None:
    d = tampered(name, tmp_path)
    builds.clear()
    with pytest.raises(ValueError) as info:
        SpectralLM.from_pretrained(d)
    message = str(info.value)
    assert message.startswith(f"model directory {str(d)!r} cannot be loaded: ")
    assert TAMPERINGS[name][1] in message and "\n" not in message
    assert set(builds) <= {"meta"}


@pytest.mark.parametrize("kw", KINDS, ids=str)
def test_the_meta_build_names_every_tensor_with_its_shape_and_dtype(kw: dict[str, Any]) -> None:
    model = small(**kw)
    expected = expected_tensors(SpectralLM, model.cfg)
    real = model.state_dict()
    assert list(expected) == list(real)
    for name, tensor in expected.items():
        assert tensor.device.type == "meta"
        assert (tensor.dtype, tensor.shape) == (real[name].dtype, real[name].shape), name


def test_a_link_within_the_directory_is_followed(tmp_path: Path, builds: list[str]) -> None:
    d = save(SMALL, tmp_path / "model")
    (d / "weights").mkdir()
    weights(d).rename(d / "weights" / "v1.safetensors")
    weights(d).symlink_to(Path("weights") / "v1.safetensors")
    builds.clear()
    assert SpectralLM.from_pretrained(d).cfg == SMALL
    assert builds == ["meta", "cpu"]  # the shapes, then the model, once they were checked


def fake_hub(cache: Path, repo: str, source: Path, fetched: list[str]) -> Any:
    """hf_hub_download over a cache laid out as the Hub's (a snapshot's files link to blobs),
    holding the files of `source`; each download's file name is appended to `fetched`."""
    repo_dir = cache / f"models--{repo.replace('/', '--')}"
    snapshot = repo_dir / "snapshots" / ("0" * 40)
    snapshot.mkdir(parents=True)
    (repo_dir / "blobs").mkdir()
    for f in source.iterdir():
        shutil.copy(f, repo_dir / "blobs" / f.name)
        (snapshot / f.name).symlink_to(Path("..", "..", "blobs", f.name))

    def download(*, repo_id: str, filename: str, cache_dir: Any = None, **_: Any) -> str:
        assert (repo_id, Path(cache_dir)) == (repo, cache)
        fetched.append(filename)
        return str(snapshot / filename)

    return download


def test_a_hub_id_is_downloaded_into_the_cache_and_checked_the_same_way(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = save(SMALL, tmp_path / "source")
    fetched: list[str] = []
    hub = fake_hub(tmp_path / "cache", "user/spectral", source, fetched)
    monkeypatch.setattr("model.pretrained.hf_hub_download", hub)
    model = SpectralLM.from_pretrained("user/spectral", cache_dir=tmp_path / "cache")
    assert model.cfg == SMALL and fetched == ["config.json", "model.safetensors"]
    torch.testing.assert_close(model.state_dict(), SpectralLM.from_pretrained(source).state_dict())


def test_a_tampered_hub_config_is_refused_before_the_weights_are_downloaded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = save(SMALL, tmp_path / "source")
    edit_config(source, vocab_size=10**12)
    fetched: list[str] = []
    hub = fake_hub(tmp_path / "cache", "user/spectral", source, fetched)
    monkeypatch.setattr("model.pretrained.hf_hub_download", hub)
    with pytest.raises(ValueError, match="vocab_size=1000000000000: must be an integer from 1"):
        SpectralLM.from_pretrained("user/spectral", cache_dir=tmp_path / "cache")
    assert fetched == ["config.json"]
