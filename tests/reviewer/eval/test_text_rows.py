"""The audit and text-baseline rows: kept under the dataset's content hash, and honest about what
their intervals cover (refit inside each resample, or the fit held fixed, said in the JSON)."""
from __future__ import annotations

import json

import numpy as np
import pytest

import reviewer.eval.evaluation as evaluation
from reviewer.eval.dataset import PaperRecord, ReviewerDataset
from reviewer.eval.evaluation import add_text_rows, evaluate_tables


def _dataset(tmp_path, n=40, seed=1):
    """Papers whose words carry a weak signal about the decision (so a fit is not trivial)."""
    rng = np.random.default_rng(seed)
    papers, folder = [], tmp_path / "papers"
    folder.mkdir()
    for i in range(n):
        accept = i % 3 == 0
        papers.append(PaperRecord(f"p{i}", (6.0, 8.0) if accept else (3.0, 5.0), "Accept (Poster)" if accept else "Reject"))
        vocab = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "theta", "kappa"]
        words = list(rng.choice(vocab, size=300)) + (["lambda"] * int(rng.integers(0, 6)) if accept else [])
        head = "Anonymous authors\nPaper under double-blind review\n\n" if not accept else "Jane Doe\nUniversity of X\n\n"
        (folder / f"p{i}.txt").write_text(f"# Title {i}\n\n{head}ABSTRACT\n\n{' '.join(words)}\n")
    return ReviewerDataset(None, papers), folder


def _counting(monkeypatch):
    calls = []
    real = evaluation._text_rows

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(evaluation, "_text_rows", counted)
    return calls


def test_second_run_reads_the_cache_and_gives_the_same_figures(tmp_path, monkeypatch):
    dataset, papers = _dataset(tmp_path)
    calls = _counting(monkeypatch)
    first = evaluate_tables(dataset, [], n_resamples=50)
    add_text_rows(first, dataset, papers, n_resamples=50)
    second = evaluate_tables(dataset, [], n_resamples=50)
    add_text_rows(second, dataset, papers, n_resamples=50)
    assert len(calls) == 1  # computed once
    a, b = first.to_json_dict(), second.to_json_dict()
    assert a["rows"]["text-baseline"] == b["rows"]["text-baseline"] and a["audit"] == b["audit"]
    assert a["rows"]["text-baseline-raw"]["ci"]["roc_auc"] == b["rows"]["text-baseline-raw"]["ci"]["roc_auc"]
    # the rows read back keep what the figures need
    row = next(r for r in second.rows if r.name == "text-baseline")
    assert row.score is not None and len(row.score) == 40 and row.y.dtype.kind == "i"


def test_any_change_to_the_dataset_or_settings_recomputes(tmp_path, monkeypatch):
    dataset, papers = _dataset(tmp_path)
    calls = _counting(monkeypatch)

    def run(ds, **kw):
        result = evaluate_tables(ds, [], n_resamples=kw.pop("n_resamples", 50))
        add_text_rows(result, ds, papers, n_resamples=result.n_resamples, **kw)
        return result

    run(dataset)
    # one paper's text edited by one byte
    path = papers / "p7.txt"
    path.write_text(path.read_text() + "x")
    run(dataset)
    # one label flipped (same texts)
    flipped = ReviewerDataset(None, [PaperRecord(p.paper_id, p.ratings, "Reject" if p.paper_id == "p0" else p.decision)
                                     for p in dataset.papers])
    run(flipped)
    run(dataset, n_resamples=60)  # other settings
    run(dataset, seed=3)
    assert len(calls) == 5
    run(dataset, seed=3)
    assert len(calls) == 5  # and the same again is a hit
    # --no-cache / BENCH_NO_CACHE: computed every time, nothing read
    run(dataset, seed=3, cache=False)
    monkeypatch.setenv("BENCH_NO_CACHE", "1")
    run(dataset, seed=3)
    assert len(calls) == 7


def test_an_unreadable_entry_is_recomputed(tmp_path, monkeypatch):
    from reviewer.eval.text_rows_cache import default_dir

    dataset, papers = _dataset(tmp_path)
    calls = _counting(monkeypatch)
    result = evaluate_tables(dataset, [], n_resamples=30)
    add_text_rows(result, dataset, papers, n_resamples=30)
    entries = list(default_dir().glob("text_rows_*.json"))
    assert len(entries) == 1
    entries[0].write_text('{"format": "ai-scientist-bench/text-rows/1", "rows": [')  # cut off
    again = evaluate_tables(dataset, [], n_resamples=30)
    add_text_rows(again, dataset, papers, n_resamples=30)
    assert len(calls) == 2 and {r.name for r in again.rows} >= {"text-baseline", "text-baseline-raw"}
    # a forged entry under another key is not taken for this one
    data = json.loads(entries[0].read_text())
    data["key"] = "0" * 64
    entries[0].write_text(json.dumps(data))
    add_text_rows(evaluate_tables(dataset, [], n_resamples=30), dataset, papers, n_resamples=30)
    assert len(calls) == 3


def test_fitted_rows_say_whether_their_intervals_refit(tmp_path):
    dataset, papers = _dataset(tmp_path)
    fixed = evaluate_tables(dataset, [], n_resamples=200)
    add_text_rows(fixed, dataset, papers, n_resamples=200, cache=False)
    rows = fixed.to_json_dict()["rows"]
    for name in ("text-baseline", "text-baseline-raw"):
        assert rows[name]["ci_refit"] is False and "NOT refit" in rows[name]["ci_method"]
    # rows with nothing fitted on the scored papers carry no such flag
    assert "ci_refit" not in rows["human"] and "ci_refit" not in rows["random"]
    from reviewer.eval.report import table_rows

    _, body = table_rows(fixed)
    assert any(cells[0].endswith("[fit not repeated in CIs]") for cells in body if cells[0].startswith("text baseline"))

    refit = evaluate_tables(dataset, [], n_resamples=200)
    add_text_rows(refit, dataset, papers, n_resamples=200, refit_resamples=20, cache=False)
    r_rows = refit.to_json_dict()["rows"]
    anon_fixed, anon_refit = rows["text-baseline"], r_rows["text-baseline"]
    assert anon_refit["ci_refit"] is True and "20" in anon_refit["ci_method"]
    assert anon_refit["roc_auc"] == anon_fixed["roc_auc"]  # same point estimate, other interval
    assert anon_refit["ci"]["roc_auc"] != anon_fixed["ci"]["roc_auc"]
    lo, hi = anon_refit["ci"]["roc_auc"]
    assert 0.0 <= lo < hi <= 1.0


def test_refit_replicates_never_train_on_the_paper_they_score():
    """Inside a resample a paper drawn twice stays in one fold: otherwise a memorising classifier
    would score its own copy and the refit interval would be optimistic."""
    from reviewer.eval.text_baseline import refit_replicates

    rng = np.random.default_rng(0)
    y = np.array([1] * 15 + [0] * 25)
    # every paper has its own unique token and nothing else: out of fold, nothing can be learnt
    texts = [f"token{chr(97 + i % 26)}{chr(97 + i // 26)}x common words here" for i in range(40)]
    idx, prob = refit_replicates(texts, y, resamples=20, seed=0)
    from sklearn.metrics import roc_auc_score

    aucs = [roc_auc_score(y[rows], p) for rows, p in zip(idx, prob)]
    assert np.mean(aucs) < 0.7  # had copies leaked across folds, unique tokens would give ~1.0
    assert idx.shape == prob.shape == (20, 40)
    del rng
