"""`hrfevo.load_run`: a run as pandas tables, its front, a selection and a genome by key."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

import hrfevo
from hrfevo.api import COLUMNS, RunData, load_run
from hrfevo.errors import UsageError
from hrfevo.genome import Genome
from hrfevo.problems.spectral import METRICS
from hrfevo.run import RunView
from tests.hrfevo.damage import empty_copy


def journal(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "journal.jsonl").read_text().splitlines()]


def test_the_package_exports_the_api() -> None:
    assert {"load_run", "export", "report", "__version__"} <= set(hrfevo.__all__)
    assert hrfevo.load_run is load_run
    assert callable(hrfevo.export) and callable(hrfevo.report)
    with pytest.raises(AttributeError):
        _ = hrfevo.no_such_name


def test_evaluations_has_one_row_per_journal_line(run: RunData, run_dir: Path) -> None:
    lines = journal(run_dir)
    ev = run.evaluations
    assert list(ev.columns) == list(COLUMNS)
    assert len(ev) == len(lines) == len(run.records)
    for line, (_, row) in zip(lines, ev.iterrows(), strict=True):
        assert row["key"] == line["key"] and row["status"] == line["status"]
        assert all(row[m] == line["metrics"][m] for m in METRICS)


def test_gene_columns_summarise_each_genome(run: RunData) -> None:
    for _, row in run.evaluations.iterrows():
        g = run.genome(row["key"])
        assert row["mixers"].split(",") == list(g.arch.mixers)
        assert (row["d_model"], row["n_layers"], row["embedding"]) == (
            g.arch.d_model,
            g.arch.n_layers,
            g.arch.embedding,
        )
        assert pd.isna(row["wavelet"]) == ("wavelet" not in g.arch.mixers)


def test_the_transformer_seed_is_a_baseline(run: RunData) -> None:
    seeded = run.evaluations[run.evaluations["seeded"]]
    assert len(seeded) == 1
    row = seeded.iloc[0]
    assert row["baseline"] and row["embedding"] == "table"
    assert set(row["mixers"].split(",")) == {"attention"}


def test_pareto_and_hypervolume_match_the_run_logs(run: RunData, run_dir: Path) -> None:
    for name, table in (("pareto.csv", run.pareto), ("hypervolume.csv", run.hypervolume)):
        written = pd.read_csv(run_dir / name)
        assert list(table.columns) == list(written.columns)
        pd.testing.assert_frame_equal(
            table.reset_index(drop=True), written, check_dtype=False, check_exact=False
        )
    assert run.hypervolume["generation"].tolist() == list(range(run.generations))


def test_front_is_the_final_front_in_order(run: RunData, run_dir: Path) -> None:
    front = run.front()
    assert front["key"].tolist() == [r["key"] for r in RunView(run_dir).front()]
    assert list(front.columns) == list(COLUMNS)
    assert set(front["key"]) == set(run.evaluations.loc[run.evaluations["on_front"], "key"])
    last = run.pareto[run.pareto["generation"] == run.generations - 1]
    assert set(last["key"]) == set(front["key"])


@pytest.mark.parametrize("select", ["knee", "min-perplexity", "max-flops", "key"])
def test_best_returns_the_selected_row(run: RunData, select: str) -> None:
    front = run.front()
    if select == "max-flops":
        budget = float(front["flops_per_token"].median())
        fits = front[front["flops_per_token"] <= budget]
        row = run.best(f"max-flops:{budget}")
        assert row["key"] == fits.sort_values(["perplexity", "key"]).iloc[0]["key"]
    elif select == "key":
        key = run.evaluations.iloc[-1]["key"]
        assert run.best(f"key:{key}")["key"] == key
    else:
        row = run.best(select)
        assert row["on_front"] and isinstance(row, pd.Series)
        if select == "min-perplexity":
            assert row["perplexity"] == front["perplexity"].min()
    assert run.best()["key"] == run.best("knee")["key"]


def test_best_rejects_what_it_cannot_choose(run: RunData) -> None:
    with pytest.raises(UsageError, match="no front member fits"):
        run.best("max-flops:1")
    with pytest.raises(UsageError, match="no genome with that key"):
        run.best("key:0123456789abcdef")
    with pytest.raises(UsageError, match="choose knee"):
        run.best("best")


def test_genome_by_key_round_trips(run: RunData) -> None:
    for key in run.evaluations["key"]:
        g = run.genome(key)
        assert isinstance(g, Genome) and g.key == key
        assert Genome.from_dict(g.to_dict()) == g
    with pytest.raises(UsageError, match="no genome with key"):
        run.genome("nope")


def test_an_empty_run_loads_with_empty_tables(run_dir: Path, tmp_path: Path) -> None:
    empty = load_run(empty_copy(run_dir, tmp_path / "empty"))
    assert empty.evaluations.empty and list(empty.evaluations.columns) == list(COLUMNS)
    assert empty.front().empty and empty.hypervolume.empty and empty.generations == 0
    with pytest.raises(UsageError, match="no successful evaluations"):
        empty.best()


def test_a_directory_that_is_not_a_run_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="not a run directory"):
        load_run(tmp_path)


def test_the_baseline_is_attention_with_a_table_and_no_spectral_ffn() -> None:
    from dataclasses import replace

    from hrfevo.genome import is_baseline, transformer_genome

    g = transformer_genome()
    assert is_baseline(g)
    assert not is_baseline(replace(g, arch=replace(g.arch, spectral_share=0.5)))
    assert not is_baseline(replace(g, arch=replace(g.arch, embedding="hybrid")))
    assert not is_baseline(replace(g, arch=replace(g.arch, mixers=("attention", "fourier"))))


def test_every_successful_evaluation_records_its_measured_latency(run: RunData) -> None:
    ok = [r for r in run.journal if r["status"] == "ok"]
    assert ok and all(r["metrics"]["latency_ms"] > 0 for r in ok)
    assert all(r["metrics"]["latency_spread_ms"] >= 0 for r in ok)
    assert (run.front()["latency_ms"] > 0).all()  # a column of the tables, as every metric
