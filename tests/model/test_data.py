"""Byte tokens, corpora and their three splits, training and evaluation windows, contamination,
and bad data input."""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import model.data as data_module
from model.data import (
    ByteTokenizer,
    Corpus,
    DataError,
    builtin_bytes,
    builtin_files,
    contamination,
    eval_starts,
    file_split,
    get_batch,
    load_corpus,
)

HEADER = b"\n# ==== "


def headers(tokens: np.ndarray) -> list[str]:
    """The relative paths named by the file header lines in a builtin byte stream."""
    text = tokens.tobytes().decode("utf-8")
    return [ln[7:-5] for ln in text.splitlines() if ln.startswith("# ==== ")]


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
    builtin_files.cache_clear()
    second = load_corpus("builtin")
    assert first.sha256 == second.sha256
    for name in ("train", "val", "test"):
        assert np.array_equal(getattr(first, name), getattr(second, name))
    data = builtin_bytes()
    assert 4 * 2**20 <= len(data) <= 8 * 2**20
    text = data.decode("utf-8")  # valid UTF-8 throughout
    assert "def " in text and "import " in text
    headers = [ln[7:-5] for ln in text.splitlines() if ln.startswith("# ==== ")]
    assert headers == sorted(headers)  # files in sorted path order
    # encodings/ holds generated codec tables, which repeat each other line for line: kept,
    # they made a tenth of the held-out windows verbatim copies of training text.
    skipped = {"site-packages", "test", "tests", "idlelib", "__pycache__", "encodings"}
    assert not any(skipped & set(h.split("/")[:-1]) for h in headers)


def test_builtin_splits_by_whole_files() -> None:
    corpus = load_corpus("builtin", val_fraction=0.1, test_fraction=0.1)
    files = dict(builtin_files())
    by_split = {name: headers(getattr(corpus, name)) for name in ("train", "val", "test")}
    named = [rel for rels in by_split.values() for rel in rels]
    assert sorted(named) == sorted(files)  # every file in exactly one split, none twice
    for name, rels in by_split.items():
        assert rels == sorted(rels) and all(file_split(r, 0.1, 0.1) == name for r in rels)
        whole = b"".join(files[r] for r in rels)  # each split is its whole files, in order
        assert getattr(corpus, name).tobytes() == whole
        assert len(whole) > 0.03 * len(builtin_bytes())  # a sizeable share of the stream
    split = corpus.split()
    assert split["method"] == "files"
    assert split["files"] == {name: len(rels) for name, rels in by_split.items()}
    assert split["tokens"] == len(builtin_bytes()) == sum(len(p) for p in files.values())
    assert split["sha256"] == hashlib.sha256(builtin_bytes()).hexdigest()


def test_a_builtin_files_split_depends_on_its_path_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    full = load_corpus("builtin")
    where = {rel: name for name in ("train", "val", "test") for rel in headers(getattr(full, name))}
    fewer = builtin_files()[1::3]  # other files present: a different Python, say
    monkeypatch.setattr(data_module, "builtin_files", lambda: fewer)
    part = load_corpus("builtin")
    for name in ("train", "val", "test"):
        assert all(where[rel] == name for rel in headers(getattr(part, name)))
    more_val = load_corpus("builtin", val_fraction=0.2)  # the held-out files stay held out
    assert headers(more_val.test) == headers(part.test)
    assert len(load_corpus("builtin", test_fraction=0.0).test) == 0


def test_a_text_file_is_cut_into_three_contiguous_blocks(text_file: Path) -> None:
    raw = text_file.read_bytes()
    n = len(raw)
    corpus = load_corpus(str(text_file), val_fraction=0.1, test_fraction=0.1)
    b1, b2 = int(n * 0.8), int(n * 0.9)
    assert corpus.train.tobytes() == raw[:b1]
    assert corpus.val.tobytes() == raw[b1:b2]
    assert corpus.test.tobytes() == raw[b2:]
    assert corpus.test.dtype == np.uint8
    assert corpus.split() == {
        "corpus": str(text_file),
        "sha256": hashlib.sha256(raw).hexdigest(),
        "tokens": n,
        "train_tokens": b1,
        "val_tokens": b2 - b1,
        "test_tokens": n - b2,
        "val_fraction": 0.1,
        "test_fraction": 0.1,
        "method": "blocks",
    }
    assert isinstance(corpus.train, np.memmap)  # a large file is not read into memory


