"""SEARCH/REPLACE edit blocks: a strict parser and an all-or-nothing applier.

A block names one file on the line before it:

    experiment.py
    <<<<<<< SEARCH
    lr = 1e-3
    =======
    lr = 3e-3
    >>>>>>> REPLACE

The SEARCH text must occur exactly once in the file, character for character. Only the files
in the allow-list given by the caller can be edited (the experiment code, plot.py, the notes),
never the harness, the run results or anything outside the idea directory. If any block is
malformed or fails, no file is changed and the message says why, for the model to fix.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from reviewer.atomic_file import write_text_atomic

SEARCH = re.compile(r"^\s*<{5,9} ?SEARCH\s*$")
DIVIDER = re.compile(r"^\s*={5,9}\s*$")
REPLACE = re.compile(r"^\s*>{5,9} ?REPLACE\s*$")
FENCE = re.compile(r"^\s*(```|~~~)")


class EditError(ValueError):
    """An edit that was not applied; the message is written for the model."""


@dataclass(frozen=True)
class EditBlock:
    index: int  # 1-based, as the model would count them
    path: str
    search: str
    replace: str


def _file_name(lines: list[str], start: int) -> str | None:
    """The file name on the nearest non-blank, non-fence line above `start`."""
    for line in reversed(lines[:start]):
        text = line.strip()
        if not text or FENCE.match(text):
            continue
        if SEARCH.match(text) or DIVIDER.match(text) or REPLACE.match(text):
            return None
        name = text.strip("`*#: ").removeprefix("File").removeprefix("file").strip("`*#: ")
        return name or None
    return None


def parse_edit_blocks(text: str) -> list[EditBlock]:
    """All edit blocks in a reply. Raises EditError on any malformed block."""
    lines = text.splitlines(keepends=True)
    blocks: list[EditBlock] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if DIVIDER.match(line) or REPLACE.match(line):
            raise EditError(f"line {i + 1}: '{line.strip()}' outside an edit block (a block starts "
                            "with '<<<<<<< SEARCH' on its own line, after a line with the file name)")
        if not SEARCH.match(line):
            i += 1
            continue
        number = len(blocks) + 1
        name = _file_name(lines, i)
        if name is None:
            raise EditError(f"edit block {number}: no file name on the line before '<<<<<<< SEARCH'")
        search, replace, part, j = [], [], "search", i + 1
        while j < len(lines):
            cur = lines[j]
            if SEARCH.match(cur):
                raise EditError(f"edit block {number} ({name}): a new '<<<<<<< SEARCH' before this "
                                "block's '>>>>>>> REPLACE'")
            if DIVIDER.match(cur):
                if part != "search":
                    raise EditError(f"edit block {number} ({name}): two '=======' lines")
                part = "replace"
            elif REPLACE.match(cur):
                if part != "replace":
                    raise EditError(f"edit block {number} ({name}): '>>>>>>> REPLACE' before '======='")
                break
            else:
                (search if part == "search" else replace).append(cur)
            j += 1
        else:
            raise EditError(f"edit block {number} ({name}): not closed with '>>>>>>> REPLACE'")
        blocks.append(EditBlock(number, name, "".join(search), "".join(replace)))
        i = j + 1
    return blocks


def _allowed_path(name: str, files: dict[str, Path]) -> Path:
    allowed = ", ".join(sorted(files))
    pure = PurePosixPath(name.replace("\\", "/"))
    key = str(pure)
    if pure.is_absolute() or ".." in pure.parts or key not in files:
        raise EditError(f"'{name}' may not be edited: only {allowed} can be changed. The harness, "
                        "the run results and every other file are read-only.")
    path = files[key]
    if path.is_symlink():
        raise EditError(f"'{name}' is a link and may not be edited")
    return path


def _locate(content: str, block: EditBlock) -> tuple[int, int]:
    """Start and end of the block's SEARCH text in `content`; it must occur exactly once."""
    search = block.search
    count = content.count(search)
    if count == 1:
        start = content.index(search)
        return start, start + len(search)
    if count == 0 and search.endswith("\n") and content.endswith(search[:-1]):
        return len(content) - len(search) + 1, len(content)  # the file's last line has no newline
    where = f"edit block {block.index} ({block.path})"
    if count > 1:
        raise EditError(f"{where}: the SEARCH text occurs {count} times; add surrounding lines so "
                        "that it matches exactly one place")
    first = next((ln.strip() for ln in search.splitlines() if ln.strip()), "")
    hint = ""
    if first and first in content:
        hint = (f" The line '{first[:80]}' exists, but the lines around it differ: copy them "
                "exactly, including indentation.")
    raise EditError(f"{where}: the SEARCH text does not occur in the file. It must match the "
                    f"current file exactly, character for character.{hint}")


def apply_edit_blocks(blocks: list[EditBlock], files: dict[str, Path]) -> list[str]:
    """Apply every block or none. `files` maps the names the model may use to real paths.

    Returns the names of the files changed. Raises EditError (no file changed) on any failure.
    """
    contents: dict[str, str] = {}
    paths: dict[str, Path] = {}
    for block in blocks:
        path = _allowed_path(block.path, files)
        key = str(PurePosixPath(block.path.replace("\\", "/")))
        paths[key] = path
        if key not in contents:
            contents[key] = path.read_text() if path.exists() else ""
        content = contents[key]
        if block.search == "":
            if content.strip():
                raise EditError(f"edit block {block.index} ({block.path}): an empty SEARCH only "
                                "creates an empty file; to add text, SEARCH for the lines it follows")
            contents[key] = block.replace
            continue
        start, end = _locate(content, block)
        contents[key] = content[:start] + block.replace + content[end:]
    changed = []
    for key, new in contents.items():
        path = paths[key]
        if path.exists() and path.read_text() == new:
            continue
        write_text_atomic(path, new)
        changed.append(key)
    return changed


def apply_edits(text: str, files: dict[str, Path]) -> list[str]:
    """Parse a reply's edit blocks and apply them all, or none (EditError says why)."""
    return apply_edit_blocks(parse_edit_blocks(text), files)


EDIT_FORMAT_HELP = """To change a file, write one or more SEARCH/REPLACE blocks, each after a line with the file name:

experiment.py
<<<<<<< SEARCH
exact lines copied from the current file
=======
the lines that replace them
>>>>>>> REPLACE

The SEARCH part must match the current file exactly (indentation included) and occur only once.
Keep blocks small: a few lines of context around each change."""
