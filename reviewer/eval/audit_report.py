"""Report of a label-leak audit: `audit.md` and a self-contained `audit.html` (template
`data_audit.html.j2` of reviewer.html_report), one column per audited form of the texts (raw,
anonymized), with the figures before and after anonymization."""
from __future__ import annotations

import base64
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from reviewer.eval.audit import LENGTH_AUC_LIMIT, MARKER_AUC_LIMIT, AuditResult
from reviewer.html_report import figure_data_uri, render_page

INTRO = (
    "Each marker is detected in every rated paper's text; its AUC is the ROC AUC of the 0/1 marker for the "
    "decision (0.5: no information; far from 0.5 in either direction: the marker gives the decision away). "
    "The marker-only classifier is a logistic regression on all markers, cross-validated (out-of-fold, "
    f"5 folds). Length is the main body's word count. Verdict: leaky when the marker-only AUC exceeds "
    f"{MARKER_AUC_LIMIT}, the length-only AUC leaves [{1 - LENGTH_AUC_LIMIT:.2f}, {LENGTH_AUC_LIMIT}], or one "
    "marker's AUC leaves [0.40, 0.60]. Brackets: stratified bootstrap 95% intervals. The text baseline is "
    "TF-IDF + logistic regression, cross-fitted. 'anonymized' audits the texts as reviewer/anonymize.py "
    "hands them to a reviewer."
)


def _ci(value: float | None, ci: Sequence[float] | None) -> str:
    if value is None:
        return "–"
    if ci and not all(c is not None and np.isfinite(c) for c in ci):  # a constant predictor (marker in no paper)
        return f"{value:.3f} [CI undefined]"
    return f"{value:.3f}" + (f" [{ci[0]:.2f}, {ci[1]:.2f}]" if ci else "")


def _form(result: AuditResult) -> str:
    return "anonymized" if result.anonymized else "raw"


def summary_table(results: Sequence[AuditResult]) -> tuple[list[str], list[list[str]]]:
    header = ["figure"] + [_form(r) for r in results]
    rows = [
        ["verdict"] + [r.verdict for r in results],
        ["marker-only classifier AUC (CV)"] + [_ci(r.marker_auc, r.marker_auc_ci) for r in results],
        ["length-only AUC (main-body words)"] + [_ci(r.length_auc, r.length_auc_ci) for r in results],
        ["median main-body words, accepted / rejected"]
        + [f"{r.length_words['accepted_median']:.0f} / {r.length_words['rejected_median']:.0f}" for r in results],
        ["text baseline AUC (TF-IDF + LR, cross-fitted)"]
        + [_ci(r.text_baseline_auc, r.text_baseline_auc_ci) for r in results],
        ["papers (accepted)"] + [f"{r.n} ({r.n_accepted})" for r in results],
    ]
    return header, rows


