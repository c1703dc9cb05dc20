"""Reviewer-evaluation report: `report.md` and a self-contained `report.html` (figures embedded),
rendered through the one HTML mechanism (`reviewer.html_report`, template `reviewer_eval.html.j2`).

The report reads an EvalResult; it never re-runs reviews or fits.
"""
from __future__ import annotations

import base64
import html
import math
from pathlib import Path

import numpy as np

from reviewer.eval.evaluation import PUBLISHED, EvalResult
from reviewer.html_report import figure_data_uri, render_page

LEAK_MARK = " [leaky texts]"
NO_REFIT_MARK = " [fit not repeated in CIs]"

COLUMNS = (  # (metric key, header)
    ("n", "n"),
    ("balanced_accuracy", "Bal. acc. (Decision)"),
    ("accuracy", "Accuracy"),
    ("f1", "F1"),
    ("fpr", "FPR"),
    ("fnr", "FNR"),
    ("roc_auc", "AUC (Overall)"),
    ("spearman", "Spearman"),
    ("pearson", "Pearson"),
    ("mae", "MAE"),
)
CALIBRATED_COLUMNS = (
    ("n_calibrated", "n (held out)"),
    ("calibrated_balanced_accuracy", "Cal. bal. acc."),
    ("calibrated_roc_auc", "Cal. AUC"),
    ("calibrated_spearman", "Cal. Spearman"),
    ("brier", "Brier"),
    ("ece", "ECE"),
)
WITH_CI = {"balanced_accuracy", "roc_auc", "spearman", "calibrated_balanced_accuracy", "calibrated_roc_auc",
           "calibrated_spearman", "brier", "ece"}


def _fmt(value, ci=None, *, undefined: bool = False) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if isinstance(value, int):
        return str(value)
    text = f"{value:.3f}"
    if undefined:  # a constant predictor: no interval, rather than a [0.50, 0.50] that reads as certainty
        text += " [CI undefined]"
    elif ci and ci[0] is not None and ci[1] is not None:
        text += f" [{ci[0]:.2f}, {ci[1]:.2f}]"
    return text


def table_rows(result: EvalResult) -> tuple[list[str], list[list[str]]]:
    columns = list(COLUMNS)
    if any(r.calibrated is not None for r in result.rows):
        columns += CALIBRATED_COLUMNS
    header = ["Reviewer"] + [h for _, h in columns]
    body = []
    for row in result.rows:
        flat = row.flat()
        ci, undefined = flat.get("ci", {}), flat.get("ci_undefined", {})
        no_refit = "" if row.ci_refit is not False else (
            NO_REFIT_MARK if row.ci_refit_scope == "row" else NO_REFIT_MARK.replace("[", "[calibrated: "))
        label = row.label + (LEAK_MARK if row.leaky else "") + no_refit
        body.append([label] + [_fmt(flat.get(k), ci.get(k) if k in WITH_CI else None,
                                    undefined=k in WITH_CI and k in undefined) for k, _ in columns])
    published = {"balanced_accuracy": PUBLISHED["balanced_accuracy"], "roc_auc": PUBLISHED["roc_auc"],
                 "spearman": PUBLISHED["spearman"], "n": 500}
    leaky = result.audit is not None and result.audit.get("verdict") == "leaky"
    body.append([PUBLISHED["name"] + (LEAK_MARK if leaky else "")] + [_fmt(published.get(k)) for k, _ in columns])
    return header, body


# ---------------------------------------------------------------- figures
def _png(fig) -> str:
    """The figure as a data URI (the one embedding helper of reviewer.html_report)."""
    return figure_data_uri(fig)


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def roc_figure(result: EvalResult) -> str:
    from sklearn.metrics import roc_curve

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.2, 5.2))
    for row in result.rows:
        if row.kind in ("reviewer", "human", "stacked", "text-baseline") and row.score is not None:
            fpr, tpr, _ = roc_curve(row.y, row.score)
            style = {"reviewer": {"lw": 1.4}, "human": {"lw": 2.2, "ls": "--"},
                     "stacked": {"lw": 2.4, "color": "black"},
                     "text-baseline": {"lw": 1.6, "ls": "-.", "color": "grey"}}[row.kind]
            ax.plot(fpr, tpr, **style, label=f"{row.label} (AUC {row.metrics.get('roc_auc'):.2f})")
        if row.prob is not None and row.kind != "stacked" and len(result.reviewers) <= 2:
            fpr, tpr, _ = roc_curve(row.prob_y, row.prob)
            ax.plot(fpr, tpr, lw=1.2, ls=":", label=f"{row.label}, calibrated (AUC {row.calibrated.get('calibrated_roc_auc'):.2f})")
    ax.plot([0, 1], [0, 1], color="grey", lw=1, label="random (AUC 0.50)")
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC: continuous scores vs. ICLR decision")
    ax.legend(fontsize=6.5, loc="lower right")
    return _png(fig)


