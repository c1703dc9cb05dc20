"""pdflatex and bibtex run model-written LaTeX: in the sandbox, never on the host as root (issue 10)."""
from __future__ import annotations

import shutil
import time

import pytest

from scientist.latex.compile import compile_latex

needs_tex = pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex is not installed")
DOC = "\\documentclass{{article}}\\begin{{document}}{body}\\end{{document}}\n"


@needs_tex
def test_a_symlink_in_the_paper_folder_is_refused_not_typeset(tmp_path, bwrap_ready):
    paper = tmp_path / "paper"
    paper.mkdir()
    (paper / "link.tex").symlink_to("/etc/passwd")
    (paper / "template.tex").write_text(DOC.format(body="Hello \\input{link.tex}"))
    out = compile_latex(paper, timeout=60)
    assert not out.ok and out.sandboxed
    assert any(e.startswith("refused: link.tex -> /etc/passwd") for e in out.errors)
    assert not (paper / "link.tex").exists() and not (paper / "link.tex").is_symlink()
    log = (paper / "template.log").read_text(errors="replace")
    assert "root:x:0:0" not in log and "root:" not in "".join(out.errors)
    assert "symlink" in {i["kind"] for i in out.incidents}


@needs_tex
def test_a_document_that_floods_the_disk_is_stopped_at_its_budget(tmp_path, bwrap_ready):
    paper = tmp_path / "paper"
    paper.mkdir()
    line = "x" * 1000
    body = ("\\newwrite\\big\\immediate\\openout\\big=big.txt\\count255=0 "
            f"\\loop\\immediate\\write\\big{{{line}}}\\advance\\count255 by 1\\ifnum\\count255<400000\\repeat"
            "\\immediate\\closeout\\big done")
    (paper / "template.tex").write_text(DOC.format(body=body))
    started = time.monotonic()
    out = compile_latex(paper, timeout=120)
    assert time.monotonic() - started < 110
    assert not out.ok and any("disk_limit" in e or "No space" in e or "stopped by the sandbox" in e
                              for e in out.errors), out.errors
    size = (paper / "big.txt").stat().st_size if (paper / "big.txt").exists() else 0
    assert size <= 100 * 1024 * 1024  # 400 MB asked for, the budget kept
    assert "disk_limit" in {i["kind"] for i in out.incidents}


@needs_tex
def test_a_document_that_never_ends_is_killed_at_the_time_limit(tmp_path, bwrap_ready):
    paper = tmp_path / "paper"
    paper.mkdir()
    (paper / "template.tex").write_text(DOC.format(body="\\def\\spin{\\spin}\\spin"))
    started = time.monotonic()
    out = compile_latex(paper, timeout=3)
    assert time.monotonic() - started < 15
    assert not out.ok and any("timed out after 3 s" in e for e in out.errors)
    assert "timeout" in {i["kind"] for i in out.incidents}
