"""why_not_valid.html: for every paper a `bench run` recorded as not valid, the checks it failed and,
for numbers_match, the trace of each quoted number: its text, kind, the run/metric/value that
supports it or why none does. Reads only what runs recorded (results.sqlite and each idea's
`validity.json`, written by `benchmark.validity.checks.check_idea_dir`); never re-checks a paper.
Rendered by the suite's one HTML mechanism (its base page and stylesheet)."""
from __future__ import annotations

import hashlib
import json
import re
import sqlite3
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from benchmark.validity.checks import VALIDITY_RECORD
from benchmark.validity.support import ClaimTrace

MAX_RECORD_BYTES = 16 * 1024 * 1024
PAGE_NAME = "why_not_valid.html"


class InvalidPaper(BaseModel):
    model: str
    template: str
    seed: int | None = None
    idea: str
    failures: list[dict[str, Any]] = Field(default_factory=list)  # {"name", "reason"}
    claims: list[dict[str, Any]] = Field(default_factory=list)  # numbers_match's trace, unsupported results first
    results: int | None = None
    unsupported: int | None = None


def _record(idea_dir: str | None) -> dict[str, Any] | None:
    if not idea_dir:
        return None
    path = Path(idea_dir) / VALIDITY_RECORD
    try:
        if path.is_symlink() or not path.is_file() or path.stat().st_size > MAX_RECORD_BYTES:
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _order(claim: dict[str, Any]) -> tuple[int, int]:
    counted = claim.get("kind") in ("result", "derived")
    return (0 if counted and claim.get("supported") is False else 1 if counted else 2, 0)


def invalid_papers(db: Path) -> list[InvalidPaper]:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    con.row_factory = sqlite3.Row
    try:
        ideas = con.execute(
            "SELECT r.model, r.template, r.seed, i.run_id, i.idea_name, i.idea_dir FROM ideas i JOIN runs r "
            "USING (run_id) WHERE i.status = 'done' AND i.paper_valid = 0 ORDER BY r.model, r.template, r.seed").fetchall()
        out = []
        for i in ideas:
            failures = [{"name": c["check_name"], "reason": c["reason"] or ""} for c in con.execute(
                "SELECT check_name, reason FROM checks WHERE run_id = ? AND idea_name = ? AND passed = 0 "
                "ORDER BY rowid", (i["run_id"], i["idea_name"]))]
            paper = InvalidPaper(model=i["model"], template=i["template"], seed=i["seed"], idea=i["idea_name"],
                                 failures=failures)
            record = _record(i["idea_dir"])
            numbers = next((c for c in (record or {}).get("checks", []) if c.get("name") == "numbers_match"), None)
            if numbers and numbers.get("claims"):
                traces = []
                for c in numbers["claims"]:
                    try:  # the record was written with its empty fields left out
                        traces.append(ClaimTrace.model_validate(c).model_dump())
                    except ValueError:
                        continue
                paper.claims = sorted(traces, key=_order)
                paper.results = numbers.get("results")
                paper.unsupported = len(numbers.get("unsupported") or [])
            out.append(paper)
        return out
    finally:
        con.close()


@cache
def _environment():
    import jinja2

    from reviewer.html_report import HERE as REPORT_TEMPLATES

    # our page extends the suite's base page: its loader is searched after ours
    return jinja2.Environment(
        loader=jinja2.ChoiceLoader([jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
                                    jinja2.FileSystemLoader(REPORT_TEMPLATES / "templates")]),
        autoescape=True, trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined)


def anchor(model: str, template: str) -> str:
    """The page's id for one model × template's papers (readable, and unique through a short hash)."""
    slug = re.sub(r"[^A-Za-z0-9]+", "-", f"{model}-{template}").strip("-").lower()[:60]
    digest = hashlib.sha1(f"{model}\0{template}".encode()).hexdigest()[:8]
    return f"invalid-{slug}-{digest}"


def link(model: str, template: str) -> str:
    """Where the leaderboard (written beside this page) links a row's invalid papers: relative, so
    the reports folder works opened from disk."""
    return f"{PAGE_NAME}#{anchor(model, template)}"


def to_html(papers: list[InvalidPaper], title: str = "Why papers were not valid") -> str:
    from reviewer.html_report import stylesheet

    # one model × template's papers together, the first of them carrying the group's anchor
    shown, seen = [], set()
    for p in sorted(papers, key=lambda p: (p.model, p.template)):
        key = (p.model, p.template)
        shown.append({**p.model_dump(), "anchor": None if key in seen else anchor(*key)})
        seen.add(key)
    return _environment().get_template("why_not_valid.html.j2").render(
        title=title, stylesheet=stylesheet(), papers=shown)


def write_page(papers: list[InvalidPaper], out: Path) -> Path:
    out.write_text(to_html(papers), encoding="utf-8")
    return out
