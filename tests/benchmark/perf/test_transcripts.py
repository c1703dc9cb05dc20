"""Replaying Aider transcripts through the stages' own edit path.

A small transcript written here by hand checks the replay's bookkeeping (prompts, Aider's
record, the harness's own writes, drift, cut-off replies); the published transcripts in
../shared/data (skipped when absent) check the targets: every reply Aider applied in full is
applied here too, at least as many blocks as Aider applied, and no block goes uncounted.
"""
from __future__ import annotations

import difflib
import json
import re
from pathlib import Path

import pytest

from benchmark.perf import transcripts as tr

TEMPLATE_TEX = r"""\documentclass{article}
\begin{filecontents}{references.bib}
@article{a2020, title={A}, author={A}, year={2020}}
\end{filecontents}
\begin{document}
\title{TITLE HERE}
\begin{abstract}
ABSTRACT HERE
\end{abstract}
\section{Introduction}
INTRO HERE
\bibliography{references}
\end{document}
"""
CODE = "import json\n\nLR = 0.1\n\n\ndef train():\n    for step in range(10):\n        loss = LR * step\n    return loss\n"


def prompt(text: str) -> str:
    return "".join(f"#### {line}  \n" for line in text.split("\n"))


def aider(text: str) -> str:
    return "".join(f"> {line}  \n" for line in text.split("\n"))


def fenced(name: str | None, search: str, replace: str) -> str:
    head = f"{name}\n" if name else ""
    return f"{head}```python\n<<<<<<< SEARCH\n{search}=======\n{replace}>>>>>>> REPLACE\n```\n"


@pytest.fixture
def handmade(tmp_path: Path) -> tuple[Path, Path]:
    template = tmp_path / "template"
    (template / "latex").mkdir(parents=True)
    (template / "experiment.py").write_text(CODE)
    (template / "plot.py").write_text("labels = {}\n")
    (template / "latex" / "template.tex").write_text(TEMPLATE_TEX)
    run = tmp_path / "run"
    run.mkdir()
    after_run_1 = CODE.replace("LR = 0.1", "LR = 0.2").replace("range(10)", "range(20)")
    (run / "run_1.py").write_text(after_run_1)
    parts = [
        "\n# aider chat started at 2024-01-01 00:00:00\n\n",
        prompt("Your goal is to implement the following idea: Tiny steps.\nThe proposed experiment is as follows: "
               "Raise LR..\nYou are given a total of up to 2 runs.\n\nFor reference, the baseline results are as "
               "follows:\n\n{'a': {'loss': 1.0}}\n\nAfter you complete each change, we will run it."),
        aider("100 prompt tokens, 50 completion tokens, $0.001 cost"),
        "\nPlan: two changes.\n\n" + fenced("experiment.py", "LR = 0.1\n", "LR = 0.2\n")
        + "\nand the loop, same file:\n\n" + fenced(None, "    for step in range(10):\n", "    for step in range(20):\n"),
        aider("Applied edit to experiment.py"),
        # a block Aider failed that re-indentation places: counted as applied, the file kept as Aider had it
        prompt("Run 1 completed. Here are the results:\n{'a': {'loss': 0.5}}"),
        aider("120 prompt tokens, 40 completion tokens, $0.001 cost"),
        "\nNotes first.\n\n" + fenced("notes.txt", "Description: Baseline results.\n",
                                      "Description: Baseline results.\n## Run 1: LR 0.2\n")
        + fenced("experiment.py", "for step in range(20):\n    loss = LR * step\n",
                 "for step in range(20):\n    loss = LR * step * 2\n"),
        aider("The LLM did not conform to the edit format.\n# 1 SEARCH/REPLACE block failed to match!\n\n"
              "## SearchReplaceNoExactMatch: This SEARCH block failed to exactly match lines in experiment.py\n"
              "<<<<<<< SEARCH\nfor step in range(20):\n    loss = LR * step\n=======\n"
              "for step in range(20):\n    loss = LR * step * 2\n>>>>>>> REPLACE\n\n"
              "# The other 1 SEARCH/REPLACE block were applied successfully.\nApplied edit to notes.txt"),
        "\nALL_COMPLETED\n",
        prompt("We've provided the `latex/template.tex` file to the project. We will be filling it in section by section."),
        aider("300 prompt tokens, 60 completion tokens, $0.001 cost"),
        "\n" + fenced("latex/template.tex", "ABSTRACT HERE\n", "We study tiny steps \\cite{b2021}.\n"),
        aider("Applied edit to latex/template.tex"),
        prompt('The following citations have just been added to the end of the `references.bib` file definition '
               'at the top of the file:\n"""\n@article{b2021, title={B}, author={B}, year={2021}}\n"""\n'
               "You do not need to add them yourself."),
        aider("310 prompt tokens, 4096 completion tokens, $0.001 cost"),
        "\n" + fenced("latex/template.tex", "INTRO HERE\n", "Intro \\cite{b2021}.\n")
        + "latex/template.tex\n```latex\n<<<<<<< SEARCH\n\\title{TITLE HERE}\n=======\n\\title{Tiny",
        aider("^^^ Incomplete SEARCH/REPLACE block."),
    ]
    (run / "20240101_000000_tiny_aider.txt").write_text("".join(parts))
    (run / "latex").mkdir()
    return run, template


