"""leaderboard.html: one self-contained page (no network) with sortable tables and two plots:
Overall score distributions per model × template, and valid papers against cost as a Pareto view."""
from __future__ import annotations

import base64
import html
import io
from typing import Any

from benchmark.leaderboard.rows import LeaderboardRow
from benchmark.leaderboard.table import MAIN_COLUMNS, fmt, table_cells
from benchmark.validity.checks import CHECKS

# Numeric value each main column sorts by (None sorts last); text columns sort as text.
_SORT_KEYS: list[Any] = [
    None, None, lambda r: r.seeds, lambda r: r.ideas, lambda r: r.novel, lambda r: r.experiments_passed,
    lambda r: r.completed, lambda r: r.valid, lambda r: r.mean_score, lambda r: r.max_score,
    lambda r: r.mean_p_accept, lambda r: r.cost_usd, lambda r: r.cost_per_idea, lambda r: r.cost_per_valid_paper,
    lambda r: r.wall_time_s, lambda r: r.incidents,
]
DEFAULT_SORT = MAIN_COLUMNS.index("Valid")

_SCRIPT = """
function sortTable(table, col, dir) {
  const body = table.tBodies[0];
  const rows = Array.from(body.rows);
  const key = (row) => {
    const cell = row.cells[col];
    const v = cell.dataset.value;
    if (v === undefined) return cell.textContent.trim().toLowerCase();
    return v === "" ? null : parseFloat(v);
  };
  rows.sort((a, b) => {
    const x = key(a), y = key(b);
    if (x === y) return 0;
    if (x === null) return 1;
    if (y === null) return -1;
    return (x < y ? -1 : 1) * (dir === "asc" ? 1 : -1);
  });
  rows.forEach((row) => body.appendChild(row));
  table.querySelectorAll("th").forEach((th) => th.removeAttribute("aria-sort"));
  table.tHead.rows[0].cells[col].setAttribute("aria-sort", dir === "asc" ? "ascending" : "descending");
  table.dataset.sortedBy = table.tHead.rows[0].cells[col].dataset.key;
  table.dataset.sortDir = dir;
}
document.querySelectorAll("table.sortable").forEach((table) => {
  Array.from(table.tHead.rows[0].cells).forEach((th, col) => {
    th.addEventListener("click", () => {
      const dir = table.dataset.sortedBy === th.dataset.key && table.dataset.sortDir === "desc" ? "asc" : "desc";
      sortTable(table, col, dir);
    });
  });
  const initial = table.dataset.defaultSort;
  if (initial !== undefined) sortTable(table, parseInt(initial, 10), "desc");
});
"""

_STYLE = """
body { font-family: system-ui, -apple-system, Segoe UI, sans-serif; margin: 2rem; color: #222; }
table { border-collapse: collapse; margin: 1rem 0 2rem; font-size: 0.85rem; }
th, td { border: 1px solid #ccc; padding: 0.3rem 0.6rem; text-align: right; }
td:nth-child(-n+2), th:nth-child(-n+2) { text-align: left; }
th { background: #f3f3f3; cursor: pointer; user-select: none; }
th[aria-sort=descending]::after { content: " \\25BC"; }
th[aria-sort=ascending]::after { content: " \\25B2"; }
tr.imported td { color: #555; font-style: italic; }
p.note { max-width: 60rem; font-size: 0.9rem; color: #444; }
img { max-width: 100%; }
"""


def _png(fig: Any) -> str:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


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
    return _png(fig)


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
    return _png(fig)


def _cell(text: str, value: float | None | str = "text") -> str:
    if value == "text":
        return f"<td>{html.escape(text)}</td>"
    data = "" if value is None else repr(float(value))
    return f'<td data-value="{data}">{html.escape(text)}</td>'


def _main_table(rows: list[LeaderboardRow]) -> str:
    keys = ["model", "template", "runs", "ideas", "novel", "experiments_passed", "completed", "valid",
            "mean_score", "max_score", "p_accept", "cost_usd", "cost_per_idea", "cost_per_valid_paper", "time",
            "incidents"]
    head = "".join(f'<th data-key="{k}">{html.escape(c)}</th>' for k, c in zip(keys, MAIN_COLUMNS))
    body = []
    for r in rows:
        cells = [_cell(text, "text" if key is None else key(r)) for text, key in zip(table_cells(r), _SORT_KEYS)]
        cls = ' class="imported"' if r.source != "bench run" else ""
        body.append(f'<tr{cls} title="{html.escape(r.source)}">{"".join(cells)}</tr>')
    return (f'<table id="leaderboard" class="sortable" data-default-sort="{DEFAULT_SORT}">'
            f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>")


def _checks_table(rows: list[LeaderboardRow]) -> str:
    ours = [r for r in rows if r.source == "bench run"]
    if not ours:
        return ""
    head = "".join(f'<th data-key="{k}">{html.escape(k)}</th>' for k in ("model", "template", *CHECKS))
    body = "".join(
        "<tr>" + _cell(r.model) + _cell(r.template)
        + "".join(_cell(str(r.check_failures.get(c, 0)), r.check_failures.get(c, 0)) for c in CHECKS) + "</tr>"
        for r in ours)
    return ("<h2>Why papers were not valid</h2><p class=note>Papers failing each validity check "
            "(an idea can fail several).</p>"
            f'<table id="checks" class="sortable"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>')


def to_html(rows: list[LeaderboardRow], title: str = "AI-scientist leaderboard") -> str:
    plots = [("Score distributions", score_plot(rows)), ("Valid papers against cost (Pareto view)", pareto_plot(rows))]
    figures = "".join(f"<h2>{html.escape(name)}</h2><img alt=\"{html.escape(name)}\" src=\"{src}\">"
                      for name, src in plots if src)
    run_notes = "".join(f"<li>{html.escape(r.model)} / {html.escape(r.template)}, {html.escape(n)}</li>"
                        for r in rows for n in r.run_notes)
    imported = [r for r in rows if r.source != "bench run"]
    notes = "".join(f"<li>{html.escape(r.model)} / {html.escape(r.template)}: {html.escape(r.source)}, "
                    f"accept rate {fmt(r.accept_rate, digits=2, count=False)}</li>" for r in imported)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>{_STYLE}</style></head>
<body>
<h1>{html.escape(title)}</h1>
<p class=note>Per model × template. Counts, cost, time and incidents are per run (seed): mean ±
standard error over seeds; runs and ideas that crashed or never finished count as failures.
Scores are the reviewer's Overall (1-10) over valid papers only, with a 95% bootstrap interval and
the number of papers. Imported rows (italic) carry reviews only: no validity, cost or time.
Click a column header to sort.</p>
{_main_table(rows)}
{_checks_table(rows)}
{figures}
{f"<h2>Run notes</h2><ul>{run_notes}</ul>" if run_notes else ""}
{f"<h2>Imported reviews</h2><ul>{notes}</ul>" if notes else ""}
<script>{_SCRIPT}</script>
</body></html>
"""
