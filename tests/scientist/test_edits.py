"""Applying edit blocks: block by block within the allow-list, each outcome reported, new files bounded."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from scientist.edits import EditError, NewFilePolicy, apply_edits, apply_reply

CODE = "import math\n\nLR = 1e-3\nSTEPS = 100\n\n\ndef train():\n    return LR * STEPS\n"


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    code = tmp_path / "code"
    code.mkdir()
    (code / "experiment.py").write_text(CODE)
    (code / "harness.py").write_text("LIMIT = 60\n")
    (tmp_path / "notes.txt").write_text("# notes\n")
    return {"experiment.py": code / "experiment.py", "notes.txt": tmp_path / "notes.txt"}


def block(name: str, search: str, replace: str) -> str:
    return f"{name}\n```python\n<<<<<<< SEARCH\n{search}=======\n{replace}>>>>>>> REPLACE\n```\n"


def test_applies_exact_edit_and_reports_changed_file(files):
    reply = "Raise the learning rate.\n\n" + block("experiment.py", "LR = 1e-3\n", "LR = 3e-3\n")
    assert apply_edits(reply, files) == ["experiment.py"]
    assert "LR = 3e-3\n" in files["experiment.py"].read_text()
    assert "LR = 1e-3" not in files["experiment.py"].read_text()


def test_several_blocks_on_two_files(files):
    reply = (block("experiment.py", "STEPS = 100\n", "STEPS = 200\n")
             + block("notes.txt", "# notes\n", "# notes\nRun 1: more steps.\n"))
    assert sorted(apply_edits(reply, files)) == ["experiment.py", "notes.txt"]
    assert "STEPS = 200" in files["experiment.py"].read_text()
    assert "Run 1: more steps." in files["notes.txt"].read_text()


def test_one_bad_block_keeps_the_good_ones_and_every_bad_one_is_named(files):
    reply = (block("experiment.py", "LR = 1e-3\n", "LR = 2e-3\n")
             + block("experiment.py", "NOT THERE = 1\n", "X = 2\n")
             + block("experiment.py", "STEPS = 100\n", "STEPS = 300\n")
             + block("experiment.py", "ALSO MISSING\n", "Y\n"))
    report = apply_reply(reply, files)
    assert [b.status for b in report.blocks] == ["applied", "refused", "applied", "refused"]
    text = files["experiment.py"].read_text()
    assert "LR = 2e-3" in text and "STEPS = 300" in text
    feedback = report.feedback()
    assert "Edit block 2 (experiment.py) was NOT applied" in feedback
    assert "Edit block 4 (experiment.py) was NOT applied" in feedback
    assert "1 (experiment.py), 3 (experiment.py) were applied" in feedback
    with pytest.raises(EditError, match="block 1 .* NOT applied"):  # the compatibility wrapper still says so
        apply_edits(block("experiment.py", "NOT THERE = 1\n", "X = 2\n"), files)


def test_a_failed_block_shows_the_nearest_lines_numbered(files):
    report = apply_reply(block("experiment.py", "def train():\n    return LR * STEP\n", "x\n"), files)
    [outcome] = report.blocks
    assert outcome.cause == "no_match"
    assert "    7| def train():" in outcome.message and "    8|     return LR * STEPS" in outcome.message


@pytest.mark.parametrize("name", ["harness.py", "../notes.txt", "/etc/passwd", "code/../harness.py"])
def test_files_outside_the_allow_list_are_refused(files, name):
    report = apply_reply(block(name, "LIMIT = 60\n", "LIMIT = 10**9\n"), files)
    assert report.refused and report.refused[0].cause == "not_allowed"
    assert (files["experiment.py"].parent / "harness.py").read_text() == "LIMIT = 60\n"


def test_a_symlink_in_place_of_an_editable_file_is_refused(files, tmp_path):
    secret = tmp_path / "secret.py"
    secret.write_text("SECRET = 1\n")
    files["experiment.py"].unlink()
    files["experiment.py"].symlink_to(secret)
    report = apply_reply(block("experiment.py", "SECRET = 1\n", "SECRET = 2\n"), files)
    assert report.refused[0].cause == "unreadable" and "link" in report.refused[0].message
    assert secret.read_text() == "SECRET = 1\n"


def test_aliases_of_one_file_share_one_buffer(files, tmp_path):
    tex = tmp_path / "template.tex"
    tex.write_text("A\nB\n")
    aliased = {"template.tex": tex, "latex/template.tex": tex}
    report = apply_reply(block("latex/template.tex", "A\n", "A1\n") + block("template.tex", "B\n", "B1\n"), aliased)
    assert [b.status for b in report.blocks] == ["applied", "applied"]
    assert tex.read_text() == "A1\nB1\n"


def test_an_edit_already_made_is_unchanged_not_refused(files):
    apply_reply(block("experiment.py", "LR = 1e-3\n", "LR = 5e-3  \n"), files)
    again = apply_reply(block("experiment.py", "LR = 1e-3\n", "LR = 5e-3\n"), files)  # sent again, spaces differ
    assert again.blocks[0].status == "unchanged" and again.ok


def test_an_empty_search_creates_an_empty_file_or_appends_as_aider_does(files):
    files["notes.txt"].write_text("")
    apply_reply(block("notes.txt", "", "first\n"), files)
    assert files["notes.txt"].read_text() == "first\n"
    report = apply_reply(block("notes.txt", "", "second\n"), files)
    assert report.blocks[0].how == "appended" and "appended" in report.blocks[0].note
    assert files["notes.txt"].read_text() == "first\nsecond\n"


def test_new_files_inside_the_code_folder_are_created_within_bounds(files):
    code = files["experiment.py"].parent
    policy = NewFilePolicy(root=code, max_files=2, max_bytes=100)
    report = apply_reply(block("discriminator.py", "", "class D:\n    pass\n")
                         + block("experiment.py", "import math\n", "import math\nfrom discriminator import D\n"),
                         files, new_files=policy)
    assert [b.how for b in report.blocks] == ["new_file", "exact"]
    assert report.created == ["discriminator.py"] and (code / "discriminator.py").read_text() == "class D:\n    pass\n"
    assert "from discriminator import D" in files["experiment.py"].read_text()


@pytest.mark.parametrize("name, search, replace, cause", [
    ("harness.py", "", "LIMIT = 1\n", "not_allowed"),  # an existing harness file is not "new"
    (".hidden.py", "", "x = 1\n", "not_allowed"),
    ("run_1/final_info.json", "", "{}\n", "not_allowed"),  # run results are never written by edits
    ("results/run_1.json", "", "{}\n", "not_allowed"),
    ("a/b/c/d.py", "", "x = 1\n", "new_file_refused"),
    ("tool.sh", "", "rm -rf /\n", "new_file_refused"),
    ("big.py", "", "x = 1\n" * 50, "new_file_refused"),
    ("missing.py", "x = 1\n", "x = 2\n", "no_match"),  # a new file starts from an empty SEARCH
])
def test_new_files_outside_the_bounds_are_refused(files, name, search, replace, cause):
    code = files["experiment.py"].parent
    report = apply_reply(block(name, search, replace), files, new_files=NewFilePolicy(root=code, max_bytes=100))
    assert report.refused and report.refused[0].cause == cause, report.blocks
    assert (code / "harness.py").read_text() == "LIMIT = 60\n"
    assert not (code / name).exists() or name == "harness.py"


def test_the_new_file_count_is_bounded_per_idea(files):
    code = files["experiment.py"].parent
    policy = NewFilePolicy(root=code, max_files=2, created_before=frozenset({"a.py"}))
    report = apply_reply(block("b.py", "", "b = 1\n") + block("c.py", "", "c = 1\n"), files, new_files=policy)
    assert [b.status for b in report.blocks] == ["applied", "refused"]
    assert report.refused[0].cause == "new_file_refused" and "at most 2" in report.refused[0].message


def test_a_planted_directory_link_does_not_carry_a_new_file_out(files, tmp_path):
    code = files["experiment.py"].parent
    outside = tmp_path / "outside"
    outside.mkdir()
    os.symlink(outside, code / "pkg")
    report = apply_reply(block("pkg/evil.py", "", "x = 1\n"), files, new_files=NewFilePolicy(root=code))
    assert report.refused and not (outside / "evil.py").exists()


def test_a_block_naming_the_wrong_file_lands_in_the_one_editable_file_that_holds_it(files):
    report = apply_reply(block("notes.txt", "STEPS = 100\n", "STEPS = 150\n"), files)
    [outcome] = report.blocks
    assert outcome.status == "applied" and "not in notes.txt but in experiment.py" in outcome.note
    assert "STEPS = 150" in files["experiment.py"].read_text() and report.changed == ["experiment.py"]


def test_elided_lines_apply_piece_by_piece_as_aider_reads_them(files):
    search = "import math\n...\nSTEPS = 100\n"
    replace = "import math\n...\nSTEPS = 300\n"
    report = apply_reply(block("experiment.py", search, replace), files)
    assert report.blocks[0].how == "elided" and "STEPS = 300" in files["experiment.py"].read_text()
    assert "LR = 1e-3" in files["experiment.py"].read_text()  # the elided stretch is kept
