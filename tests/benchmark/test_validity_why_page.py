"""The leaderboard's why-not-valid page lists each invalid paper's failed checks and the trace of
its numbers, from what the run recorded (results.sqlite and OUT/<idea>/validity.json)."""
from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

from benchmark.leaderboard.board import build_leaderboard, write_leaderboard
from benchmark.results_db import ResultsDB
from benchmark.validity.checks import VALIDITY_RECORD, check_idea_dir

from bench_paper_folder import VALID_TEX, make_paper


def _recorded(results: Path, idea: Path, report) -> Path:  # type: ignore[no-untyped-def]
    """A results folder where model-x / grokking, seed 0, recorded `idea` with its validity report."""
    with ResultsDB(results / "results.sqlite") as db:
        rid = db.ensure_run("model-x", "grokking", 0, 1, results, config={})
        db.add_ideas(rid, [{"name": idea.name, "title": "t"}])
        db.record_outcome(rid, {"idea_name": idea.name, "paper_compiled": True, "idea_dir": str(idea)},
                          report.model_dump())
    return results


def test_why_not_valid_page_shows_the_unsupported_number_and_why(tmp_path):
    idea = make_paper(tmp_path / "out", tex=VALID_TEX.replace("0.953 (95.3\\%)", "0.981 (98.1\\%)"))
    report = check_idea_dir(idea)
    assert not report.valid
    recorded = json.loads((idea / VALIDITY_RECORD).read_text())
    numbers = next(c for c in recorded["checks"] if c["name"] == "numbers_match")
    assert numbers["unsupported"] == ["0.981", "98.1\\%"]  # the keys scripts read are kept beside the trace
    assert {c["text"] for c in numbers["claims"]} >= {"0.981", "4,260", "99\\%"}

    results = _recorded(tmp_path / "results", idea, report)
    written = write_leaderboard(build_leaderboard([results]), tmp_path / "board", results=[results])
    page = written["why_not_valid"].read_text()
    assert "model-x / grokking / seed 0" in page and "numbers_match" in page
    row = next(r for r in page.split("<tr>") if r.startswith("<td>0.981</td>"))
    assert "<td>result</td>" in row and "NO" in row and "no logged value" in row
    assert row == page.split("<tr>")[2]  # unsupported results come first (after the header row)
    threshold = next(r for r in page.split("<tr>") if r.startswith("<td>99\\%</td>"))
    assert "threshold" in threshold and "not checked" in threshold


class _Page(HTMLParser):
    """Links (href and text) and, per element id, the text up to the next id'd element."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[tuple[str, str]] = []
        self.sections: dict[str, str] = {}
        self._href: str | None = None
        self._section: str | None = None

    def handle_starttag(self, tag, attrs):  # type: ignore[no-untyped-def]
        attrs = dict(attrs)
        if attrs.get("id"):
            self._section = attrs["id"]
            self.sections[self._section] = ""
        if tag == "a":
            self._href = attrs.get("href")
            self.links.append((self._href or "", ""))

    def handle_endtag(self, tag):  # type: ignore[no-untyped-def]
        if tag == "a":
            self._href = None

    def handle_data(self, data):  # type: ignore[no-untyped-def]
        if self._href is not None:
            href, text = self.links[-1]
            self.links[-1] = (href, text + data)
        if self._section is not None:
            self.sections[self._section] += data


def _parse(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


def test_bench_runs_board_links_each_row_with_invalid_papers_to_why_not_valid(tmp_path):
    """The board `bench run` ends with (written into its results folder) links model-x's row to
    the part of why_not_valid.html that names the failed check; the link is relative."""
    from benchmark.cli_run import _write_board

    invalid = make_paper(tmp_path / "out", tex=VALID_TEX.replace("0.953 (95.3\\%)", "0.981 (98.1\\%)"))
    report = check_idea_dir(invalid)
    assert [c.name for c in report.checks if not c.passed] == ["numbers_match"]
    results = _recorded(tmp_path / "results", invalid, report)

    board = _write_board(results)
    links = [(href, text) for href, text in _parse(board).links if "why" in text or "why_not_valid" in href]
    row_links = [href for href, text in links if text == "why not valid"]
    assert len(row_links) == 1  # one row, one invalid paper
    target = urlsplit(row_links[0])
    assert not target.scheme and not target.netloc and target.fragment  # relative: works opened from disk
    page_path = board.parent / target.path
    assert page_path.is_file()
    section = _parse(page_path).sections[target.fragment]
    assert "model-x / grokking / seed 0" in section and invalid.name in section and "numbers_match" in section
    assert ("why_not_valid.html", "why_not_valid.html") in links  # and the page itself, above the checks table


def test_board_without_invalid_papers_links_no_row(tmp_path):
    idea = make_paper(tmp_path / "out", tex=VALID_TEX)
    report = check_idea_dir(idea)
    assert report.valid
    results = _recorded(tmp_path / "results", idea, report)
    written = write_leaderboard(build_leaderboard([results]), tmp_path / "board", results=[results])
    assert not [t for _, t in _parse(written["html"]).links if t == "why not valid"]
    assert "No paper was recorded as not valid." in written["why_not_valid"].read_text()
