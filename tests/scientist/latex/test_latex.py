"""LaTeX: section slots, cleaning model replies, bibliography checks, and real compiles with
errors fed back to a scripted model."""
from __future__ import annotations

import shutil

import pytest

from scientist.latex.compile import (
    bib_entries,
    compile_latex,
    drop_unknown_cites,
    error_context,
    latex_errors,
    missing_graphics,
)
from scientist.latex.template import (
    clean_section,
    fill_section,
    latex_escape,
    section_body,
    section_names,
)
from scientist.records import CompileRound
from scientist.stages.writeup import WriteupSettings, compile_with_fixes

TEX = r"""\documentclass{article}
\usepackage{graphicx}
\title{
%% BEGIN SECTION: Title
TITLE HERE
%% END SECTION: Title
}
\begin{document}
\maketitle
\begin{abstract}
%% BEGIN SECTION: Abstract
ABSTRACT HERE
%% END SECTION: Abstract
\end{abstract}
\section{Introduction}
%% BEGIN SECTION: Introduction
INTRO HERE
%% END SECTION: Introduction
\bibliographystyle{plain}
\bibliography{references}
\end{document}
"""

BIB = """@article{power2022grokking,
  title = {Grokking: Generalization Beyond Overfitting},
  author = {Power, Alethea},
  year = {2022},
  journal = {arXiv}
}
@misc{nanda2023progress, title={Progress measures for {grokking}}, author={Nanda, Neel}, year={2023}}
"""

needs_tex = pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex not installed")


def test_slots_in_order_and_fill_keeps_markers():
    assert section_names(TEX) == ["Title", "Abstract", "Introduction"]
    tex = fill_section(TEX, "Introduction", "We study grokking.")
    assert section_body(tex, "Introduction") == "We study grokking.\n"
    assert "INTRO HERE" not in tex and "ABSTRACT HERE" in tex
    assert section_names(fill_section(tex, "Introduction", "Again.")) == ["Title", "Abstract", "Introduction"]
    with pytest.raises(KeyError):
        fill_section(TEX, "Method", "x")


def test_clean_section_takes_fenced_body_and_drops_dangerous_lines():
    reply = ("Here it is:\n```latex\n\\section{Introduction}\\label{sec:intro}\nGrokking is delayed.\n"
             "\\end{document}\n\\input{/etc/passwd}\n\\usepackage{evil}\nMore text.\n```\nDone.")
    body = clean_section(reply, "Introduction")
    assert body.split() == ["Grokking", "is", "delayed.", "More", "text."]
    assert "\\end{document}" not in body and "passwd" not in body and "\\section" not in body
    assert clean_section("\\begin{abstract}\nShort.\n\\end{abstract}", "Abstract") == "Short."
    assert latex_escape("a_b & 50% #1") == r"a\_b \& 50\% \#1"


def test_bib_entries_and_unknown_cites_removed():
    known = bib_entries(BIB)
    assert known == {"power2022grokking": "Grokking: Generalization Beyond Overfitting",
                     "nanda2023progress": "Progress measures for grokking"}
    tex, removed = drop_unknown_cites(r"As shown \citep{power2022grokking, smith2020}. Also \cite{ghost}.", set(known))
    assert tex == r"As shown \citep{power2022grokking}. Also ."
    assert removed == ["smith2020", "ghost"]


def test_latex_error_extraction_from_log():
    log = ("./template.tex:12: Undefined control sequence.\nl.12 \\foo\n"
           "! LaTeX Error: File `missing.png' not found.\n\nSee the LaTeX manual.\nl.20 \\includegraphics{missing.png}\n")
    assert latex_errors(log) == ["line 12: Undefined control sequence.",
                                 "line 20: LaTeX Error: File `missing.png' not found. (near '\\includegraphics{missing.png}')"]
    ctx = error_context("a\nb\nc\nd\ne\n", ["line 3: bad"], radius=1)
    assert ctx == "    2| b\n    3| c\n    4| d"


def test_missing_graphics(tmp_path):
    (tmp_path / "loss.png").write_bytes(b"x")
    tex = r"\includegraphics[width=0.5\textwidth]{loss.png} \includegraphics{acc}"
    assert missing_graphics(tex, tmp_path) == ["acc"]


@needs_tex
def test_compile_error_fed_back_and_fixed(tmp_path, scripted_client):
    paper = tmp_path / "paper"
    paper.mkdir()
    tex = fill_section(TEX, "Introduction", r"Grokking \citep{power2022grokking} is \badmacro{} delayed.")
    tex = tex.replace(r"\usepackage{graphicx}", "\\usepackage{graphicx}\n\\usepackage{natbib}")
    (paper / "template.tex").write_text(tex)
    (paper / "references.bib").write_text(BIB)
    fix = "template.tex\n<<<<<<< SEARCH\nis \\badmacro{} delayed.\n=======\nis delayed.\n>>>>>>> REPLACE\n"
    client, script = scripted_client({"latex_fix": ["template.tex\n<<<<<<< SEARCH\nnot there\n=======\nx\n>>>>>>> REPLACE\n", fix]})
    rounds: list[CompileRound] = []
    pdf = compile_with_fixes(paper, client, "sys", WriteupSettings(fix_rounds=3), rounds)
    assert pdf == paper / "paper.pdf" and pdf.read_bytes().startswith(b"%PDF")
    assert [(r.round, r.ok) for r in rounds] == [(0, False), (1, False), (2, True)]
    assert "Undefined control sequence" in rounds[0].errors[0]
    assert "does not occur" in rounds[1].edit_error  # the bad edit cost a round, not a compile
    assert "\\badmacro" in script.prompts("latex_fix")[0]  # the failing line was shown to the model
    assert (paper / "template.bbl").read_text().count("bibitem") == 1  # bibtex ran: the cite resolved


@needs_tex
def test_compile_refuses_to_read_outside_the_paper_dir(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-TOKEN")
    paper = tmp_path / "paper"
    paper.mkdir()
    (paper / "template.tex").write_text(
        "\\documentclass{article}\\begin{document}\\input{" + str(secret) + "}\\end{document}\n")
    out = compile_latex(paper)
    assert not out.ok
    log = (paper / "template.log").read_text()
    assert "TOP-SECRET-TOKEN" not in log and any("not" in e.lower() or "found" in e.lower() for e in out.errors)
