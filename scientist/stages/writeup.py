"""The write-up stage: citations found by search and written to references.bib, sections filled
one by one from the notes and the real results, then compiled, with compile errors sent back
to the model a bounded number of times."""
from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scientist.edits import EDIT_FORMAT_HELP, EditReport, apply_reply, parse_reply
from scientist.latex.compile import compile_latex, error_context, missing_graphics
from scientist.latex.source import bib_entries, drop_unknown_citations, embedded_bibliographies
from scientist.stages.literature import (
    LiteratureClient,
    LiteratureUnavailable,
    bibtex_key,
    format_hits,
    make_bibtex,
)
from scientist.latex.template import (
    clean_section,
    fill_section,
    latex_escape,
    section_body,
    section_names,
)
from scientist.prompting import budget_chars, clip, summarize_final_info
from scientist.records import (
    Citation,
    CitationChoice,
    CitationQuery,
    CompiledPaper,
    CompileRound,
    ExperimentsRecord,
    Idea,
    PaperDraft,
    PlotResult,
)
from scientist.rundir import IdeaDir, write_text
from scientist.sandbox import safe_io

MAIN = "template"
FIGURE_MAX_BYTES = 64 * 1024 * 1024

TIPS = {
    "abstract": "One paragraph: what we do and why it matters, why it is hard, our contribution, and how the "
                "experiments verify it.",
    "introduction": "The whole paper in longer form: problem, why it matters and is hard, our contribution as a "
                    "bullet list, how we verify it.",
    "related work": "Compare and contrast with alternative approaches in the literature (cite only the keys "
                    "given); say how they differ in assumptions or method.",
    "background": "The concepts and prior work needed to follow the method; a Problem Setting with the notation.",
    "method": "What we do and why, in the notation of the Background.",
    "experimental setup": "The dataset, model, metrics, hyperparameters and implementation details actually used; "
                          "no imagined hardware.",
    "results": "Only results that were actually run and are in the notes; compare with the baseline; include the "
               "figures; discuss limitations. Never invent numbers.",
    "conclusion": "A brief recap and future work.",
}

SECTION = """We are writing a paper titled "{title}".
The idea: {experiment}

The notes from the experiments (the only source of results; do not invent any number):
<notes.txt>
{notes}
</notes.txt>

The results of each run (means from final_info.json):
{results}

Figures (include with \\includegraphics{{NAME}} using exactly these file names): {figures}
Citation keys in references.bib (cite only these, with \\cite{{KEY}}): {cites}

The paper so far:
{so_far}

Write the "{section}" section. Advice: {tip}
{guide}Reply with only the LaTeX body of this section in one ```latex block: no \\section command, no
preamble, no \\begin{{document}}. Escape special characters (_ & % # $) in text.
Alternatively, reply with SEARCH/REPLACE blocks on latex/template.tex (the whole file is above).

{edit_help}"""

REFINE = """The complete draft of the paper, latex/template.tex:
<template.tex>
{tex}
</template.tex>

The notes from the experiments (the only source of results; do not invent any number):
<notes.txt>
{notes}
</notes.txt>

Criticize and refine the "{section}" section only, as a careful author would on a second pass:
cut repetition, make every claim match the notes, keep figures and tables in Results, fix LaTeX
errors. Reply with SEARCH/REPLACE blocks on latex/template.tex, or with NO CHANGES.

{edit_help}"""

CITE_QUERY = """We are writing the paper "{title}" about: {experiment}
References so far: {cites}
Round {round} of {rounds}: give a search query for the most important paper still missing from
the references (related work, the methods and datasets used), or done = true if none is missing."""

CITE_CHOOSE = """Search results for "{query}":

{results}

Which of these should the paper cite? Give their indices (an empty list if none fits).
Do not select papers already in the references: {cites}"""

FIX = """The paper does not compile. pdflatex reported:
{errors}

The lines around the errors in template.tex:
{context}

Fix the errors with SEARCH/REPLACE blocks on template.tex (or references.bib). Make the
minimal change; do not remove packages or sections.

{edit_help}"""


