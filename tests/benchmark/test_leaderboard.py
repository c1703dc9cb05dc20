"""Leaderboard aggregation (seeds, padding of failures, CIs), imported reviews, outputs, CLI."""
from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from repo_paths import shared_data_dir
from click.testing import CliRunner

from benchmark.leaderboard.imported import ReviewImportError, read_reviews
from benchmark.leaderboard.board import (
    JSON_KEYS, bootstrap_ci, build_leaderboard, to_json_rows, to_markdown, write_leaderboard,
)
from benchmark.leaderboard.html import pareto_front
from benchmark.results_db import ResultsDB

REVIEWS = shared_data_dir() / "iclr2022" / "llm_reviews"


def outcome(name: str, *, compiled: bool, overall: float | None = None, cost: float = 1.0,
            novel: bool | None = True) -> dict:
    return {"idea_name": name, "title": name, "novel": novel, "experiments_passed": compiled,
            "n_runs_ok": int(compiled), "paper_compiled": compiled, "idea_dir": f"/x/{name}",
            "overall": overall, "p_accept": 0.5 if overall else None,
            "review": {"decision": "Accept" if (overall or 0) >= 6 else "Reject"} if overall else None,
            "stages": {}, "incidents": [{"kind": "oom"}] if not compiled else [], "cost_usd": cost,
            "wall_time_s": 60.0}


def validity(valid: bool) -> dict:
    return {"valid": valid, "checks": [{"name": "pdf_compiles", "passed": True, "reason": ""},
                                       {"name": "numbers_match", "passed": valid, "reason": "" if valid else "0.99"}]}


def seeded_results(root: Path) -> Path:
    """model-a: seed 0 two valid papers, seed 1 one valid and one invalid, seed 2 crashed before
    producing ideas; model-b: one seed, one idea still running (killed)."""
    with ResultsDB(root) as db:
        for seed, papers in enumerate([[("a1", 7.0, True), ("a2", 5.0, True)],
                                       [("a3", 6.0, True), ("a4", 3.0, False)]]):
            rid = db.ensure_run("model-a", "grokking", seed, 2, root / f"s{seed}", {})
            db.add_ideas(rid, [{"name": n, "title": n} for n, _, _ in papers])
            for name, score, ok in papers:
                db.record_outcome(rid, outcome(name, compiled=True, overall=score), validity(ok))
            db.set_run_status(rid, "done")
        rid = db.ensure_run("model-a", "grokking", 2, 2, root / "s2", {})
        db.set_run_status(rid, "failed", "ConnectionError: server down")
        rid = db.ensure_run("model-b", "grokking", 0, 2, root / "b", {})
        db.set_run_ideas_usage(rid, 100, 0.5)
        db.add_ideas(rid, [{"name": "b1", "title": "b1"}, {"name": "b2", "title": "b2"}])
        db.record_outcome(rid, outcome("b1", compiled=False, cost=2.0, novel=None), validity(False))
        db.mark_running(rid, "b2")
        db.set_run_status(rid, "running")
    return root


def test_seeds_give_mean_and_stderr_with_failed_runs_padded(tmp_path):
    rows = {r.model: r for r in build_leaderboard([seeded_results(tmp_path / "res")])}
    a = rows["model-a"]
    assert (a.seeds, a.failed_runs) == (3, 1)
    assert a.valid == pytest.approx(1.0)  # (2 + 1 + 0) / 3: the crashed seed counts as zero
    assert a.valid_stderr == pytest.approx(1 / math.sqrt(3))
    assert (a.ideas, a.completed, a.novel) == (pytest.approx(4 / 3), pytest.approx(4 / 3), pytest.approx(4 / 3))
    assert a.mean_score == pytest.approx(6.0) and a.max_score == 7.0 and a.n_scored == 3  # valid papers only
    assert a.mean_score_all == pytest.approx(5.25) and a.n_reviewed == 4
    assert a.accept_rate == pytest.approx(2 / 3)
    assert a.cost_usd == pytest.approx(4 / 3) and a.cost_per_valid_paper == pytest.approx(4 / 3)
    lo, hi = a.mean_score_ci
    assert 5.0 <= lo < 6.0 < hi <= 7.0
    assert a.check_failures["numbers_match"] == 1 and a.check_failures["pdf_compiles"] == 0
    b = rows["model-b"]
    assert (b.ideas, b.completed, b.valid, b.failed_runs) == (2, 0, 0, 1)
    assert b.novel is None  # never checked, not "zero novel ideas"
    assert b.cost_usd == pytest.approx(2.5)  # idea generation + the finished idea
    assert b.incidents == 1 and b.mean_score is None and b.cost_per_valid_paper is None
    assert a.run_notes == ["seed 2: ConnectionError: server down"] and b.run_notes == []
    assert b.cost_per_idea == 2.0  # the idea still running has no cost yet: not counted as free


