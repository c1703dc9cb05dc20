"""Validity checks on hand-made paper folders: one valid, one folder per failure reason."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from repo_paths import shared_data_dir

from benchmark.validity.checks import CHECKS, ValidityConfig, check_idea_dir, check_paper

from bench_paper_folder import VALID_TEX, make_paper, write_text_pdf

DATA = shared_data_dir()


def failed(report) -> dict[str, str]:
    return {c.name: c.reason for c in report.failures}


def test_valid_paper_passes_every_check(tmp_path):
    report = check_idea_dir(make_paper(tmp_path))
    assert [c.name for c in report.checks] == list(CHECKS)
    assert report.valid, report.summary()
    numbers = next(c for c in report.checks if c.name == "numbers_match")
    # 3 seeds (a setting) and 2024 (a count) are traced, not counted; "99%" is the metric's threshold,
    # 10^{-3} the learning rate (a setting)
    assert numbers.reason.startswith("5 of 5 results"), numbers.reason
    assert {t.text: t.kind for t in numbers.claims if not t.counts} == {
        "99\\%": "threshold", "10^{-3}": "setting", "3": "setting", "2024": "count"}


def test_missing_pdf_fails_compile_and_page_count(tmp_path):
    report = check_idea_dir(make_paper(tmp_path, pdf_pages=None))
    assert failed(report) == {"pdf_compiles": "no PDF was produced", "page_count": "no readable PDF"}


def test_corrupt_pdf_is_reported(tmp_path):
    idea = make_paper(tmp_path)
    (idea / "paper" / "paper.pdf").write_bytes(b"%PDF-1.4 truncated")
    assert "does not open" in failed(check_idea_dir(idea))["pdf_compiles"]


def test_template_leftovers_and_todos(tmp_path):
    tex = VALID_TEX.replace("We scale the weight decay", "METHOD HERE. TODO: We scale the weight decay")
    reason = failed(check_idea_dir(make_paper(tmp_path, tex=tex)))["no_placeholders"]
    assert "METHOD HERE" in reason and "TODO" in reason


def test_unfilled_template_text_is_a_leftover(tmp_path):
    template = tmp_path / "template.tex"
    template.write_text("\\begin{document}\n\\section{Method}\nDescribe the method in two paragraphs.\n"
                        "\\section{Results}\n\\end{document}\n")
    tex = VALID_TEX.replace("We scale the weight decay", "Describe the method in two paragraphs.\nWe scale the weight decay")
    idea = make_paper(tmp_path / "p", tex=tex)
    report = check_idea_dir(idea, template_tex=template)
    assert "template text 'Describe the method in two paragraphs.'" in failed(report)["no_placeholders"]
    assert check_idea_dir(make_paper(tmp_path / "q"), template_tex=template).valid


def test_unresolved_marks_in_pdf(tmp_path):
    idea = make_paper(tmp_path)
    write_text_pdf(idea / "paper" / "paper.pdf", "as shown in Figure ?? and [?]")
    assert "unresolved" in failed(check_idea_dir(idea))["no_placeholders"]


def test_missing_figure_file(tmp_path):
    report = check_idea_dir(make_paper(tmp_path, figure=False))
    assert failed(report) == {"figures": "missing graphic val_acc.png"}


def test_unreferenced_figure_and_dangling_ref(tmp_path):
    tex = VALID_TEX.replace("Figure~\\ref{fig:val}", "Figure~\\ref{fig:loss}")
    reason = failed(check_idea_dir(make_paper(tmp_path, tex=tex)))["figures"]
    assert "figure fig:val is never referenced" in reason
    assert "\\ref{fig:loss} points to no label" in reason


def test_figure_without_label_cannot_be_referenced(tmp_path):
    tex = VALID_TEX.replace("\\label{fig:val}", "").replace("Figure~\\ref{fig:val}, ", "")
    assert "has no label" in failed(check_idea_dir(make_paper(tmp_path, tex=tex)))["figures"]


def test_citation_without_bib_entry(tmp_path):
    tex = VALID_TEX.replace("\\cite{liu2022omnigrok, power2022grokking}", "\\citep{liu2022omnigrok,nanda2023}")
    reason = failed(check_idea_dir(make_paper(tmp_path, tex=tex)))["citations"]
    assert reason == "1 citation key(s) without a bibliography entry: nanda2023"


def test_bibitems_and_embedded_bib_resolve_citations(tmp_path):
    assert check_idea_dir(make_paper(tmp_path / "a", bib=None)).valid  # thebibliography
    embedded = VALID_TEX.replace("\\begin{document}", "\\begin{filecontents}{references.bib}\n"
                                 "@article{power2022grokking, title={G}}\n@article{liu2022omnigrok, title={O}}\n"
                                 "\\end{filecontents}\n\\begin{document}")
    idea = make_paper(tmp_path / "b", tex=embedded)
    (idea / "paper" / "references.bib").unlink()
    assert check_idea_dir(idea).valid


def test_hallucinated_numbers_are_flagged(tmp_path):
    tex = VALID_TEX.replace("0.953 (95.3\\%)", "0.981 (98.1\\%)")
    reason = failed(check_idea_dir(make_paper(tmp_path, tex=tex)))["numbers_match"]
    assert reason.startswith("2 of 5 results (40%) in Results supported by no recorded run: 0.981, 98.1\\%")


def test_numbers_without_any_log(tmp_path):
    reason = failed(check_idea_dir(make_paper(tmp_path, final_info=False)))["numbers_match"]
    # no harness record, no evidence: experiment.py alone is not a result
    assert reason == "6 results quoted but no recorded experiment results to support them"  # "reach 99%": a threshold


def test_tolerance_allows_some_unsupported_numbers(tmp_path):
    tex = VALID_TEX.replace("7,420 steps", "7,777 steps")
    idea = make_paper(tmp_path, tex=tex)
    assert not check_idea_dir(idea).valid
    assert check_idea_dir(idea, config=ValidityConfig(max_unsupported_numbers=1)).valid


def test_empty_or_missing_sections(tmp_path):
    tex = VALID_TEX.split("\\section{Conclusion}")[0] + "\\section{Conclusions}\nRESULTS\n\\end{document}\n"
    reason = failed(check_idea_dir(make_paper(tmp_path / "a", tex=tex)))["sections_nonempty"]
    assert reason == "Conclusion has 1 words (< 20)"
    tex = VALID_TEX.replace("\\section{Results}", "\\section{Findings}")
    reason = failed(check_idea_dir(make_paper(tmp_path / "b", tex=tex)))["sections_nonempty"]
    assert reason == "no Results section"


def test_page_limit(tmp_path):
    report = check_idea_dir(make_paper(tmp_path, pdf_pages=14))
    assert failed(report) == {"page_count": "14 pages (limit 12)"}
    assert check_idea_dir(make_paper(tmp_path / "b", pdf_pages=14), config=ValidityConfig(max_pages=20)).valid


def test_published_ai_scientist_pdfs_compile_within_limit():
    pdfs = sorted((DATA / "ai_scientist_papers").glob("*.pdf"))
    if not pdfs:
        pytest.skip("../shared/data/ai_scientist_papers not present")
    for pdf in pdfs:
        report = check_paper(pdf.parent, pdf_path=pdf)
        checks = {c.name: c for c in report.checks}
        assert checks["pdf_compiles"].passed and checks["page_count"].passed, pdf.name
        assert not report.valid  # no LaTeX source or logs: not verifiable, so not counted


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex is not installed")
def test_real_pdflatex_paper_is_valid(tmp_path):
    idea = make_paper(tmp_path, bib=None, pdf_pages=None)
    paper = idea / "paper"
    for _ in range(2):  # the second pass resolves \ref and \cite
        subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "template.tex"],
                       cwd=paper, capture_output=True, timeout=120, check=True)
    (paper / "template.pdf").rename(paper / "paper.pdf")
    report = check_idea_dir(idea)
    assert report.valid, report.summary()
    assert next(c for c in report.checks if c.name == "pdf_compiles").reason.startswith("paper.pdf: 2 pages")


def test_section_slot_placeholders_and_empty_slots(tmp_path):
    """Templates mark each part the pipeline writes with %% BEGIN/END SECTION comments."""
    template = tmp_path / "template.tex"
    template.write_text("\\begin{document}\n\\section{Method}\n%% BEGIN SECTION: Method\n"
                        "Describe the method here.\n%% END SECTION: Method\n"
                        "\\section{Conclusion}\n%% BEGIN SECTION: Conclusion\nSummarise.\n%% END SECTION: Conclusion\n"
                        "\\end{document}\n")
    tex = VALID_TEX.replace("We scale the weight decay", "%% BEGIN SECTION: Method\nDescribe the method here.\n"
                            "%% END SECTION: Method\nWe scale the weight decay")
    tex = tex.replace("\\section{Conclusion}\n", "\\section{Conclusion}\n%% BEGIN SECTION: Conclusion\n%% END SECTION: Conclusion\n")
    reason = failed(check_idea_dir(make_paper(tmp_path / "p", tex=tex), template_tex=template))["no_placeholders"]
    assert reason == ("placeholders or template leftovers: empty section slot(s) Conclusion, "
                      "template text 'Describe the method here.'")
    filled = VALID_TEX.replace("We scale", "%% BEGIN SECTION: Method\nWe scale").replace(
        "validation loss.\n", "validation loss.\n%% END SECTION: Method\n")
    assert check_idea_dir(make_paper(tmp_path / "q", tex=filled), template_tex=template).valid


def test_graphicspath_folders_are_searched(tmp_path):
    tex = VALID_TEX.replace("\\begin{document}", "\\graphicspath{{../}{./}}\n\\begin{document}")
    idea = make_paper(tmp_path, tex=tex)
    (idea / "paper" / "val_acc.png").rename(idea / "val_acc.png")  # one folder up
    assert check_idea_dir(idea).valid


TEMPLATE = Path(__file__).resolve().parents[2] / "scientist" / "templates" / "grokking" / "latex" / "template.tex"


@pytest.mark.skipif(shutil.which("pdflatex") is None or not TEMPLATE.is_file(),
                    reason="pdflatex or the grokking template is missing")
def test_unfilled_real_template_is_not_valid(tmp_path):
    """The grokking skeleton compiles as it is; every unfilled slot is a template leftover."""
    paper = tmp_path / "idea" / "paper"
    paper.mkdir(parents=True)
    shutil.copy(TEMPLATE, paper / "template.tex")
    subprocess.run(["pdflatex", "-interaction=nonstopmode", "template.tex"], cwd=paper, capture_output=True,
                   timeout=120)
    report = check_idea_dir(tmp_path / "idea", template_tex=TEMPLATE)
    reasons = failed(report)
    assert "pdf_compiles" not in reasons and "page_count" not in reasons
    assert ("empty section slot(s) Abstract, Introduction, Related Work, Background, Method, Experimental Setup, "
            "Results, Conclusion") in reasons["no_placeholders"]
    assert "template text 'Grokking on Modular Arithmetic'" in reasons["no_placeholders"]
    assert reasons["sections_nonempty"] == "Results has 0 words (< 20); Conclusion has 0 words (< 20)"
