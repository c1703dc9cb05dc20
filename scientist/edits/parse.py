"""Finding the SEARCH/REPLACE edit blocks in a model's reply, the way real models write them.

A block names one file on the line before it (or before its opening fence):

    experiment.py
    ```python
    <<<<<<< SEARCH
    lr = 1e-3
    =======
    lr = 3e-3
    >>>>>>> REPLACE
    ```

Parsing is a small state machine, not a split on marker lines, because published replies bend
the format in a few recurring ways that a strict parser turns into lost work:
- the file-name line is left out on the second and later blocks: the previous block's name holds
  (as in Aider), and the block says its name was inferred;
- a block is closed with a second `=======` instead of `>>>>>>> REPLACE`;
- a marker line occurs inside the content: inside a fenced block the closing marker is the last
  `>>>>>>> REPLACE` before the closing fence, and with several `=======` lines the middle one
  divides (the content around it is symmetric);
- the reply ends inside a block (the model hit its output limit): the complete blocks before it
  stand, and the reply is marked truncated so that the caller asks for the rest.
A block that cannot be read is kept with its `problem`, so that it is reported, never skipped.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

SEARCH = re.compile(r"^\s*<{5,9} ?SEARCH\s*$")
DIVIDER = re.compile(r"^\s*={5,9}\s*$")
REPLACE = re.compile(r"^\s*>{5,9} ?REPLACE\s*$")
FENCE = re.compile(r"^\s*(```|~~~)")
CLOSING_FENCE = re.compile(r"^\s*(```|~~~)\s*$")
PATH_LIKE = re.compile(r"^[\w.\-/\\]+$")


@dataclass(frozen=True)
class EditBlock:
    index: int  # 1-based, as the model would count them
    path: str
    search: str
    replace: str
    name_inferred: bool = False  # no file-name line: the previous block's name was reused
    note: str = ""  # how the block was read when it bent the format
    problem: str = ""  # set when the block cannot be applied as written (malformed)
    first_line: int = 0  # 1-based line of its SEARCH marker in the reply


@dataclass
class ParsedReply:
    blocks: list[EditBlock] = field(default_factory=list)
    truncated: bool = False  # the reply ends inside a block: it was cut off
    cut_off_path: str | None = None  # the file of the block that was cut off


def _clean_name(line: str) -> str | None:
    """A file name from a line such as `experiment.py`, **plot.py**, ### notes.txt, File: a.py."""
    text = line.strip().replace("\\_", "_")
    text = text.strip("`*#: ")
    for prefix in ("Filename", "filename", "File", "file", "Path", "path"):
        if text.startswith(prefix + ":") or text.startswith(prefix + " "):
            text = text[len(prefix):].strip("`*#: ")
    if not text or not PATH_LIKE.match(text) or not ("." in text or "/" in text):
        return None
    return text


def _name_above(lines: list[str], start: int, floor: int) -> tuple[str | None, bool]:
    """The file name on the nearest non-blank, non-fence line above `start` (not above `floor`),
    and whether a fence opens the block."""
    fenced = False
    for k in range(start - 1, floor - 1, -1):
        text = lines[k].strip()
        if not text:
            continue
        if FENCE.match(text):
            fenced = fenced or k == _prev_nonblank(lines, start, floor)
            continue
        if SEARCH.match(text) or DIVIDER.match(text) or REPLACE.match(text):
            return None, fenced
        return _clean_name(text), fenced
    return None, fenced


def _prev_nonblank(lines: list[str], start: int, floor: int) -> int:
    k = start - 1
    while k >= floor and not lines[k].strip():
        k -= 1
    return k


def _closer(lines: list[str], i: int, fenced: bool) -> tuple[int | None, str]:
    """Where the block opened at line `i` ends: (line index, 'replace' | 'divider' | 'cut' | 'open')."""
    dividers, end = [], None
    j = i + 1
    while j < len(lines):
        line = lines[j]
        if SEARCH.match(line):
            break
        if REPLACE.match(line):
            end = j
            if not fenced:
                break
            # inside a fence, a later REPLACE marker before the closing fence makes this one content
            k = j + 1
            later = None
            while k < len(lines) and not SEARCH.match(lines[k]) and not CLOSING_FENCE.match(lines[k]):
                if REPLACE.match(lines[k]):
                    later = k
                k += 1
            if later is None or k >= len(lines):
                break
            end = later
            break
        if DIVIDER.match(line):
            dividers.append(j)
        j += 1
    if end is not None:
        return end, "replace"
    if len(dividers) == 2:  # the block was closed with a second '=======' instead of '>>>>>>> REPLACE'
        return dividers[1], "divider"
    return (j, "cut") if j >= len(lines) else (j, "open")


def parse_reply(text: str) -> ParsedReply:
    """Every edit block in `text`, in order; malformed ones carry their `problem`."""
    lines = text.splitlines(keepends=True)
    out = ParsedReply()
    previous: str | None = None
    floor = 0  # a block's file-name line is never looked for inside the block before it
    i = 0
    pending_orphan = False  # a '=======' seen outside any block since the last one
    while i < len(lines):
        line = lines[i]
        if not SEARCH.match(line):
            if DIVIDER.match(line):
                pending_orphan = True
            elif REPLACE.match(line) and pending_orphan:
                out.blocks.append(EditBlock(len(out.blocks) + 1, previous or "?", "", "", first_line=i + 1,
                                            problem="a block without its '<<<<<<< SEARCH' line (it must open "
                                                    "every block, on its own line)"))
                pending_orphan = False
                floor = i + 1
            i += 1
            continue
        pending_orphan = False
        number = len(out.blocks) + 1
        name, fenced = _name_above(lines, i, floor)
        inferred = False
        if name is None and previous is not None:
            name, inferred = previous, True
        end, how = _closer(lines, i, fenced)
        if how == "cut":
            out.truncated, out.cut_off_path = True, name
            break
        body = lines[i + 1:end]
        dividers = [k for k, ln in enumerate(body) if DIVIDER.match(ln)]
        if how == "divider":
            dividers = dividers[:1]
        block = _split(number, name, body, dividers, how, inferred, i + 1)
        out.blocks.append(block)
        if name is not None:
            previous = name
        if how == "open":  # a new SEARCH marker came first: this block never closed
            i = end
        else:
            i = end + 1
        floor = i
    return out


def _split(number: int, name: str | None, body: list[str], dividers: list[int], how: str,
           inferred: bool, first_line: int) -> EditBlock:
    path = name or "?"
    search = replace = note = problem = ""
    if how == "open":
        problem = "not closed with '>>>>>>> REPLACE' before the next '<<<<<<< SEARCH'"
    elif not dividers:
        problem = "no '=======' line between the SEARCH and the REPLACE part"
    elif len(dividers) % 2 == 0:
        problem = f"{len(dividers)} '=======' lines: which one divides SEARCH from REPLACE is ambiguous"
    else:
        mid = dividers[len(dividers) // 2]
        search, replace = "".join(body[:mid]), "".join(body[mid + 1:])
        if how == "divider":
            note = "closed with '=======' instead of '>>>>>>> REPLACE'"
        elif len(dividers) > 1:
            note = f"{len(dividers)} '=======' lines: the middle one divides, the others are content"
    if name is None and not problem:  # the text is kept for the record; the block cannot be placed
        problem = "no file name on the line before '<<<<<<< SEARCH' (or before its fence)"
    return EditBlock(number, path, search, replace, inferred, note, problem, first_line)
