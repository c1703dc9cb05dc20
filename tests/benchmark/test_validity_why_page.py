"""The leaderboard's why-not-valid page lists each invalid paper's failed checks and the trace of
its numbers, from what the run recorded (results.sqlite and OUT/<idea>/validity.json)."""
from __future__ import annotations

import json

from benchmark.leaderboard.board import build_leaderboard, write_leaderboard
from benchmark.results_db import ResultsDB
from benchmark.validity.checks import VALIDITY_RECORD, check_idea_dir

from bench_paper_folder import VALID_TEX, make_paper


def test_why_not_valid_page_shows_the_unsupported_number_and_why(tmp_path):
    idea = make_paper(tmp_path / "out", tex=VALID_TEX.replace("0.953 (95.3\\%)", "0.981 (98.1\\%)"))
    report = check_idea_dir(idea)
    assert not report.valid
    recorded = json.loads((idea / VALIDITY_RECORD).read_text())
    numbers = next(c for c in recorded["checks"] if c["name"] == "numbers_match")
    assert numbers["unsupported"] == ["0.981", "98.1\\%"]  # the keys scripts read are kept beside the trace
    assert {c["text"] for c in numbers["claims"]} >= {"0.981", "4,260", "99\\%"}

    results = tmp_path / "results"
    with ResultsDB(results / "results.sqlite") as db:
        rid = db.ensure_run("model-x", "grokking", 0, 1, results, config={})
        db.add_ideas(rid, [{"name": idea.name, "title": "t"}])
        db.record_outcome(rid, {"idea_name": idea.name, "paper_compiled": True, "idea_dir": str(idea)},
                          report.model_dump())
    written = write_leaderboard(build_leaderboard([results]), tmp_path / "board", results=[results])
    page = written["why_not_valid"].read_text()
    assert "model-x / grokking / seed 0" in page and "numbers_match" in page
    row = next(r for r in page.split("<tr>") if r.startswith("<td>0.981</td>"))
    assert "<td>result</td>" in row and "NO" in row and "no logged value" in row
    assert row == page.split("<tr>")[2]  # unsupported results come first (after the header row)
    threshold = next(r for r in page.split("<tr>") if r.startswith("<td>99\\%</td>"))
    assert "threshold" in threshold and "not checked" in threshold