def reliability_figure(result: EvalResult) -> str | None:
    from sklearn.calibration import calibration_curve

    rows = [r for r in result.rows if r.prob is not None]
    if not rows:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.6, 5.2))
    ax.plot([0, 1], [0, 1], color="grey", lw=1, label="perfect calibration")
    for row in rows:
        frac, mean_pred = calibration_curve(row.prob_y, row.prob, n_bins=10, strategy="quantile")
        ax.plot(mean_pred, frac, marker="o", ms=3.5, label=f"{row.label} (ECE {row.calibrated.get('ece'):.3f})")
    ax.set(xlabel="predicted P(accept)", ylabel="observed acceptance rate", xlim=(0, 1), ylim=(0, 1),
           title="Reliability (held-out papers, quantile bins)")
    ax.legend(fontsize=6.5, loc="upper left")
    return _png(fig)


def scatter_figure(result: EvalResult) -> str:
    plt = _pyplot()
    rows = [r for r in result.rows if r.kind == "reviewer"]
    cols = min(3, max(1, len(rows)))
    nrows = max(1, math.ceil(len(rows) / cols))
    fig, axes = plt.subplots(nrows, cols, figsize=(4.2 * cols, 3.6 * nrows), squeeze=False)
    rng = np.random.default_rng(0)
    for ax, row in zip(axes.ravel(), rows):
        jitter = rng.uniform(-0.18, 0.18, size=len(row.score))
        accepted = row.y == 1
        ax.scatter(row.rating[~accepted], row.score[~accepted] + jitter[~accepted], s=7, alpha=0.5, label="rejected")
        ax.scatter(row.rating[accepted], row.score[accepted] + jitter[accepted], s=7, alpha=0.5, label="accepted")
        ax.set(xlabel="mean human rating", ylabel="LLM Overall (jittered)",
               title=f"{row.label}\nSpearman {row.metrics.get('spearman'):.2f}")
        ax.title.set_fontsize(8)
        ax.legend(fontsize=6)
    for ax in axes.ravel()[len(rows):]:
        ax.axis("off")
    fig.tight_layout()
    return _png(fig)


# ---------------------------------------------------------------- documents
INTRO = (
    "Balanced accuracy, accuracy, F1, FPR and FNR use the reviewer's own Decision field (no cut-off "
    "fitted on these papers). AUC uses the continuous Overall score. Spearman, Pearson and MAE compare "
    "Overall with the mean human rating. Brackets: stratified bootstrap 95% intervals "
    "({n_resamples} resamples). Calibrated columns come only from papers the calibrator never saw. "
    "A stacked calibrator has its own row ('stacked: N configurations'). "
    "The human row draws one reviewer per paper and compares them with the mean of the others "
    "(decision = rating >= 6). The text-baseline rows are TF-IDF + logistic regression on the paper text, "
    "cross-fitted (out-of-fold): the bar a reviewer has to clear, on anonymized and on raw text. "
    "Rows marked '[fit not repeated in CIs]' were fitted on the papers they are scored on (text baselines, "
    "cross-fitted calibrators; '[calibrated: ...]': the row's calibrated columns only): their intervals "
    "resample the papers with the out-of-fold predictions held "
    "fixed, without refitting, so they are narrower than the procedure's true uncertainty "
    "(`--refit-resamples K` refits the text baselines inside each resample). A constant predictor (always "
    "reject) has no interval: '[CI undefined]'. "
    "Every figure is measured on this dataset's papers only: on another split of the same venue a "
    "fitted baseline can land outside these intervals (the anonymized-text baseline scores 0.58 on the "
    "ICLR 2022 development split and 0.51 on its held-out split). "
    "The published row is the AI Scientist reviewer recomputed from its own "
    "files on the 500-paper population; its 0.65 balanced accuracy used an Overall >= 6 cut-off chosen "
    "on the same papers and is not comparable."
)

