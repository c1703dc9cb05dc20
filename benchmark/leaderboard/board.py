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

Rows are comparable only when one reviewer panel judged them: each panel gets its own board
(`boards`), headed by the panel; an imported file is a board of its own (its reviewer is not ours).
Ideas and seeds stopped by an infrastructure error are not the model's result: they are counted
apart (`infra_errors`, `infra_runs`) and left out of every other figure until a rerun retries them.
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

from benchmark.leaderboard.html import to_html
from benchmark.leaderboard.imported import ImportedRun
from benchmark.leaderboard.rows import JSON_KEYS, LeaderboardRow  # noqa: F401 (re-exported)
from benchmark.leaderboard.table import boards, to_json_rows, to_markdown  # noqa: F401 (re-exported)
from benchmark.panel import panel_from_config
from benchmark.results_db import find_databases
from benchmark.validity.checks import CHECKS
from reviewer.eval.bootstrap import mean_ci as bootstrap_ci


# ---- statistics ----------------------------------------------------------------------------
def mean_stderr(values: list[float]) -> tuple[float | None, float | None]:
    if not values:
        return None, None
    arr = np.asarray(values, dtype=float)
    stderr = float(arr.std(ddof=1) / math.sqrt(len(arr))) if len(arr) > 1 else None
    return float(arr.mean()), stderr


def _mean(values: list[float]) -> float | None:
    return float(np.mean(values)) if values else None


# ---- reading results databases -------------------------------------------------------------
@dataclass
class _Group:
    runs: list[dict[str, Any]] = field(default_factory=list)
    ideas: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    check_failures: dict[str, int] = field(default_factory=lambda: defaultdict(int))


GroupKey = tuple[str, str, str]  # (panel key, model, template)
UNKNOWN_PANEL = "unknown"


def _panel_of(run: sqlite3.Row, labels: dict[str, tuple[str, bool]]) -> str:
    panel = panel_from_config(run["config_json"]) if "config_json" in run.keys() else None
    if panel is None:
        return UNKNOWN_PANEL
    key = panel.key()
    labels[key] = (panel.label(), panel.self_review)
    return key


def _read_db(path: Path, groups: dict[GroupKey, _Group], labels: dict[str, tuple[str, bool]]) -> None:
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    con.row_factory = sqlite3.Row
    try:
        key_of: dict[str, GroupKey] = {}
        for run in con.execute("SELECT * FROM runs"):
            key_of[run["run_id"]] = (_panel_of(run, labels), run["model"], run["template"])
            groups[key_of[run["run_id"]]].runs.append(dict(run))
        for idea in con.execute("SELECT * FROM ideas"):
            if idea["run_id"] in key_of:
                groups[key_of[idea["run_id"]]].ideas[idea["run_id"]].append(dict(idea))
        for c in con.execute("SELECT c.run_id, c.check_name FROM checks c JOIN ideas i USING (run_id, idea_name) "
                             "WHERE c.passed = 0 AND i.status = 'done'"):
            if c["run_id"] in key_of:
                groups[key_of[c["run_id"]]].check_failures[c["check_name"]] += 1
    finally:
        con.close()


def _row_from_group(model: str, template: str, g: _Group) -> LeaderboardRow:
    per_seed: dict[str, list[float]] = defaultdict(list)
    failed_runs = 0
    novelty_checked = False
    infra_runs = sum(run["status"] == "infra_error" for run in g.runs)
    infra_ideas = sum(i["status"] == "infra_error" for ideas in g.ideas.values() for i in ideas)
    # what the infrastructure stopped is no result of the model's: out of every figure below
    g = _Group(runs=[r for r in g.runs if r["status"] != "infra_error"],
               ideas={rid: [i for i in ideas if i["status"] != "infra_error"] for rid, ideas in g.ideas.items()},
               check_failures=g.check_failures)
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
        infra_errors=infra_ideas, infra_runs=infra_runs,
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
    groups: dict[GroupKey, _Group] = defaultdict(_Group)
    labels: dict[str, tuple[str, bool]] = {}
    for db in find_databases(paths):
        _read_db(db, groups, labels)
    rows = []
    for (panel, m, t), g in sorted(groups.items()):
        row = _row_from_group(m, t, g)
        row.panel_key = panel
        if panel in labels:
            row.panel, row.self_review = labels[panel]
        rows.append(row)
    return rows


def row_from_import(run: ImportedRun) -> LeaderboardRow:
    scores = [p.overall for p in run.papers if p.overall is not None]
    decisions = [p.decision for p in run.papers if p.decision]
    p_accept = [p.p_accept for p in run.papers if p.p_accept is not None]
    return LeaderboardRow(
        model=run.model, template=run.template, source=f"imported reviews: {run.source}", seeds=1,
        panel=f"reviewer: the reviews imported from {run.source}", panel_key=f"imported:{run.source}",
        ideas=len(run.papers), completed=len(run.papers), n_scored=len(scores), mean_score=_mean(scores),
        mean_score_ci=bootstrap_ci(scores), max_score=max(scores) if scores else None,
        mean_score_all=_mean(scores), n_reviewed=len(scores), mean_p_accept=_mean(p_accept),
        accept_rate=(sum(d == "Accept" for d in decisions) / len(decisions)) if decisions else None,
        scores=scores, scores_all=scores,
    )


def build_leaderboard(results: list[Path], imports: list[ImportedRun] = ()) -> list[LeaderboardRow]:
    rows = rows_from_results(results) + [row_from_import(r) for r in imports]
    panels = list(dict.fromkeys(r.panel_key for r in sorted(rows, key=lambda r: r.source != "bench run")))
    # one board per panel (ours first); on each, most valid papers first
    return sorted(rows, key=lambda r: (panels.index(r.panel_key), r.valid is None, -(r.valid or 0),
                                       -(r.mean_score or 0), r.model, r.template))


def write_leaderboard(rows: list[LeaderboardRow], out_dir: Path, json_path: Path | None = None,
                      results: list[Path] = ()) -> dict[str, Path]:
    """leaderboard.md and .html, and why_not_valid.html beside them from the results databases
    (`results`, else those in or one level below `out_dir`); each row with invalid papers links
    to its part of that page."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = {"markdown": out_dir / "leaderboard.md", "html": out_dir / "leaderboard.html"}
    written["markdown"].write_text(to_markdown(rows))
    databases = list(find_databases(list(results) or [out_dir]))
    why_page, why_links = None, {}
    if databases:
        from benchmark.leaderboard import why_not_valid

        papers = [p for db in databases for p in why_not_valid.invalid_papers(db)]
        written["why_not_valid"] = why_not_valid.write_page(papers, out_dir / why_not_valid.PAGE_NAME)
        why_page = why_not_valid.PAGE_NAME
        why_links = {(p.model, p.template): why_not_valid.link(p.model, p.template) for p in papers}
    written["html"].write_text(to_html(rows, why_page=why_page, why_links=why_links))
    if json_path is not None:
        json_path = Path(json_path)
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(to_json_rows(rows), indent=2) + "\n")
        written["json"] = json_path
    return written
