"""Citations that render: real pdflatex + bibtex on the demo template's style, and the citations
check reading the compiled PDF and the LaTeX log."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from benchmark.validity.checks import check_citations, unresolved_citations

DEMO_LATEX = Path(__file__).resolve().parents[2] / "benchmark" / "demo" / "template" / "latex"
DOC = r"""\documentclass{article}
\usepackage{tinyconf}
\begin{filecontents}{references.bib}
@article{cox1958regression, author = {Cox, David R.}, title = {The Regression Analysis of Binary Sequences},
  journal = {JRSS B}, year = {1958}}
@article{robbins1951stochastic, author = {Robbins, Herbert and Monro, Sutton}, title = {A Stochastic
  Approximation Method}, journal = {Ann. Math. Stat.}, year = {1951}}
\end{filecontents}
\begin{document}
Logistic regression goes back to \citet{cox1958regression}; step sizes \citep{robbins1951stochastic}.
\bibliographystyle{tinyplain}
\bibliography{references}
\end{document}
"""
# the demo's style before the fix: \bibitem{key} without natbib's [Author(Year)] label
UNLABELLED_BST = r"""ENTRY { author title journal year } {} {}
FUNCTION {fmt} { newline$ "\bibitem{" cite$ * "}" * write$ newline$ title write$ newline$ }
FUNCTION {article} { fmt }
FUNCTION {default.type} { fmt }
READ
FUNCTION {begin.bib} { "\begin{thebibliography}{99}" write$ newline$ }
FUNCTION {end.bib} { newline$ "\end{thebibliography}" write$ newline$ }
EXECUTE {begin.bib}
ITERATE {call.type$}
EXECUTE {end.bib}
"""


def _compile(folder: Path) -> tuple[str, str]:
    import pymupdf

    from scientist.latex.compile import compile_latex

    out = compile_latex(folder, main="template", timeout=60)
    assert out.pdf is not None, out.errors
    with pymupdf.open(out.pdf) as doc:
        text = " ".join(page.get_text() for page in doc)
    return " ".join(text.split()), (folder / "template.log").read_text(errors="replace")


@pytest.mark.slow  # two real pdflatex/bibtex builds: about 20 s
@pytest.mark.skipif(shutil.which("pdflatex") is None or shutil.which("bibtex") is None, reason="needs pdflatex and bibtex")
def test_demo_style_renders_author_year_and_an_unlabelled_style_fails_the_check(tmp_path):
    good = tmp_path / "good"
    good.mkdir()
    for name in ("tinyconf.sty", "tinyplain.bst"):
        shutil.copy(DEMO_LATEX / name, good / name)
    (good / "template.tex").write_text(DOC)
    text, log = _compile(good)
    assert "Cox (1958)" in text and "(Robbins and Monro, 1951)" in text, text[:300]
    assert unresolved_citations(text, log) == []
    assert check_citations(DOC, good, text, log).passed

    bad = tmp_path / "bad"
    shutil.copytree(good, bad)
    (bad / "tinyplain.bst").write_text(UNLABELLED_BST)
    for stale in ("template.bbl", "template.aux"):
        (bad / stale).unlink(missing_ok=True)
    text, log = _compile(bad)
    assert "(author?)" in text
    result = check_citations(DOC, bad, text, log)
    assert not result.passed and "(author?)" in result.reason and "cox1958regression" in result.reason


def test_unresolved_marks_and_log_warnings_are_read():
    log = ("Package natbib Warning: Citation `smith2020' on page 1 undefined on input line 12.\n"
           "LaTeX Warning: Citation `doe2019' on page 2 undefined on input line 40.\n")
    found = unresolved_citations("as shown by (author?) [3] and [?]", log)
    assert any("(author?)" in f for f in found) and any("[?]" in f for f in found)
    assert any("smith2020" in f and "doe2019" in f for f in found)
    assert unresolved_citations("as shown by Smith (2020) [3]", "") == []
