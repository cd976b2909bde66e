"""Byte tokens, corpora and their split, random training windows, and bad data input."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from model.data import ByteTokenizer, DataError, builtin_bytes, get_batch, load_corpus


@given(st.text())
@settings(max_examples=200, deadline=None)
def test_bytes_round_trip_any_text(text: str) -> None:
    tok = ByteTokenizer()
    ids = tok.encode(text)
    assert ids.dtype == np.uint8
    assert len(ids) == len(text.encode("utf-8"))
    assert tok.decode(ids) == text
    assert tok.decode(ids.tolist()) == text


def test_decode_never_raises_on_arbitrary_bytes() -> None:
    ids = np.arange(256)  # every byte, most of them invalid UTF-8 on their own
    text = ByteTokenizer().decode(ids)
    assert "\ufffd" in text
    assert text.startswith("\x00\x01")
    with pytest.raises(ValueError, match=r"\[0, 255\]"):
        ByteTokenizer().decode([0, 256])


def test_builtin_is_deterministic_sizeable_text() -> None:
    first = load_corpus("builtin")
    builtin_bytes.cache_clear()  # rebuild from the files, not from the cache
    second = load_corpus("builtin")
    assert first.sha256 == second.sha256
    assert np.array_equal(first.train, second.train) and np.array_equal(first.val, second.val)
    data = builtin_bytes()
    assert 4 * 2**20 <= len(data) <= 8 * 2**20
    text = data.decode("utf-8")  # valid UTF-8 throughout
    assert "def " in text and "import " in text
    headers = [ln[7:-5] for ln in text.splitlines() if ln.startswith("# ==== ")]
    assert headers == sorted(headers)  # files in sorted path order
    skipped = {"site-packages", "test", "tests", "idlelib", "__pycache__"}
    assert not any(skipped & set(h.split("/")[:-1]) for h in headers)


def test_split_is_contiguous_and_recorded(text_file: Path) -> None:
    raw = text_file.read_bytes()
    corpus = load_corpus(str(text_file), val_fraction=0.1)
    split = corpus.split()
    assert split["boundary"] == int(len(raw) * 0.9) == len(corpus.train)
    assert split["train_tokens"] + split["val_tokens"] == split["tokens"] == len(raw)
    assert corpus.train.tobytes() + corpus.val.tobytes() == raw  # together, no overlap
    assert split["val_fraction"] == 0.1 and split["corpus"] == str(text_file)
    assert len(split["sha256"]) == 64
    assert isinstance(corpus.train, np.memmap)  # a large file is not read into memory


def test_get_batch_windows_come_from_the_split_and_repeat(text_file: Path) -> None:
    corpus = load_corpus(str(text_file))
    val = corpus.val.tobytes()
    x, y = get_batch(corpus.val, 8, 32, np.random.default_rng(3))
    assert x.shape == y.shape == (8, 32)
    assert str(x.dtype) == "torch.int64"
    assert (x[:, 1:] == y[:, :-1]).all()  # targets are the inputs shifted by one
    for row_x, row_y in zip(x.tolist(), y.tolist(), strict=True):
        window = bytes(row_x + row_y[-1:])
        assert window in val
    x2, y2 = get_batch(corpus.val, 8, 32, np.random.default_rng(3))
    assert (x == x2).all() and (y == y2).all()
    x3, _ = get_batch(corpus.val, 8, 32, np.random.default_rng(4))
    assert not (x == x3).all()


def test_get_batch_reaches_both_ends() -> None:
    tokens = np.arange(11, dtype=np.uint8)  # exactly one window of 10 + 1 targets
    x, y = get_batch(tokens, 4, 10, np.random.default_rng(0))
    assert (x == x[0]).all() and x[0].tolist() == list(range(10)) and y[0, -1] == 10
    with pytest.raises(ValueError, match="one window"):
        get_batch(tokens, 4, 11, np.random.default_rng(0))


@pytest.mark.parametrize(
    ("content", "min_tokens", "match"),
    [
        (None, 0, "not found"),
        (b"", 0, "is empty"),
        (b"abc\xff\xfedef", 0, r"not UTF-8 text \(bad byte at offset 3\)"),
        (b"to be or not", 33, "shorter than one context window"),
    ],
)
def test_bad_data_is_one_clear_line(
    tmp_path: Path, content: bytes | None, min_tokens: int, match: str
) -> None:
    path = tmp_path / "corpus.txt"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(DataError, match=match) as info:
        load_corpus(str(path), min_tokens=min_tokens)
    assert "\n" not in str(info.value) and "corpus.txt" in str(info.value)


def test_directory_and_bad_fraction_are_data_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="not a regular file"):
        load_corpus(str(tmp_path))
    with pytest.raises(DataError, match="val_fraction"):
        load_corpus("builtin", val_fraction=1.0)


def test_hf_without_datasets_is_a_data_error() -> None:
    if importlib.util.find_spec("datasets") is not None:
        pytest.skip("datasets is installed; loading from the hub needs the network")
    with pytest.raises(DataError, match="needs the 'datasets' package"):
        load_corpus("hf:tiny_shakespeare")
    with pytest.raises(DataError, match="expected hf:NAME"):
        load_corpus("hf:")
