"""The leaderboard: per model × template, how many ideas became completed and valid papers,
how good the reviewer found them, and at what cost.

Conventions (after MLE-bench, AstaBench and PaperBench):
- counts (ideas, novel, experiments passed, completed, valid), cost, time and incidents are per
  seed: mean over seeds, with the standard error when there are several;
- a run (seed) that crashed, or never finished, counts with zeros for what it did not finish;
  an idea that crashed or never finished counts as not completed and not valid; nothing is dropped;
- mean and max Overall score and mean P(accept) are over valid papers only (a paper counts only
  if it is valid), with a 95% bootstrap interval; `mean_score_all` covers every reviewed paper;
- cost has a 95% interval too (per idea), and the number of runs sits beside every score.
Imported reviews (other systems' published papers) carry only what a review says.
"""
from __future__ import annotations

import json
import math
import sqlite3
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, Field

from .import_reviews import ImportedRun
from .results_db import find_databases
from .validity import CHECKS

JSON_KEYS = ("model", "template", "ideas", "novel", "experiments_passed", "completed", "valid",
             "mean_score", "max_score", "cost_usd")


class LeaderboardRow(BaseModel):
    model: str
    template: str
    source: str = "bench run"
    seeds: int = 1
    failed_runs: int = 0  # seeds that crashed or did not finish every idea
    ideas: float | None = None
    novel: float | None = None  # None: novelty was never checked
    experiments_passed: float | None = None
    completed: float | None = None
    valid: float | None = None  # None: validity cannot be checked (imported reviews)
    ideas_stderr: float | None = None
    novel_stderr: float | None = None
    experiments_passed_stderr: float | None = None
    completed_stderr: float | None = None
    valid_stderr: float | None = None
    n_scored: int = 0  # papers behind mean_score
    mean_score: float | None = None
    mean_score_ci: tuple[float, float] | None = None
    max_score: float | None = None
    mean_score_all: float | None = None  # every reviewed paper, valid or not
    n_reviewed: int = 0
    mean_p_accept: float | None = None
    accept_rate: float | None = None  # share of scored papers whose review says Accept
    cost_usd: float | None = None  # per seed
    cost_usd_stderr: float | None = None
    cost_per_idea: float | None = None
    cost_per_idea_ci: tuple[float, float] | None = None
    cost_per_valid_paper: float | None = None
    wall_time_s: float | None = None  # per seed: idea generation plus every idea's stages
    incidents: float | None = None  # per seed
    check_failures: dict[str, int] = Field(default_factory=dict)  # validity check -> papers failing it
    run_notes: list[str] = Field(default_factory=list)  # why runs failed or came up short (first lines)
    scores: list[float] = Field(default_factory=list, exclude=True)  # for the plots
    scores_all: list[float] = Field(default_factory=list, exclude=True)


# ---- statistics ----------------------------------------------------------------------------
def mean_stderr(values: list[float]) -> tuple[float | None, float | None]:
    if not values:
        return None, None
    arr = np.asarray(values, dtype=float)
    stderr = float(arr.std(ddof=1) / math.sqrt(len(arr))) if len(arr) > 1 else None
    return float(arr.mean()), stderr