def marker_table(results: Sequence[AuditResult]) -> tuple[list[str], list[list[str]]]:
    header = ["marker", "what"]
    for r in results:
        header += [f"{_form(r)}: accepted", f"{_form(r)}: rejected", f"{_form(r)}: AUC"]
    rows = []
    for name, stat in results[0].markers.items():
        cells = [name, stat.description]
        for r in results:
            m = r.markers[name]
            cells += [f"{m.rate_accepted:.0%}", f"{m.rate_rejected:.0%}", _ci(m.auc, m.auc_ci)]
        rows.append(cells)
    return header, rows


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def auc_figure(results: Sequence[AuditResult]) -> str:
    """Marker-only, length-only and text-baseline AUC with intervals, before and after anonymization."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    labels = ["marker-only", "length-only", "text baseline"]
    width = 0.8 / len(results)
    for k, r in enumerate(results):
        values = [r.marker_auc, r.length_auc, r.text_baseline_auc if r.text_baseline_auc is not None else np.nan]
        cis = [r.marker_auc_ci, r.length_auc_ci, r.text_baseline_auc_ci or (np.nan, np.nan)]
        x = np.arange(3) + (k - (len(results) - 1) / 2) * width
        err = np.array([[v - c[0], c[1] - v] for v, c in zip(values, cis)]).T
        ax.bar(x, values, width, yerr=err, capsize=3, label=_form(r))
    ax.axhline(0.5, color="grey", lw=1)
    ax.axhline(MARKER_AUC_LIMIT, color="tab:red", lw=0.8, ls=":", label=f"marker limit {MARKER_AUC_LIMIT}")
    ax.axhline(LENGTH_AUC_LIMIT, color="tab:orange", lw=0.8, ls=":", label=f"length limit {LENGTH_AUC_LIMIT}")
    ax.set_xticks(np.arange(3), labels)
    ax.set(ylim=(0.3, 1.02), ylabel="ROC AUC (95% CI)", title="Does the text give the decision away?")
    ax.legend(fontsize=7, loc="upper right")
    return figure_data_uri(fig)


def marker_figure(results: Sequence[AuditResult]) -> str:
    plt = _pyplot()
    names = list(results[0].markers)
    fig, axes = plt.subplots(1, len(results), figsize=(4.6 * len(results), 3.8), squeeze=False, sharey=True)
    for ax, r in zip(axes[0], results):
        y = np.arange(len(names))
        ax.barh(y + 0.2, [r.markers[n].rate_accepted for n in names], 0.4, label="accepted")
        ax.barh(y - 0.2, [r.markers[n].rate_rejected for n in names], 0.4, label="rejected")
        ax.set_yticks(y, names, fontsize=7)
        ax.set(xlim=(0, 1), xlabel="share of papers with the marker", title=_form(r))
        ax.legend(fontsize=7)
    fig.tight_layout()
    return figure_data_uri(fig)


def write_audit_report(results: Sequence[AuditResult], out_dir: str | Path) -> tuple[Path, Path]:
    from reviewer.atomic_file import write_text_atomic

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    title = f"Label-leak audit: {results[0].dataset} ({results[0].n} papers, {results[0].n_accepted} accepted)"
    s_header, s_rows = summary_table(results)
    m_header, m_rows = marker_table(results)
    figures = [("AUC before and after anonymization", auc_figure(results)),
               ("Marker rates by decision", marker_figure(results))]
    terms = []
    for r in results:
        if r.text_top_terms:
            for side in ("accept", "reject"):
                terms.append((f"{_form(r)}, towards {side}",
                              ", ".join(t for t, _ in r.text_top_terms[side])))

    def md_table(header, rows):
        return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)] + ["| " + " | ".join(c) + " |" for c in rows]

    md = [f"# {title}", ""] + [f"**{r.verdict_line()}**\n" for r in results] + [INTRO, "", "## Summary", ""]
    md += md_table(s_header, s_rows) + ["", "## Version markers", ""] + md_table(m_header, m_rows)
    if terms:
        md += ["", "## What the text baseline reads (largest weights, fit on all papers)", ""]
        md += [f"- {name}: {row}" for name, row in terms]
    for name, uri in figures:
        file = out_dir / (name.lower().replace(" ", "_") + ".png")
        file.write_bytes(base64.b64decode(uri.split(",", 1)[1]))
        md += ["", f"## {name}", "", f"![{name}]({file.name})"]
    md_path = out_dir / "audit.md"
    write_text_atomic(md_path, "\n".join(md) + "\n")
    page = render_page("data_audit.html.j2", title=title, intro=INTRO,
                       verdicts=[{"line": r.verdict_line(), "leaky": r.leaky} for r in results],
                       summary_header=s_header, summary_rows=s_rows, marker_header=m_header, marker_rows=m_rows,
                       terms=terms, figures=figures)
    html_path = out_dir / "audit.html"
    write_text_atomic(html_path, page)
    return md_path, html_path
