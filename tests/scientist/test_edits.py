"""SEARCH/REPLACE edit blocks: strict parsing, exact matching, the allow-list, all-or-nothing."""
from __future__ import annotations

from pathlib import Path

import pytest

from scientist.edits import EditError, apply_edits, parse_edit_blocks

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
    return f"{name}\n<<<<<<< SEARCH\n{search}=======\n{replace}>>>>>>> REPLACE\n"


def test_applies_exact_edit_and_reports_changed_file(files):
    reply = "Raise the learning rate.\n\n```python\n" + block("experiment.py", "LR = 1e-3\n", "LR = 3e-3\n") + "```\n"
    assert apply_edits(reply, files) == ["experiment.py"]
    assert "LR = 3e-3\n" in files["experiment.py"].read_text()
    assert "LR = 1e-3" not in files["experiment.py"].read_text()


def test_several_blocks_on_two_files(files):
    reply = (block("experiment.py", "STEPS = 100\n", "STEPS = 200\n")
             + block("notes.txt", "# notes\n", "# notes\nRun 1: more steps.\n"))
    assert sorted(apply_edits(reply, files)) == ["experiment.py", "notes.txt"]
    assert "STEPS = 200" in files["experiment.py"].read_text()
    assert "Run 1: more steps." in files["notes.txt"].read_text()


@pytest.mark.parametrize("reply, message", [
    ("experiment.py\n<<<<<<< SEARCH\nLR = 1e-3\n>>>>>>> REPLACE\n", "before '======='"),
    ("experiment.py\n<<<<<<< SEARCH\nLR = 1e-3\n=======\nLR = 2e-3\n", "not closed"),
    ("<<<<<<< SEARCH\nLR = 1e-3\n=======\nLR = 2e-3\n>>>>>>> REPLACE\n", "no file name"),
    ("experiment.py\n=======\nLR = 2e-3\n>>>>>>> REPLACE\n", "outside an edit block"),
    ("experiment.py\n<<<<<<< SEARCH\nA\n=======\nB\n=======\nC\n>>>>>>> REPLACE\n", "two '======='"),
])
def test_malformed_blocks_are_rejected_with_a_reason(files, reply, message):
    with pytest.raises(EditError, match=message):
        apply_edits(reply, files)
    assert files["experiment.py"].read_text() == CODE


def test_search_must_match_exactly(files):
    # wrong indentation: the line exists but not as written
    reply = block("experiment.py", "def train():\n  return LR * STEPS\n", "def train():\n    return 0\n")
    with pytest.raises(EditError, match="does not occur") as err:
        apply_edits(reply, files)
    assert "def train():" in str(err.value)  # the hint names the line that does exist
    assert files["experiment.py"].read_text() == CODE


def test_ambiguous_search_is_rejected(files):
    files["experiment.py"].write_text("x = 1\nx = 1\n")
    with pytest.raises(EditError, match="occurs 2 times"):
        apply_edits(block("experiment.py", "x = 1\n", "x = 2\n"), files)


@pytest.mark.parametrize("name", ["harness.py", "../notes.txt", "/etc/passwd", "run_0/final_info.json",
                                  "code/experiment.py", "plot.py"])
def test_files_outside_the_allow_list_are_rejected(files, name, tmp_path):
    with pytest.raises(EditError, match="may not be edited"):
        apply_edits(block(name, "LIMIT = 60\n", "LIMIT = 10**9\n"), files)
    assert (tmp_path / "code" / "harness.py").read_text() == "LIMIT = 60\n"


def test_all_or_nothing_when_a_later_block_fails(files):
    reply = block("experiment.py", "LR = 1e-3\n", "LR = 5e-3\n") + block("harness.py", "LIMIT = 60\n", "LIMIT = 0\n")
    with pytest.raises(EditError, match="harness.py"):
        apply_edits(reply, files)
    assert files["experiment.py"].read_text() == CODE  # the valid first block was not applied either


def test_symlinked_target_is_rejected(files, tmp_path):
    outside = tmp_path / "outside.py"
    outside.write_text("SECRET = 1\n")
    files["experiment.py"].unlink()
    files["experiment.py"].symlink_to(outside)
    with pytest.raises(EditError, match="link"):
        apply_edits(block("experiment.py", "SECRET = 1\n", "SECRET = 2\n"), files)
    assert outside.read_text() == "SECRET = 1\n"


def test_last_line_without_newline_still_matches(files):
    files["experiment.py"].write_text("a = 1\nb = 2")
    apply_edits(block("experiment.py", "b = 2\n", "b = 3\n"), files)
    assert files["experiment.py"].read_text() == "a = 1\nb = 3\n"


def test_parse_keeps_block_order_and_text():
    blocks = parse_edit_blocks(block("experiment.py", "A\n", "B\n") + "prose\n" + block("notes.txt", "", "N\n"))
    assert [(b.index, b.path, b.search, b.replace) for b in blocks] == [
        (1, "experiment.py", "A\n", "B\n"), (2, "notes.txt", "", "N\n")]


def test_empty_search_only_fills_an_empty_file(files):
    with pytest.raises(EditError, match="empty SEARCH"):
        apply_edits(block("notes.txt", "", "replaced\n"), files)
    files["notes.txt"].write_text("")
    apply_edits(block("notes.txt", "", "first notes\n"), files)
    assert files["notes.txt"].read_text() == "first notes\n"
