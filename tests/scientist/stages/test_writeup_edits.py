"""The write-up by edits: SEARCH/REPLACE blocks on the whole template.tex while writing, a bounded
refinement pass per section over the full draft, and edit blocks in the LaTeX-fix loop (real pdflatex)."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from scientist_helpers import FIXTURES

from scientist.records import CompileRound, ExperimentRun, ExperimentsRecord, Idea
from scientist.rundir import RunDir
from scientist.stages import writeup

TEMPLATE = FIXTURES / "tiny_template"
IDEA = Idea(name="lr_sweep", title="Larger steps on a quadratic", experiment="Raise LR.",
            interestingness=3, feasibility=9, novelty=2)
needs_tex = pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex not installed")


def block(name: str | None, search: str, replace: str) -> str:
    head = f"{name}\n" if name else ""
    return f"{head}```latex\n<<<<<<< SEARCH\n{search}=======\n{replace}>>>>>>> REPLACE\n```\n"


def paper_dir(tmp_path: Path):  # type: ignore[no-untyped-def]
    d = RunDir(tmp_path / "out").idea(IDEA.name)
    d.root.mkdir(parents=True, exist_ok=True)
    d.notes.write_text("## Run 1: LR 0.3\nResults: {\"final_loss\": 0.25}\n")
    paper = writeup.prepare_paper_dir(TEMPLATE, d, [])
    return d, paper


def test_a_section_may_be_written_by_edits_on_the_whole_file(tmp_path, scripted_client):
    d, paper = paper_dir(tmp_path)
    tex = (paper / "template.tex").read_text()
    client, script = scripted_client({"writeup": [
        "```latex\nWe raise the step size and the loss falls to 0.25.\n```",
        "I edit the file directly.\n" + block("latex/template.tex", "INTRO HERE\n", "Steps matter.\n"),
        "```latex\nRun 1 reaches a final loss of 0.25.\n```",
    ]})
    experiments = ExperimentsRecord(command=["python"], baseline=ExperimentRun(index=0, ok=True))
    tex, written = writeup.write_sections(IDEA, d, tex, experiments, [], client, "sys", None)
    assert written["Introduction"] == "Steps matter."
    assert "%% BEGIN SECTION: Introduction\nSteps matter.\n%% END SECTION: Introduction" in tex
    assert "loss falls to 0.25" in tex and "final loss of 0.25" in tex  # the other sections as bodies
    prompt = script.prompts("writeup")[1]
    assert "\\begin{document}" in prompt and "SEARCH/REPLACE" in prompt  # the whole file was shown


def test_the_refinement_pass_edits_the_full_draft_and_is_bounded(tmp_path, scripted_client):
    d, paper = paper_dir(tmp_path)
    tex_path = paper / "template.tex"
    tex_path.write_text(tex_path.read_text().replace("INTRO HERE", "Steps matter a lot, very much."))
    client, script = scripted_client({"writeup_refine": [
        "Tighter.\n" + block("latex/template.tex", "Steps matter a lot, very much.\n", "Steps matter.\n"),
        "NO CHANGES",
        "never asked",
    ]})
    done = writeup.refine_sections(d, tex_path, client, "sys", writeup.WriteupSettings(refine_calls=2))
    assert [r["section"] for r in done] == ["Abstract", "Introduction"]  # two calls: the bound, not the sections
    assert len(script.prompts("writeup_refine")) == 2
    assert "Steps matter.\n" in tex_path.read_text() and "very much" not in tex_path.read_text()
    assert done[0]["blocks"][0]["status"] == "applied" and done[1]["blocks"] == []
    assert "Steps matter a lot" in script.prompts("writeup_refine")[0]  # the full draft went with the call


def test_a_failed_refinement_call_leaves_the_draft(tmp_path, scripted_client):
    d, paper = paper_dir(tmp_path)
    before = (paper / "template.tex").read_text()
    client, _ = scripted_client({})  # every call fails
    done = writeup.refine_sections(d, paper / "template.tex", client, "sys", writeup.WriteupSettings(refine_calls=5))
    assert all("error" in r for r in done) and (paper / "template.tex").read_text() == before


@needs_tex
def test_the_fix_loop_takes_aider_style_blocks(tmp_path, scripted_client):
    d, paper = paper_dir(tmp_path)
    tex_path = paper / "template.tex"
    broken = "Steps \\badmacro{} matter \\citep{robbins1951stochastic}.\n  \\alsobad{}"
    tex_path.write_text(tex_path.read_text().replace("INTRO HERE", broken))
    fix = ("Two fixes.\n" + block("latex/template.tex", "Steps \\badmacro{} matter \\citep{robbins1951stochastic}.\n",
                                       "Steps matter \\citep{robbins1951stochastic}.\n")
           + block(None, "\\alsobad{}\n", "\n"))  # re-indented, and no file name: the previous one holds
    client, _ = scripted_client({"latex_fix": [fix]})
    rounds: list[CompileRound] = []
    pdf = writeup.compile_with_fixes(paper, client, "sys", writeup.WriteupSettings(fix_rounds=2), rounds)
    assert pdf is not None and [(r.round, r.ok) for r in rounds] == [(0, False), (1, True)]
    assert "badmacro" not in tex_path.read_text() and "alsobad" not in tex_path.read_text()


@needs_tex
def test_a_cut_off_fix_is_asked_again_without_spending_the_round(tmp_path, scripted_client):
    d, paper = paper_dir(tmp_path)
    tex_path = paper / "template.tex"
    tex_path.write_text(tex_path.read_text().replace("INTRO HERE", "Steps \\badmacro{} \\citep{robbins1951stochastic}."))
    cut = "latex/template.tex\n```latex\n<<<<<<< SEARCH\nSteps \\badmacro{} \\cite"
    fix = block("latex/template.tex", "Steps \\badmacro{} \\citep{robbins1951stochastic}.\n",
                "Steps \\citep{robbins1951stochastic}.\n")
    client, script = scripted_client({"latex_fix": [cut, fix]})
    rounds: list[CompileRound] = []
    pdf = writeup.compile_with_fixes(paper, client, "sys", writeup.WriteupSettings(fix_rounds=1), rounds)
    assert pdf is not None and rounds[-1].ok  # one round allowed, and still fixed: the cut-off cost nothing
    assert "not charged" in rounds[1].edit_error
    assert "cut off at the output limit" in script.prompts("latex_fix")[1]


def test_the_write_up_may_edit_the_paper_and_the_notes_never_the_harness(tmp_path):
    d, paper = paper_dir(tmp_path)
    names = set(writeup.editable_files(paper))
    assert {"template.tex", "latex/template.tex", "references.bib", "notes.txt", "experiment.py"} <= names
    report = writeup.apply_paper_edits(block("plot.py", "", "import os\n") + block("../../evil.tex", "", "x\n"), paper)
    assert [b.cause for b in report.blocks] == ["not_allowed", "not_allowed"]