def test_bootstrap_ci_is_deterministic_and_needs_two_values():
    assert bootstrap_ci([5.0]) is None
    assert bootstrap_ci([1.0, 2.0, 3.0, 4.0]) == bootstrap_ci([1.0, 2.0, 3.0, 4.0])


def test_pareto_front_keeps_only_undominated_points():
    # (cost, valid): (1, 1) and (2, 3) are on the front; (3, 2) is beaten by (2, 3)
    assert pareto_front([(1.0, 1.0), (3.0, 2.0), (2.0, 3.0)]) == [0, 2]


def test_imported_reviews_from_shared_data():
    csvs = sorted(REVIEWS.glob("*.csv"))
    if not csvs:
        pytest.skip("../shared/data/iclr2022/llm_reviews not present")
    path = REVIEWS / "gpt-4o-2024-05-13_temp_0_1_pages_all.csv"
    run = read_reviews(path, template="iclr2022")
    assert run.model == "gpt-4o-2024-05-13_temp_0_1" and len(run.papers) == 350
    (row,) = build_leaderboard([], [run])
    assert (row.ideas, row.completed, row.valid, row.cost_usd) == (350, 350, None, None)
    assert row.mean_score == pytest.approx(5.102857, abs=1e-5) and row.max_score == 8.0
    assert row.source == f"imported reviews: {path.name}"


def test_bad_review_csv_is_a_clear_error(tmp_path):
    bad = tmp_path / "x.csv"
    bad.write_text("a,b\n1,2\n")
    with pytest.raises(ReviewImportError, match="'Overall' column"):
        read_reviews(bad)


def test_json_markdown_and_html_outputs(tmp_path):
    csv = tmp_path / "sakana_grokking.csv"
    csv.write_text("paper_id,Overall,Decision\np1,5,Reject\np2,7,Accept\n")
    rows = build_leaderboard([seeded_results(tmp_path / "res")], [read_reviews(csv, model="ai-scientist/sonnet",
                                                                                  template="grokking")])
    written = write_leaderboard(rows, tmp_path / "board", tmp_path / "board" / "rows.json")
    data = json.loads(written["json"].read_text())
    assert [list(r)[:len(JSON_KEYS)] for r in data] == [list(JSON_KEYS)] * 3
    assert [(r["model"], r["valid"]) for r in data] == [("model-a", 1.0), ("model-b", 0.0),
                                                         ("ai-scientist/sonnet", None)]
    md = written["markdown"].read_text()
    assert "| model-a | grokking | 3 (1 failed) | 1.3 ± 0.7 | 1.3 ± 0.7 | 1.3 ± 0.7 | 1.3 ± 0.7 | 1.0 ± 0.6 | 6.00 [5.00, 7.00] (n=3) | 7 | 0.50 | $1.33 ± $0.6667 | $1.00 [$1.00, $1.00] | $1.33 |" in md
    assert "| ai-scientist/sonnet | grokking | 1 | 2 | – | – | 2 | – | 6.00 [5.00, 7.00] (n=2) | 7 |" in md
    assert "## Run notes\n\n- model-a / grokking, seed 2: ConnectionError: server down" in md
    page = written["html"].read_text()
    assert "<script>" in page and "data:image/png;base64," in page and "http" not in page.split("<body>")[1]
    assert to_json_rows(rows)[0]["model"] == "model-a" and to_markdown([]).startswith("# Leaderboard")


def test_cli_leaderboard_with_results_and_imports(tmp_path):
    from benchmark.cli import main

    res = seeded_results(tmp_path / "results" / "model-a")
    csv = tmp_path / "other.csv"
    csv.write_text("paper_id,Overall,Decision\np1,4,Reject\n")
    out = tmp_path / "board"
    result = CliRunner().invoke(main, ["leaderboard", "--results", str(res.parent), "--import-reviews", str(csv),
                                       "--model", "other-system", "--template", "grokking", "--out", str(out),
                                       "--json", str(out / "rows.json")])
    assert result.exit_code == 0, result.output
    models = [r["model"] for r in json.loads((out / "rows.json").read_text())]
    assert models == ["model-a", "model-b", "other-system"]
    assert (out / "leaderboard.md").is_file() and (out / "leaderboard.html").is_file()
    bad = CliRunner().invoke(main, ["leaderboard", "--import-reviews", str(csv), "--import-reviews", str(csv),
                                    "--model", "a", "--model", "b", "--model", "c", "--out", str(out)])
    assert bad.exit_code == 2 and "one --model per --import-reviews" in bad.output