def test_no_test_split_is_nanogpts_90_10_cut(text_file: Path) -> None:
    raw = text_file.read_bytes()
    corpus = load_corpus(str(text_file), val_fraction=0.1, test_fraction=0.0)
    assert corpus.train.tobytes() == raw[: int(len(raw) * 0.9)]  # nanoGPT's prepare.py
    assert corpus.val.tobytes() == raw[int(len(raw) * 0.9) :]
    assert len(corpus.test) == 0 and corpus.split()["test_tokens"] == 0


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


def test_a_short_test_split_counts_only_when_asked_for(tmp_path: Path) -> None:
    path = tmp_path / "corpus.txt"
    path.write_bytes(b"x" * 1000)
    with pytest.raises(DataError, match="shorter than one context window"):
        load_corpus(str(path), val_fraction=0.5, test_fraction=0.01, min_tokens=33)  # test: 10
    assert len(load_corpus(str(path), val_fraction=0.5, test_fraction=0.0, min_tokens=33).val)


@pytest.mark.parametrize(
    ("val", "test", "match"),
    [
        (1.0, 0.1, "val_fraction=1.0"),
        (0.0, 0.1, "val_fraction=0.0"),
        (0.1, -0.1, "test_fraction=-0.1"),
        (0.1, 1.0, "test_fraction=1.0"),
        (0.5, 0.5, r"val_fraction=0.5 \+ test_fraction=0.5"),
    ],
)
def test_bad_fractions_are_data_errors(val: float, test: float, match: str) -> None:
    with pytest.raises(DataError, match=match):
        load_corpus("builtin", val_fraction=val, test_fraction=test)


def test_a_directory_is_a_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="not a regular file"):
        load_corpus(str(tmp_path))


# --- evaluation windows and contamination --------------------------------------------------


@given(st.integers(2, 5000), st.integers(1, 300), st.integers(0, 400))
@settings(max_examples=300, deadline=None)
def test_eval_starts_cover_the_split_without_overlap(n: int, seq_len: int, want: int) -> None:
    if n < seq_len + 1:
        with pytest.raises(ValueError, match="one window"):
            eval_starts(n, seq_len, want)
        return
    starts = eval_starts(n, seq_len, want)
    assert len(starts) == max(1, min(want, (n - 1) // seq_len))
    assert starts[0] == 0  # from the start ...
    if len(starts) > 1:
        assert starts[-1] == n - seq_len - 1  # ... to the very end of the split
        gaps = np.diff(starts)
        assert gaps.min() >= seq_len  # no target scored twice
        assert gaps.max() - gaps.min() <= 1  # evenly spread
    assert np.array_equal(starts, eval_starts(n, seq_len, want))


def test_eval_starts_reach_the_far_end_of_a_long_split() -> None:
    starts = eval_starts(1_000_000, 64, 100)  # 100 windows: the first 6,400 bytes before
    assert len(starts) == 100 and starts[-1] == 1_000_000 - 65
    assert starts[50] == pytest.approx(500_000, abs=10_000)


def _corpus(train: bytes, val: bytes, test: bytes = b"") -> Corpus:
    tr, va, te = (np.frombuffer(b, np.uint8) for b in (train, val, test))
    return Corpus("made", tr, va, te, "0" * 64, val_fraction=0.1, test_fraction=0.1)


@pytest.mark.parametrize("chunk", [16 * 2**20, 1000])  # 1000: windows straddle chunk edges
def test_contamination_counts_windows_found_in_train(
    chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(data_module, "_CHUNK", chunk)
    rng = np.random.default_rng(0)
    train = rng.integers(0, 256, 20_000, dtype=np.uint8).tobytes()
    fresh = rng.integers(0, 256, 4_000, dtype=np.uint8).tobytes()
    copied = _corpus(train, train[7_000:11_000], fresh)
    assert contamination(copied, 32, 1024) == {"val": 1.0, "test": 0.0}
    half = _corpus(train, train[:2_000] + fresh[:2_000])
    starts = eval_starts(4_000, 32, 1024 // 32)
    inside = np.mean(starts + 33 <= 2_000)  # windows wholly in the copied half
    assert 0.4 < inside < 0.6
    assert contamination(half, 32, 1024) == {"val": inside}  # an empty test is not reported


def test_hf_without_datasets_is_a_data_error() -> None:
    if importlib.util.find_spec("datasets") is not None:
        pytest.skip("datasets is installed; loading from the hub needs the network")
    with pytest.raises(DataError, match="needs the 'datasets' package"):
        load_corpus("hf:tiny_shakespeare")
    with pytest.raises(DataError, match="expected hf:NAME"):
        load_corpus("hf:")