def editable_files(paper: Path) -> dict[str, Path]:
    """What a write-up reply may edit: the paper's LaTeX and its bibliography (by either name:
    AI-Scientist prompts call them latex/template.tex, latex/references.bib), and, as in the
    published write-up's chat, the notes and experiment.py of the idea (paper/ sits in the idea's
    folder). The runs are over and their evidence is the harness's own record, so these edits
    change no result."""
    tex, bib, idea = paper / f"{MAIN}.tex", paper / "references.bib", IdeaDir(paper.parent)
    return {f"{MAIN}.tex": tex, f"latex/{MAIN}.tex": tex, "references.bib": bib, "latex/references.bib": bib,
            "notes.txt": idea.notes, "experiment.py": idea.code / "experiment.py"}


def apply_paper_edits(reply: str, paper: Path) -> EditReport:
    return apply_reply(reply, editable_files(paper))


@dataclass
class WriteupSettings:
    fix_rounds: int = 3
    citation_rounds: int = 3
    max_tokens: int | None = None
    compile_timeout_s: float = 60.0
    refine_calls: int = 10  # the refinement pass: at most one call per section, at most this many


def prepare_paper_dir(template_path: Path, idea_dir: IdeaDir, figures: list[str]) -> Path:
    """A fresh copy of the template's latex/ and the figures in paper/."""
    paper = idea_dir.paper
    if paper.exists():
        shutil.rmtree(paper)
    shutil.copytree(template_path / "latex", paper)
    for fig in figures:  # written by plot.py in the sandbox: regular files only, size-capped
        try:
            safe_io.copy_file(idea_dir.code / fig, paper / fig, src_root=idea_dir.code, dst_root=paper,
                              max_bytes=FIGURE_MAX_BYTES)
        except OSError:  # gone, replaced or over the cap since plotting: left out (missing_figures says so)
            continue
    bib = paper / "references.bib"
    if not bib.exists():
        # The AI Scientist's skeletons embed references.bib with filecontents, which LaTeX does
        # not write over an existing file: start the file from the embedded entries.
        tex = paper / f"{MAIN}.tex"
        bib.write_text("\n\n".join(embedded_bibliographies(tex.read_text())).strip() + "\n"
                       if tex.exists() else "")
    return paper


def gather_citations(idea: Idea, bib_path: Path, client: Any, literature: LiteratureClient | None,
                     rounds: int, max_tokens: int | None) -> tuple[list[Citation], str]:
    """Search, let the model choose, append BibTeX. Status: ok / unavailable (offline) / none."""
    if literature is None or rounds <= 0:
        return [], "none"
    if literature.offline_reason:
        return [], "unavailable"
    added: list[Citation] = []
    messages: list[dict[str, str]] = []
    query = idea.title  # the first search needs no model call, and tells us if we are offline
    for r in range(1, rounds + 1):
        known = bib_entries(bib_path.read_text())
        cites = "; ".join(f"{k}: {t}" for k, t in known.items()) or "(none)"
        if r > 1:
            messages.append({"role": "user", "content": CITE_QUERY.format(
                title=idea.title, experiment=idea.experiment, cites=cites, round=r, rounds=rounds)})
            step: CitationQuery = client.complete_structured(messages, CitationQuery, purpose="citations",
                                                             max_tokens=max_tokens)
            messages.append({"role": "assistant", "content": step.model_dump_json()})
            if step.done or not step.query.strip():
                break
            query = step.query.strip()
        try:
            hits = literature.search(query)
        except LiteratureUnavailable:
            return added, "unavailable" if not added else "ok"
        if not hits:
            continue
        messages.append({"role": "user", "content": CITE_CHOOSE.format(
            query=query, results=format_hits(hits, 300), cites=cites)})
        choice: CitationChoice = client.complete_structured(messages, CitationChoice, purpose="citations",
                                                            max_tokens=max_tokens)
        messages.append({"role": "assistant", "content": choice.model_dump_json()})
        titles = {t.lower() for t in known.values()}
        taken = set(known)
        entries = []
        for i in dict.fromkeys(choice.selected):
            if not 0 <= i < len(hits) or hits[i].title.lower() in titles:
                continue
            key = bibtex_key(hits[i], taken)
            taken.add(key)
            titles.add(hits[i].title.lower())
            entries.append(make_bibtex(hits[i], key))
            added.append(Citation(key=key, title=hits[i].title, query=query, source=hits[i].source))
        if entries:
            with bib_path.open("a") as f:
                f.write("\n\n" + "\n\n".join(entries) + "\n")
    return added, "ok"


