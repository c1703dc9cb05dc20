"""leaderboard.html: one self-contained page (no network), rendered by the shared jinja2 report
mechanism (`reviewer.html_report`, template leaderboard.html.j2): one sortable table per reviewer
panel, the validity-check failures, and two plots: Overall score distributions per model ×
template, and valid papers against cost as a Pareto view."""
from __future__ import annotations

from typing import Any

from benchmark.leaderboard.rows import LeaderboardRow
from benchmark.leaderboard.table import MAIN_COLUMNS, boards, fmt, infra_notes, table_cells
from benchmark.validity.checks import CHECKS
from reviewer.html_report import figure_data_uri, render_page

# Numeric value each main column sorts by (None sorts last); text columns sort as text.
_SORT_KEYS: list[Any] = [
    None, None, lambda r: r.seeds, lambda r: r.ideas, lambda r: r.novel, lambda r: r.experiments_passed,
    lambda r: r.completed, lambda r: r.valid, lambda r: r.mean_score, lambda r: r.max_score,
    lambda r: r.mean_p_accept, lambda r: r.cost_usd, lambda r: r.cost_per_idea, lambda r: r.cost_per_valid_paper,
    lambda r: r.wall_time_s, lambda r: r.incidents,
]
VALID_COLUMN = MAIN_COLUMNS.index("Valid")  # where a row links to its invalid papers
DEFAULT_SORT = VALID_COLUMN

def score_plot(rows: list[LeaderboardRow]) -> str | None:
    """Box plot of every reviewed paper's Overall score, valid papers' scores marked on top."""
    shown = [r for r in rows if r.scores_all]
    if not shown:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    # horizontal boxes: model names are long
    fig, ax = plt.subplots(figsize=(8, max(2.5, 0.6 * len(shown) + 1.5)))
    positions = list(range(len(shown), 0, -1))  # first row at the top
    ax.boxplot([r.scores_all for r in shown], positions=positions, widths=0.5, showfliers=False,
               orientation="horizontal")
    rng = np.random.default_rng(0)
    for pos, r in zip(positions, shown):
        ax.scatter(r.scores_all, pos + rng.uniform(-0.15, 0.15, len(r.scores_all)), s=8, alpha=0.35, color="grey")
        if r.scores and r.source == "bench run":
            ax.scatter(r.scores, pos + rng.uniform(-0.1, 0.1, len(r.scores)), s=24, color="tab:green", zorder=3)
    ax.set_yticks(positions, [f"{r.model} / {r.template} (n={len(r.scores_all)})" for r in shown], fontsize=8)
    ax.set_xlabel("Overall score (1-10)")
    ax.set_xlim(0.5, 10.5)
    ax.set_title("Reviewer scores: every reviewed paper (grey), valid papers (green)", fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    return figure_data_uri(fig)


def pareto_front(points: list[tuple[float, float]]) -> list[int]:
    """Indices of points no other point beats on both lower cost (x) and more valid papers (y)."""
    front = []
    for i, (x, y) in enumerate(points):
        dominated = any((x2 <= x and y2 >= y) and (x2 < x or y2 > y) for j, (x2, y2) in enumerate(points) if j != i)
        if not dominated:
            front.append(i)
    return sorted(front, key=lambda i: points[i])


def pareto_plot(rows: list[LeaderboardRow]) -> str | None:
    shown = [r for r in rows if r.cost_usd is not None and r.valid is not None]
    if not shown:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    points = [(r.cost_usd, r.valid) for r in shown]
    front = pareto_front(points)
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for r, (x, y) in zip(shown, points):
        ax.errorbar(x, y, xerr=r.cost_usd_stderr or 0, yerr=r.valid_stderr or 0, fmt="o", capsize=3)
        ax.annotate(f"{r.model} / {r.template}", (x, y), textcoords="offset points", xytext=(5, 5), fontsize=8)
    ax.plot([points[i][0] for i in front], [points[i][1] for i in front], "s--", color="tab:red",
            markerfacecolor="none", markersize=12, label="Pareto front (no row is cheaper and better)")
    ax.set_xlabel("cost per run (USD)")
    ax.set_ylabel("valid papers per run")
    ax.set_title("Valid papers against cost")
    ax.margins(0.2)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return figure_data_uri(fig)


_KEYS = ("model", "template", "runs", "ideas", "novel", "experiments_passed", "completed", "valid",
         "mean_score", "max_score", "p_accept", "cost_usd", "cost_per_idea", "cost_per_valid_paper", "time",
         "incidents")


def _cells(texts: list[str], keys: list[Any], r: Any) -> list[tuple[str, str | None]]:
    """(text, sort value): None for a text column, "" for a number that is missing (sorts last)."""
    out = []
    for text, key in zip(texts, keys):
        value = None if key is None else key(r)
        out.append((text, None if key is None else ("" if value is None else repr(float(value)))))
    return out


def to_html(rows: list[LeaderboardRow], title: str = "AI-scientist leaderboard", why_page: str | None = None,
            why_links: dict[tuple[str, str], str] | None = None) -> str:
    """`why_page`: the why-not-valid page written beside this one, if any; `why_links`: per
    (model, template) with invalid papers, the relative link to its part of that page."""
    why_links = why_links or {}
    plots = [("Score distributions", score_plot(rows)), ("Valid papers against cost (Pareto view)", pareto_plot(rows))]
    ours = [r for r in rows if r.source == "bench run"]
    checks = None
    if ours:
        checks = {"header": ["model", "template", *CHECKS],
                  "rows": [[(r.model, None), (r.template, None)]
                           + [(str(r.check_failures.get(c, 0)), repr(float(r.check_failures.get(c, 0)))) for c in CHECKS]
                           for r in ours]}
    page_boards = [{
        "id": "leaderboard" if i == 0 else f"leaderboard-{i + 1}", "panel": panel, "infra": infra_notes(board),
        "rows": [{"imported": r.source != "bench run", "source": r.source,
                  "why": why_links.get((r.model, r.template)) if r.source == "bench run" else None,
                  "cells": _cells(table_cells(r), _SORT_KEYS, r)} for r in board],
    } for i, (panel, board) in enumerate(boards(rows))]
    return render_page(
        "leaderboard.html.j2", title=title, boards=page_boards, columns=list(zip(_KEYS, MAIN_COLUMNS)),
        default_sort=DEFAULT_SORT, why_column=VALID_COLUMN, why_page=why_page, checks=checks, figures=plots,
        run_notes=[f"{r.model} / {r.template}, {n}" for r in rows for n in r.run_notes],
        imported=[f"{r.model} / {r.template}: {r.source}, accept rate {fmt(r.accept_rate, digits=2, count=False)}"
                  for r in rows if r.source != "bench run"],
    )
