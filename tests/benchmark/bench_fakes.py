"""A fake pipeline for runner and leaderboard tests: ideas and outcomes on a script."""
from __future__ import annotations

import os
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from pydantic import BaseModel

from bench_paper_folder import make_paper


class FakeIdea(BaseModel):
    name: str
    title: str


def fake_config(bench: Any, template: str, seed: int) -> SimpleNamespace:
    return SimpleNamespace(model=bench.model, template=template, n_ideas=bench.n_ideas,
                           out_dir=bench.run_dir(template, seed))


def fake_generate(cfg: SimpleNamespace) -> list[FakeIdea]:
    names = ["good", "no_paper", "crash"][: cfg.n_ideas]
    return [FakeIdea(name=n, title=n.replace("_", " ").title()) for n in names]


def fake_run_idea(cfg: SimpleNamespace, idea: FakeIdea) -> dict[str, Any]:
    """good: a valid paper; no_paper: experiments fail; crash: raises unless FAKE_CRASH_FIXED."""
    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "calls.log", "a") as f:
        f.write(idea.name + "\n")
    if idea.name == "crash" and os.environ.get("FAKE_HANG"):
        time.sleep(600)  # until the test kills the whole process
    if idea.name == "crash" and not os.environ.get("FAKE_CRASH_FIXED"):
        raise RuntimeError("sandbox exploded")
    good = idea.name == "good"
    idea_dir = make_paper(out, name=idea.name) if good else out / idea.name
    idea_dir.mkdir(parents=True, exist_ok=True)
    stage = lambda status, cost: {"status": status, "error": None, "seconds": 1.5, "tokens": 100, "cost_usd": cost}  # noqa: E731
    return {
        "idea_name": idea.name, "title": idea.title, "novel": True if good else None,
        "experiments_passed": good or idea.name == "crash", "n_runs_ok": 1 if good else 0,
        "paper_compiled": good, "pdf_path": str(idea_dir / "paper" / "paper.pdf") if good else None,
        "tex_path": str(idea_dir / "paper" / "template.tex") if good else None, "idea_dir": str(idea_dir),
        "review": {"overall": 6.0, "decision": "Accept"} if good else None,
        "overall": 6.0 if good else None, "p_accept": 0.4 if good else None,
        "stages": {"experiments": stage("ok" if good else "failed", 0.25),
                   "writeup": stage("ok" if good else "skipped", 0.5 if good else 0.0)},
        "incidents": [] if good else [{"kind": "timeout", "detail": "run_1 exceeded 600 s"}],
        "cost_usd": 0.75 if good else 0.25, "wall_time_s": 12.0,
    }


def calls(out_dir: Path) -> list[str]:
    return sorted(p for f in Path(out_dir).rglob("calls.log") for p in f.read_text().split())