LEAK_TEXT = (
    "Label leak: the audit of this dataset's paper texts calls them leaky ({reasons}). Rows marked "
    "'[leaky texts]' are reviews of those texts: the rejected papers are anonymous submissions and the "
    "accepted ones camera-ready versions (author names, acknowledgements, non-anonymous links, more "
    "length), so a reviewer can score the version instead of the paper. The recorded llm_reviews/ and "
    "the published AI Scientist benchmark (its 0.65 balanced accuracy, already optimistic because its "
    "Overall >= 6 cut-off was chosen on the same papers, and its 0.69 AUC) were measured on such texts: "
    "they are upper bounds of unknown slack, not a reviewer's ability to judge papers. The raw-text "
    "baseline shows how far a bag of words gets by reading the markers; compare reviewers with the "
    "anonymized-text baseline, and re-review with anonymization (the default of bench review and live "
    "bench reviewer eval) before trusting a figure."
)


def leak_text(result: EvalResult) -> str:
    audit = result.audit
    if not audit or audit.get("verdict") != "leaky":
        return ""
    reasons = (f"marker-only classifier AUC {audit['marker_auc']:.2f} "
               f"[{audit['marker_auc_ci'][0]:.2f}, {audit['marker_auc_ci'][1]:.2f}], length-only AUC "
               f"{audit['length_auc']:.2f} [{audit['length_auc_ci'][0]:.2f}, {audit['length_auc_ci'][1]:.2f}]")
    return LEAK_TEXT.format(reasons=reasons)


def markdown_to_html(text: str) -> str:
    """Headings, pipe tables and paragraphs: enough for the notes this report appends."""
    out, table, paragraph = [], [], []

    def flush() -> None:
        if table:
            rows = [[html.escape(c.strip()) for c in line.strip().strip("|").split("|")] for line in table
                    if not set(line.replace("|", "").strip()) <= set("-: ")]
            head, *body = rows
            out.append("<table><thead><tr>" + "".join(f"<th>{c}</th>" for c in head) + "</tr></thead><tbody>"
                       + "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in body)
                       + "</tbody></table>")
            table.clear()
        if paragraph:
            out.append(f"<p>{html.escape(' '.join(paragraph))}</p>")
            paragraph.clear()

    for line in text.splitlines():
        if line.startswith("|"):
            if paragraph:
                flush()
            table.append(line)
        elif line.startswith("#"):
            flush()
            level = min(len(line) - len(line.lstrip("#")), 4)
            out.append(f"<h{level}>{html.escape(line.lstrip('#').strip())}</h{level}>")
        elif not line.strip():
            flush()
        else:
            if table:
                flush()
            paragraph.append(line.strip())
    flush()
    return "\n".join(out)


def write_report(result: EvalResult, out_dir: str | Path, *, extra_markdown: str = "") -> tuple[Path, Path]:
    from reviewer.atomic_file import write_text_atomic

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    header, body = table_rows(result)
    figures = [("ROC curves", roc_figure(result)), ("Reliability diagram", reliability_figure(result)),
               ("Overall vs. mean human rating", scatter_figure(result))]
    intro = INTRO.format(n_resamples=result.n_resamples)
    leak = leak_text(result)
    title = f"Reviewer evaluation: {result.dataset or 'dataset'} ({result.n_papers} papers, {result.n_accepted} accepted)"

    md = [f"# {title}", "", intro, ""] + ([f"**{leak}**", ""] if leak else [])
    md += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    md += ["| " + " | ".join(cells) + " |" for cells in body]
    notes = [f"{row.label}: {note}" for row in result.rows for note in row.notes]
    if notes:
        md += ["", "Notes:", *[f"- {n}" for n in notes]]
    if extra_markdown:
        md += ["", extra_markdown]
    for name, uri in figures:
        if uri is None:
            md += ["", f"({name}: no calibrated probabilities in this run.)"]
            continue
        file = out_dir / (name.lower().replace(" ", "_").replace(".", "") + ".png")
        file.write_bytes(base64.b64decode(uri.split(",", 1)[1]))
        md += ["", f"## {name}", "", f"![{name}]({file.name})"]
    md_path = out_dir / "report.md"
    write_text_atomic(md_path, "\n".join(md) + "\n")

    row_classes = ["leaky" if LEAK_MARK in cells[0] else "" for cells in body[:-1]] + ["reference"]
    page = render_page("reviewer_eval.html.j2", title=title, intro=intro, leak=leak, header=header, rows=body,
                       row_classes=row_classes, notes=notes,
                       extra_html=markdown_to_html(extra_markdown) if extra_markdown else "",
                       figures=[(name, uri) for name, uri in figures if uri])
    html_path = out_dir / "report.html"
    write_text_atomic(html_path, page)
    return md_path, html_path