def bootstrap_ci(values: list[float], *, level: float = 0.95, resamples: int = 2000,
                 seed: int = 0) -> tuple[float, float] | None:
    """Percentile bootstrap interval of the mean; None below two values."""
    if len(values) < 2:
        return None
    arr = np.asarray(values, dtype=float)
    rng = np.random.default_rng(seed)
    means = arr[rng.integers(0, len(arr), size=(resamples, len(arr)))].mean(axis=1)
    lo, hi = np.quantile(means, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


def _mean(values: list[float]) -> float | None:
    return float(np.mean(values)) if values else None


# ---- reading results databases -------------------------------------------------------------
@dataclass
class _Group:
    runs: list[dict[str, Any]] = field(default_factory=list)
    ideas: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    check_failures: dict[str, int] = field(default_factory=lambda: defaultdict(int))


def _read_db(path: Path, groups: dict[tuple[str, str], _Group]) -> None:
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    con.row_factory = sqlite3.Row
    try:
        for run in con.execute("SELECT * FROM runs"):
            g = groups[(run["model"], run["template"])]
            g.runs.append(dict(run))
        for idea in con.execute("SELECT i.*, r.model, r.template FROM ideas i JOIN runs r USING (run_id)"):
            groups[(idea["model"], idea["template"])].ideas[idea["run_id"]].append(dict(idea))
        for c in con.execute("SELECT r.model, r.template, c.check_name FROM checks c "
                             "JOIN runs r USING (run_id) WHERE c.passed = 0"):
            groups[(c["model"], c["template"])].check_failures[c["check_name"]] += 1
    finally:
        con.close()


def _row_from_group(model: str, template: str, g: _Group) -> LeaderboardRow:
    per_seed: dict[str, list[float]] = defaultdict(list)
    failed_runs = 0
    novelty_checked = False
    for run in g.runs:
        ideas = g.ideas.get(run["run_id"], [])
        done = [i for i in ideas if i["status"] == "done"]
        if run["status"] != "done" or len(done) < len(ideas):
            failed_runs += 1
        novelty_checked |= any(i["novel"] is not None for i in done)
        per_seed["ideas"].append(len(ideas))
        per_seed["novel"].append(sum(i["novel"] == 1 for i in done))
        per_seed["experiments_passed"].append(sum(i["experiments_passed"] == 1 for i in done))
        per_seed["completed"].append(sum(i["paper_compiled"] == 1 for i in done))
        per_seed["valid"].append(sum(i["paper_valid"] == 1 for i in done))
        per_seed["cost_usd"].append((run.get("ideas_cost_usd") or 0.0) + sum(i["cost_usd"] or 0.0 for i in ideas))
        per_seed["wall_time_s"].append((run.get("ideas_seconds") or 0.0) + sum(i["wall_time_s"] or 0.0 for i in ideas))
        per_seed["incidents"].append(sum(i["n_incidents"] or 0 for i in ideas))
    all_ideas = [i for ideas in g.ideas.values() for i in ideas]
    valid = [i for i in all_ideas if i["status"] == "done" and i["paper_valid"] == 1]
    scores = [i["overall"] for i in valid if i["overall"] is not None]
    reviewed = [i["overall"] for i in all_ideas if i["status"] == "done" and i["overall"] is not None]
    decisions = [i["decision"] for i in valid if i["overall"] is not None and i["decision"]]
    p_accept = [i["p_accept"] for i in valid if i["p_accept"] is not None]
    idea_costs = [i["cost_usd"] for i in all_ideas if i["cost_usd"] is not None]  # finished ideas
    row: dict[str, Any] = {}
    for key in ("ideas", "novel", "experiments_passed", "completed", "valid", "cost_usd"):
        row[key], row[f"{key}_stderr"] = mean_stderr(per_seed[key])
    if not novelty_checked:
        row["novel"], row["novel_stderr"] = None, None
    total_cost, total_valid = sum(per_seed["cost_usd"]), sum(per_seed["valid"])
    return LeaderboardRow(
        model=model, template=template, seeds=len(g.runs), failed_runs=failed_runs, **row,
        n_scored=len(scores), mean_score=_mean(scores), mean_score_ci=bootstrap_ci(scores),
        max_score=max(scores) if scores else None, mean_score_all=_mean(reviewed), n_reviewed=len(reviewed),
        mean_p_accept=_mean(p_accept),
        accept_rate=(sum(d == "Accept" for d in decisions) / len(decisions)) if decisions else None,
        cost_per_idea=_mean(idea_costs), cost_per_idea_ci=bootstrap_ci(idea_costs),
        cost_per_valid_paper=total_cost / total_valid if total_valid else None,
        wall_time_s=_mean(per_seed["wall_time_s"]), incidents=_mean(per_seed["incidents"]),
        check_failures={c: g.check_failures.get(c, 0) for c in CHECKS},
        run_notes=list(dict.fromkeys(f"seed {r['seed']}: {r['error'].splitlines()[0][:300]}"
                                     for r in g.runs if r.get("error"))),
        scores=scores, scores_all=reviewed,
    )


def rows_from_results(paths: list[Path]) -> list[LeaderboardRow]:
    groups: dict[tuple[str, str], _Group] = defaultdict(_Group)
    for db in find_databases(paths):
        _read_db(db, groups)
    return [_row_from_group(m, t, g) for (m, t), g in sorted(groups.items())]


def row_from_import(run: ImportedRun) -> LeaderboardRow:
    scores = [p.overall for p in run.papers if p.overall is not None]
    decisions = [p.decision for p in run.papers if p.decision]
    p_accept = [p.p_accept for p in run.papers if p.p_accept is not None]
    return LeaderboardRow(
        model=run.model, template=run.template, source=f"imported reviews: {run.source}", seeds=1,
        ideas=len(run.papers), completed=len(run.papers), n_scored=len(scores), mean_score=_mean(scores),
        mean_score_ci=bootstrap_ci(scores), max_score=max(scores) if scores else None,
        mean_score_all=_mean(scores), n_reviewed=len(scores), mean_p_accept=_mean(p_accept),
        accept_rate=(sum(d == "Accept" for d in decisions) / len(decisions)) if decisions else None,
        scores=scores, scores_all=scores,
    )


def build_leaderboard(results: list[Path], imports: list[ImportedRun] = ()) -> list[LeaderboardRow]:
    rows = rows_from_results(results) + [row_from_import(r) for r in imports]
    # most valid papers first; rows whose validity is unknown (imported) after the others
    return sorted(rows, key=lambda r: (r.valid is None, -(r.valid or 0), -(r.mean_score or 0), r.model, r.template))


# ---- outputs ---------------------------------------------------------------------------------
def fmt(value: float | None, stderr: float | None = None, digits: int = 1, count: bool = True) -> str:
    """`value ± stderr`; a whole count without a standard error is shown as an integer."""
    if value is None:
        return "–"
    if stderr is None and count and float(value).is_integer():
        return f"{value:.0f}"
    return f"{value:.{digits}f}" + (f" ± {stderr:.{digits}f}" if stderr is not None else "")


def fmt_ci(ci: tuple[float, float] | None, digits: int = 2) -> str:
    return f"[{ci[0]:.{digits}f}, {ci[1]:.{digits}f}]" if ci else ""


def fmt_usd(value: float | None) -> str:
    return "–" if value is None else f"${value:.4f}" if value < 1 else f"${value:.2f}"


def fmt_time(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    return f"{seconds / 3600:.1f} h" if seconds >= 3600 else f"{seconds / 60:.1f} min"


MAIN_COLUMNS = ("Model", "Template", "Runs", "Ideas", "Novel", "Exp. passed", "Completed", "Valid",
                "Mean score (95% CI)", "Max score", "P(accept)", "Cost / run", "Cost / idea (95% CI)", "Cost / valid paper",
                "Time / run", "Incidents / run")


def table_cells(r: LeaderboardRow) -> list[str]:
    runs = f"{r.seeds}" + (f" ({r.failed_runs} failed)" if r.failed_runs else "")
    score = fmt(r.mean_score, digits=2, count=False)
    if r.mean_score is not None:
        score += f" {fmt_ci(r.mean_score_ci)}".rstrip() + f" (n={r.n_scored})"
    return [
        r.model, r.template, runs, fmt(r.ideas, r.ideas_stderr), fmt(r.novel, r.novel_stderr),
        fmt(r.experiments_passed, r.experiments_passed_stderr), fmt(r.completed, r.completed_stderr),
        fmt(r.valid, r.valid_stderr), score, fmt(r.max_score), fmt(r.mean_p_accept, digits=2, count=False),
        fmt_usd(r.cost_usd) + (f" ± {fmt_usd(r.cost_usd_stderr)}" if r.cost_usd_stderr is not None else ""),
        fmt_usd(r.cost_per_idea) + (f" [{fmt_usd(r.cost_per_idea_ci[0])}, {fmt_usd(r.cost_per_idea_ci[1])}]"
                                    if r.cost_per_idea_ci else ""),
        fmt_usd(r.cost_per_valid_paper), fmt_time(r.wall_time_s),
        fmt(r.incidents, digits=1),
    ]


def to_markdown(rows: list[LeaderboardRow]) -> str:
    lines = ["# Leaderboard", "",
             "Per model × template. Counts, cost, time and incidents are per run (seed): mean ± "
             "standard error over seeds; crashed or unfinished runs and ideas count as failures. "
             "Scores are the reviewer's Overall (1-10) over valid papers only, with a 95% bootstrap "
             "interval and the number of papers. Imported rows carry reviews only (no validity or cost).", "",
             "| " + " | ".join(MAIN_COLUMNS) + " |", "|" + "---|" * len(MAIN_COLUMNS)]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in table_cells(r)) + " |" for r in rows]
    ours = [r for r in rows if r.source == "bench run"]
    if ours:
        lines += ["", "## Why papers were not valid", "",
                  "Papers failing each validity check (an idea can fail several).", "",
                  "| Model | Template | " + " | ".join(CHECKS) + " | Score, all reviewed papers |",
                  "|" + "---|" * (len(CHECKS) + 3)]
        lines += [f"| {r.model} | {r.template} | " + " | ".join(str(r.check_failures.get(c, 0)) for c in CHECKS)
                  + f" | {fmt(r.mean_score_all, digits=2, count=False)} (n={r.n_reviewed}) |" for r in ours]
    noted = [r for r in ours if r.run_notes]
    if noted:
        lines += ["", "## Run notes", ""]
        lines += [f"- {r.model} / {r.template}, {note}" for r in noted for note in r.run_notes]
    imported = [r for r in rows if r.source != "bench run"]
    if imported:
        lines += ["", "## Imported reviews", ""]
        lines += [f"- {r.model} / {r.template}: {r.source}, {r.n_scored} papers, accept rate "
                  f"{fmt(r.accept_rate, digits=2, count=False)}" for r in imported]
    return "\n".join(lines) + "\n"


def to_json_rows(rows: list[LeaderboardRow]) -> list[dict[str, Any]]:
    """The agreed keys first (JSON_KEYS), then the rest of each row."""
    out = []
    for r in rows:
        data = r.model_dump(mode="json")
        out.append({k: data[k] for k in JSON_KEYS} | {k: v for k, v in data.items() if k not in JSON_KEYS})
    return out


def write_leaderboard(rows: list[LeaderboardRow], out_dir: Path, json_path: Path | None = None) -> dict[str, Path]:
    from .leaderboard_html import to_html

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = {"markdown": out_dir / "leaderboard.md", "html": out_dir / "leaderboard.html"}
    written["markdown"].write_text(to_markdown(rows))
    written["html"].write_text(to_html(rows))
    if json_path is not None:
        json_path = Path(json_path)
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(to_json_rows(rows), indent=2) + "\n")
        written["json"] = json_path
    return written