def test_a_handmade_transcript_is_counted_block_by_block(handmade, tmp_path):
    run, template = handmade
    out = tr.replay(run, template, work=tmp_path / "work")
    assert (out["replies"], out["blocks"], out["applied"], out["refused"]) == (4, 6, 6, 0)
    assert out["aider_blocks_applied"] == 4  # the re-indented block and the cut-off reply's block failed in Aider
    assert out["aider_applied_replies"] == 2 and out["aider_applied_replies_refused"] == 0
    assert out["name_inferred_blocks"] == 1 and out["outcomes"]["reindented"] == 1
    assert out["truncated_replies"] == 1 and out["replies_at_output_limit"] == 1
    assert out["drift"] == []  # experiment.py equalled run_1.py when run 1 completed
    assert out["blocks_by_phase"] == {"experiments": 4, "writeup": 2}
    ws = tmp_path / "work" / "idea"
    assert "loss = LR * step\n" in (ws / "code" / "experiment.py").read_text()  # kept as Aider had it
    notes = (ws / "notes.txt").read_text()
    assert notes.startswith("# Title: Tiny steps\n# Experiment description: Raise LR.\n## Run 0: Baseline\n"
                            "Results: {'a': {'loss': 1.0}}\nDescription: Baseline results.\n## Run 1: LR 0.2\n")
    tex = (ws / "paper" / "template.tex").read_text()
    assert "@article{b2021" in tex.split(r"\end{filecontents}")[0]  # the harness's own insertion, replayed
    # Aider applied nothing of the cut-off reply: the files stay as it had them (our count still has its block)
    assert "INTRO HERE" in tex and "\\title{TITLE HERE}" in tex


def test_drift_from_the_published_snapshot_is_reported_apart_with_its_lines(handmade, tmp_path):
    run, template = handmade
    (run / "run_1.py").write_text((run / "run_1.py").read_text().replace("import json", "import json, os"))
    out = tr.replay(run, template, work=tmp_path / "work")
    [drift] = out["drift"]
    assert drift["file"] == "experiment.py" and "+import json, os" not in drift["lines"]
    assert any(line.startswith("-import json, os") for line in drift["lines"])  # the published line, missing here
    assert (tmp_path / "work" / "idea" / "code" / "experiment.py").read_text().startswith("import json, os")


def test_the_command_writes_integer_figures_and_refuses_bad_input(handmade, tmp_path, capsys):
    run, template = handmade
    out_json = tmp_path / "out.json"
    assert tr.main([str(run), "--template", str(template), "--json", str(out_json)]) == 0
    data = json.loads(out_json.read_text())
    for key in ("replies", "blocks", "applied", "refused", "aider_applied_replies_refused"):
        assert isinstance(data[key], int)
    assert "refusals_by_cause" in data and "replies" in capsys.readouterr().out
    assert tr.main([str(tmp_path / "nowhere"), "--template", str(template)]) == 2


# ---- the published transcripts ------------------------------------------------------------------
def _runs(shared: Path) -> list[Path]:
    return sorted(p for p in (shared / "ai_scientist_runs").glob("*") if list(p.glob("*_aider.txt")))


def _template_of(run: Path, templates: Path) -> Path:
    """The template whose experiment.py is closest to the run's first snapshot."""
    first = next(iter(sorted(run.glob("run_*.py"))), run / "experiment.py").read_text(errors="replace")
    return max((t for t in templates.iterdir() if (t / "experiment.py").is_file()),
               key=lambda t: difflib.SequenceMatcher(None, (t / "experiment.py").read_text(), first).quick_ratio())


@pytest.mark.slow  # about 20 s on an idle machine, five replays
def test_published_transcripts_meet_the_targets(shared_data):
    runs = _runs(shared_data)
    if not runs or not (shared_data / "ai_scientist_templates").is_dir():
        pytest.skip("no published AI-Scientist runs or templates in the shared data")
    marker = re.compile(r"^\s*<{5,9} ?SEARCH\s*$", re.MULTILINE)
    for run in runs:
        out = tr.replay(run, _template_of(run, shared_data / "ai_scientist_templates"))
        turns = tr.read_transcript(next(run.glob("*_aider.txt")))
        markers = sum(len(marker.findall(t.text)) for t in turns if t.kind == "reply")
        assert out["blocks"] == markers - out["truncated_replies"], run.name  # no block silently skipped
        assert out["aider_applied_replies_refused"] == 0, (run.name, out["aider_applied_replies_refused_detail"])
        assert out["applied"] >= out["aider_blocks_applied"], run.name
        assert out["blocks"] == out["applied"] + out["refused"] + out["unchanged"]
        assert all(d["lines"] for d in out["drift"])
