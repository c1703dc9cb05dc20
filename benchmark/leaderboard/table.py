"""The leaderboard as a table: cell formatting shared by the Markdown and HTML outputs, and the
Markdown document itself."""
from __future__ import annotations

from typing import Any

from benchmark.leaderboard.rows import JSON_KEYS, LeaderboardRow
from benchmark.validity.checks import CHECKS

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
        r.model + (" [SELF-REVIEW]" if r.self_review else ""), r.template, runs, fmt(r.ideas, r.ideas_stderr), fmt(r.novel, r.novel_stderr),
        fmt(r.experiments_passed, r.experiments_passed_stderr), fmt(r.completed, r.completed_stderr),
        fmt(r.valid, r.valid_stderr), score, fmt(r.max_score), fmt(r.mean_p_accept, digits=2, count=False),
        fmt_usd(r.cost_usd) + (f" ± {fmt_usd(r.cost_usd_stderr)}" if r.cost_usd_stderr is not None else ""),
        fmt_usd(r.cost_per_idea) + (f" [{fmt_usd(r.cost_per_idea_ci[0])}, {fmt_usd(r.cost_per_idea_ci[1])}]"
                                    if r.cost_per_idea_ci else ""),
        fmt_usd(r.cost_per_valid_paper), fmt_time(r.wall_time_s),
        fmt(r.incidents, digits=1),
    ]


def boards(rows: list[LeaderboardRow]) -> list[tuple[str, list[LeaderboardRow]]]:
    """Rows grouped by the reviewer panel that judged them, in order: only rows of one board
    can be compared."""
    grouped: dict[str, list[LeaderboardRow]] = {}
    for r in rows:
        grouped.setdefault(r.panel_key, []).append(r)
    ordered = sorted(grouped.values(), key=lambda g: g[0].source != "bench run")  # ours first, imported after
    return [(group[0].panel, group) for group in ordered]


def infra_notes(rows: list[LeaderboardRow]) -> list[str]:
    return [f"{r.model} / {r.template}: {r.infra_errors} idea(s) and {r.infra_runs} run(s) stopped by an "
            "infrastructure error (sandbox, tool, credentials, provider, disk): not counted against the model; "
            "a rerun with the same --out retries them" for r in rows if r.infra_errors or r.infra_runs]


def to_markdown(rows: list[LeaderboardRow]) -> str:
    lines = ["# Leaderboard", "",
             "Per model × template. Counts, cost, time and incidents are per run (seed): mean ± "
             "standard error over seeds; crashed or unfinished runs and ideas count as failures. "
             "Scores are the reviewer's Overall (1-10) over valid papers only, with a 95% bootstrap "
             "interval and the number of papers. Imported rows carry reviews only (no validity or cost). "
             "Each board is judged by one reviewer panel: compare rows within a board, never across boards."]
    for panel, board in boards(rows):
        lines += ["", f"## Board: {panel}", "",
                  "| " + " | ".join(MAIN_COLUMNS) + " |", "|" + "---|" * len(MAIN_COLUMNS)]
        lines += ["| " + " | ".join(c.replace("|", "\\|") for c in table_cells(r)) + " |" for r in board]
        lines += [f"\nNot counted: {note}" for note in infra_notes(board)]
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