def _results_text(experiments: ExperimentsRecord) -> str:
    baseline = experiments.baseline.final_info if experiments.baseline else None
    lines = [f"run_0 (baseline): {summarize_final_info(baseline)}"]
    lines += [f"run_{r.index} ({r.description[:120]!r}): {summarize_final_info(r.final_info)}"
              for r in experiments.runs if r.ok]
    return "\n".join(lines)


def write_sections(idea: Idea, idea_dir: IdeaDir, tex: str, experiments: ExperimentsRecord, figures: list[str],
                   client: Any, system_prompt: str, max_tokens: int | None) -> tuple[str, dict[str, str]]:
    known = bib_entries((idea_dir.paper / "references.bib").read_text())
    notes = idea_dir.notes.read_text() if idea_dir.notes.exists() else ""
    written: dict[str, str] = {}
    system = (system_prompt.strip() + "\n\nYou are now writing the paper in LaTeX.").strip()
    for name in section_names(tex):
        guide = " ".join(ln.strip().lstrip("%").strip() for ln in (section_body(tex, name) or "").splitlines()
                         if ln.strip().startswith("%"))
        guide = guide.removeprefix("Placeholder.").strip()
        if name.lower() == "title":
            body = latex_escape(idea.title)
        else:
            so_far = tex
            prompt = SECTION.format(
                title=idea.title, experiment=idea.experiment,
                notes=clip(notes, budget_chars(client, 0.2), keep="tail"),
                results=clip(_results_text(experiments), budget_chars(client, 0.1)),
                figures=", ".join(figures) or "(none: do not include figures)",
                cites=clip("; ".join(f"{k} ({t[:60]})" for k, t in known.items()) or "(none: do not cite)",
                           budget_chars(client, 0.08)),
                so_far=clip(so_far, budget_chars(client, 0.3), keep="tail"),
                section=name, tip=TIPS.get(name.lower(), "Keep it precise and grounded in the results."),
                guide=f"The template's note for this section: {guide}\n" if guide else "", edit_help=EDIT_FORMAT_HELP)
            reply = client.complete([{"role": "system", "content": system}, {"role": "user", "content": prompt}],
                                    max_tokens=max_tokens, purpose="writeup").text
            if parse_reply(reply).blocks:  # edits on the whole file instead of one section's body
                tex_path = idea_dir.paper / f"{MAIN}.tex"
                write_text(tex_path, tex)
                apply_paper_edits(reply, idea_dir.paper)
                tex = safe_io.read_text_or(tex_path, tex)
                written[name] = (section_body(tex, name) or "").strip()
                continue
            body = clean_section(reply, name)
        written[name] = body
        tex = fill_section(tex, name, body)
    return tex, written


def refine_sections(idea_dir: IdeaDir, tex_path: Path, client: Any, system_prompt: str,
                    settings: WriteupSettings) -> list[dict[str, Any]]:
    """One refinement call per section over the full draft, bounded by `refine_calls`; each reply's
    edit blocks go through the same applier as every other edit. Best effort: a failed call
    leaves the draft as it was."""
    notes = safe_io.read_text_or(idea_dir.notes)
    done: list[dict[str, Any]] = []
    names = [n for n in section_names(safe_io.read_text_or(tex_path)) if n.lower() != "title"]
    for name in names[: max(0, settings.refine_calls)]:
        prompt = REFINE.format(tex=clip(safe_io.read_text_or(tex_path), budget_chars(client, 0.5)),
                               notes=clip(notes, budget_chars(client, 0.2), keep="tail"), section=name,
                               edit_help=EDIT_FORMAT_HELP)
        try:
            reply = client.complete([{"role": "system", "content": system_prompt},
                                     {"role": "user", "content": prompt}],
                                    max_tokens=settings.max_tokens, purpose="writeup_refine").text
        except Exception as err:  # the draft stands without this pass
            done.append({"section": name, "error": f"{type(err).__name__}: {err}"[:500]})
            continue
        report = apply_paper_edits(reply, tex_path.parent)
        done.append({"section": name, "changed": bool(report.changed), "truncated": report.truncated,
                     "blocks": [b.model_dump() for b in report.blocks]})
    return done


