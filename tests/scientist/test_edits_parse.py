"""Parsing replies as real models write them: one small hand-written case per way they bend the format."""
from __future__ import annotations

from pathlib import Path

import pytest

from scientist.edits import EditError, apply_reply, parse_edit_blocks, parse_reply

OPEN, MID, CLOSE = "<<<<<<< SEARCH", "=======", ">>>>>>> REPLACE"


def fenced(name: str | None, search: str, replace: str, closer: str = CLOSE) -> str:
    head = f"{name}\n" if name else ""
    return f"{head}```python\n{OPEN}\n{search}{MID}\n{replace}{closer}\n```\n"


def test_a_block_without_file_name_reuses_the_previous_one_and_says_so():
    reply = "Two changes.\n\n" + fenced("experiment.py", "a = 1\n", "a = 2\n") + "\nand\n\n" + fenced(None, "b = 1\n", "b = 2\n")
    first, second = parse_reply(reply).blocks
    assert (first.path, first.name_inferred) == ("experiment.py", False)
    assert (second.path, second.name_inferred) == ("experiment.py", True)


def test_a_prose_line_above_a_block_is_not_taken_for_a_file_name():
    reply = fenced("plot.py", "x\n", "y\n") + "Now change the labels as follows:\n```python\n" \
        f"{OPEN}\nz\n{MID}\nw\n{CLOSE}\n```\n"
    assert [b.path for b in parse_reply(reply).blocks] == ["plot.py", "plot.py"]


def test_the_first_block_without_any_name_is_refused_with_its_cause(tmp_path: Path):
    reply = f"{OPEN}\nx\n{MID}\ny\n{CLOSE}\n"
    report = apply_reply(reply, {"experiment.py": tmp_path / "experiment.py"})
    assert report.refused[0].cause == "no_file_name"


@pytest.mark.parametrize("line", ["**experiment.py**", "`experiment.py`", "### experiment.py", "File: experiment.py",
                                  "experiment.py:", "filename: experiment.py"])
def test_decorated_file_name_lines(line):
    assert parse_reply(fenced(line, "a\n", "b\n")).blocks[0].path == "experiment.py"


def test_a_block_closed_with_a_second_divider_is_read():
    reply = fenced("notes.txt", "old\n", "new\n", closer=MID) + "\nThen run it.\n"
    [b] = parse_reply(reply).blocks
    assert (b.search, b.replace, b.problem) == ("old\n", "new\n", "")
    assert "closed with '======='" in b.note


def test_a_divider_line_inside_symmetric_content_is_content():
    search = "Results\n=======\nold\n"
    replace = "Results\n=======\nnew\n"
    [b] = parse_reply(fenced("notes.txt", search, replace)).blocks
    assert (b.search, b.replace) == (search, replace) and "middle one divides" in b.note


def test_an_even_number_of_dividers_is_ambiguous_and_refused(tmp_path: Path):
    reply = fenced("notes.txt", "a\n=======\nb\n", "c\n")
    report = apply_reply(reply, {"notes.txt": tmp_path / "notes.txt"})
    assert report.refused[0].cause == "malformed" and "ambiguous" in report.refused[0].message


def test_a_replace_marker_inside_fenced_content_is_content():
    replace = f"doc = '''\n{CLOSE}\n'''\n"
    [b] = parse_reply(fenced("tool.py", "doc = ''\n", replace)).blocks
    assert b.replace == replace and b.search == "doc = ''\n"


def test_a_reply_cut_off_inside_a_block_keeps_the_complete_blocks(tmp_path: Path):
    code = tmp_path / "experiment.py"
    code.write_text("a = 1\nb = 1\n")
    reply = fenced("experiment.py", "a = 1\n", "a = 2\n") + f"experiment.py\n```python\n{OPEN}\nb = 1\n{MID}\nb = "
    parsed = parse_reply(reply)
    assert parsed.truncated and parsed.cut_off_path == "experiment.py" and len(parsed.blocks) == 1
    report = apply_reply(reply, {"experiment.py": code})
    assert report.truncated and not report.ok and code.read_text() == "a = 2\nb = 1\n"
    assert "cut off at the output limit" in report.feedback()
    with pytest.raises(EditError, match="cut off"):
        parse_edit_blocks(reply)


def test_a_block_missing_its_search_marker_is_reported_not_skipped():
    reply = fenced("a.py", "x\n", "y\n") + f"a.py\n```python\nold\n{MID}\nnew\n{CLOSE}\n```\n"
    blocks = parse_reply(reply).blocks
    assert len(blocks) == 2 and "SEARCH" in blocks[1].problem


def test_a_block_never_closed_before_the_next_one_is_malformed_the_next_still_counts():
    reply = f"a.py\n{OPEN}\nx\n{MID}\ny\n" + fenced("a.py", "p\n", "q\n")
    first, second = parse_reply(reply).blocks
    assert "not closed" in first.problem and (second.search, second.problem) == ("p\n", "")