def compile_with_fixes(paper: Path, client: Any, system_prompt: str, settings: WriteupSettings,
                       rounds: list[CompileRound]) -> Path | None:
    tex_path = paper / f"{MAIN}.tex"
    out = compile_latex(paper, MAIN, timeout=settings.compile_timeout_s)
    rounds.append(CompileRound(round=0, ok=out.ok, pdf=out.pdf is not None, errors=out.errors))
    r = continuations = 0
    feedback = ""
    while r - continuations < settings.fix_rounds and not out.ok:
        r += 1
        prompt = FIX.format(errors="\n".join(out.errors), edit_help=EDIT_FORMAT_HELP,
                            context=error_context(safe_io.read_text_or(tex_path), out.errors)
                            or "(no line numbers)")
        resp = client.complete([{"role": "system", "content": system_prompt},
                                {"role": "user", "content": f"{feedback}\n\n{prompt}".strip()}],
                               max_tokens=settings.max_tokens, purpose="latex_fix")
        report = apply_paper_edits(resp.text, paper)
        feedback = report.feedback()
        note = None
        if (report.truncated or getattr(resp, "finish_reason", None) == "length") and continuations < 2:
            continuations += 1  # cut off at the output limit: asked again, no round charged
            feedback = feedback or "Your reply was cut off at the output limit: send fewer, smaller blocks."
            note = "cut off at the output limit (not charged): " + feedback
        if not report.changed:
            rounds.append(CompileRound(round=r, ok=False, pdf=out.pdf is not None, errors=out.errors,
                                       edit_error=note or feedback or "no edit block in the reply"))
            continue
        out = compile_latex(paper, MAIN, timeout=settings.compile_timeout_s)
        rounds.append(CompileRound(round=r, ok=out.ok, pdf=out.pdf is not None, errors=out.errors, edit_error=note))
    return out.pdf


def perform_writeup(idea: Idea, idea_dir: IdeaDir, template_path: Path, experiments: ExperimentsRecord,
                    plots: PlotResult | None, client: Any, system_prompt: str,
                    literature: LiteratureClient | None, settings: WriteupSettings) -> CompiledPaper:
    figures = [f for f in (plots.figures if plots else []) if safe_io.is_file(idea_dir.code / f)]
    paper = prepare_paper_dir(template_path, idea_dir, figures)
    tex_path = paper / f"{MAIN}.tex"
    tex = tex_path.read_text()
    if not section_names(tex):
        raise ValueError(f"{tex_path} has nothing to fill: no '%% BEGIN SECTION: <name>' slots, "
                         "no \\title, abstract or \\section headings")
    draft = PaperDraft()
    draft.citations, draft.citation_status = gather_citations(
        idea, paper / "references.bib", client, literature, settings.citation_rounds, settings.max_tokens)
    tex, draft.sections = write_sections(idea, idea_dir, tex, experiments, figures, client, system_prompt,
                                         settings.max_tokens)
    write_text(tex_path, tex)
    draft.refinements = refine_sections(idea_dir, tex_path, client, system_prompt, settings)
    tex = safe_io.read_text_or(tex_path, tex)
    tex, draft.removed_cites = drop_unknown_citations(tex, set(bib_entries((paper / "references.bib").read_text())))
    draft.missing_figures = missing_graphics(tex, paper)
    write_text(tex_path, tex)
    result = CompiledPaper(draft=draft, tex_path=str(tex_path))
    pdf = compile_with_fixes(paper, client, system_prompt, settings, result.rounds)
    result.compiled = pdf is not None
    result.clean = bool(result.rounds and result.rounds[-1].ok)
    result.pdf_path = str(pdf) if pdf else None
    return result


def judge(result: CompiledPaper) -> tuple[str, str | None]:
    if result.compiled:
        if result.clean:
            return "ok", None
        return "ok", "compiled with LaTeX errors left: " + "; ".join(result.rounds[-1].errors[:3])
    errors = result.rounds[-1].errors if result.rounds else []
    return "failed", "no PDF: " + ("; ".join(errors[:5]) or "unknown error")
