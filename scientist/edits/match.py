"""Where a block's SEARCH text is in a file: exact first, then the tolerant matches real replies need.

Each tolerance still has to identify the place. In order:
1. exact text, once, as whole lines (never the tail of a longer line);
2. exact lines, several times: the first is taken, as Aider does, and the outcome says so;
   exact text once inside a line, on word boundaries (a sentence quoted from a paragraph);
3. the same lines re-indented uniformly (every line shifted by the same prefix): the REPLACE lines
   get the same shift; several places: the first, as Aider does, said so;
4. trailing whitespace ignored as well: one place only;
5. blank lines ignored as well (the model left some out or added some): one place only.
A SEARCH that matches nothing raises NoMatch with the nearest lines of the file, numbered, so
that the model can copy them.
"""
from __future__ import annotations

import difflib
import re
from collections import Counter
from dataclasses import dataclass


@dataclass(frozen=True)
class Match:
    start: int  # character offsets of the replaced text in the content
    end: int
    replace: str  # the text that goes there (re-indented when the match was)
    how: str  # exact, first_of_n, reindented, trailing_whitespace, blank_lines, end_of_file
    note: str = ""


class NoMatch(Exception):
    def __init__(self, cause: str, message: str) -> None:
        super().__init__(message)
        self.cause = cause  # no_match | ambiguous


def _indent(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


def _shift(file_lines: list[str], search_lines: list[str], rstrip: bool) -> tuple[str, str] | None:
    """('add'|'del', prefix) that turns every non-blank search line into its file line, or None."""
    shift = None
    for f, s in zip(file_lines, search_lines):
        f, s = f.rstrip("\r\n"), s.rstrip("\r\n")
        fb, sb = (f.strip(), s.strip()) if rstrip else (f.lstrip(), s.lstrip())
        if not fb and not sb:
            continue
        if fb != sb:
            return None
        fi, si = _indent(f), _indent(s)
        if fi.startswith(si):
            this = ("add", fi[len(si):])
        elif si.startswith(fi):
            this = ("del", si[len(fi):])
        else:
            return None
        if this[1] == "":
            this = ("add", "")
        if shift is None:
            shift = this
        elif shift != this:
            return None
    return shift or ("add", "")


def _reindent(lines: list[str], shift: tuple[str, str]) -> list[str]:
    kind, prefix = shift
    if not prefix:
        return lines
    out = []
    for line in lines:
        if not line.strip():
            out.append(line)
        elif kind == "add":
            out.append(prefix + line)
        else:
            out.append(line[len(prefix):] if line.startswith(prefix) else line.lstrip(" \t") if
                       len(_indent(line)) <= len(prefix) else line[len(prefix):])
    return out


MAX_PLACES = 64  # a SEARCH whose first line starts more windows than this is ambiguous, not scanned on


def _windows(file_lines: list[str], search_lines: list[str], rstrip: bool, skip_blank: bool
             ) -> list[tuple[int, int, tuple[str, str]]]:
    """Every (first line, end line, shift) where the search lines sit in the file. The work is
    bounded: a file and a SEARCH of many identical lines (both can be hostile) give NoMatch
    ('ambiguous') after MAX_PLACES candidate windows, never a scan of every line against every line."""
    found: list[tuple[int, int, tuple[str, str]]] = []
    idx = [k for k, ln in enumerate(file_lines) if ln.strip()] if skip_blank else list(range(len(file_lines)))
    wanted = [ln for ln in search_lines if ln.strip()] if skip_blank else search_lines
    if not wanted:
        return []
    # anchor on the SEARCH line that is rarest in the file: the fewest windows to verify
    stripped = [file_lines[k].strip() for k in idx]
    counts = Counter(stripped)
    offset = min((k for k, ln in enumerate(wanted) if ln.strip()), key=lambda k: counts[wanted[k].strip()],
                 default=0)
    anchor = wanted[offset].strip()
    tried = 0
    for a in range(len(idx) - len(wanted) + 1):
        if anchor and stripped[a + offset] != anchor:
            continue
        tried += 1
        if tried > MAX_PLACES:
            raise NoMatch("ambiguous", f"even the rarest line of the SEARCH text occurs in more than {MAX_PLACES} "
                                       "places of the file; quote lines that occur once")
        shift = _shift([file_lines[k] for k in idx[a:a + len(wanted)]], wanted, rstrip)
        if shift is not None:
            found.append((idx[a], idx[a + len(wanted) - 1] + 1, shift))
    return found


def _offsets(lines: list[str]) -> list[int]:
    out, pos = [0], 0
    for ln in lines:
        pos += len(ln)
        out.append(pos)
    return out


def _replacement(replace: str, shift: tuple[str, str], span_ends_newline: bool) -> str:
    lines = _reindent(replace.splitlines(keepends=True), shift)
    text = "".join(lines)
    if text and span_ends_newline and not text.endswith("\n"):
        text += "\n"
    return text


def _aligned(content: str, search: str) -> list[int]:
    """Where `search` occurs as whole lines (a match inside a line, such as `x = 1` in `max = 1`,
    is not one)."""
    found, start = [], content.find(search)
    while start >= 0 and search:
        end = start + len(search)
        head_ok = start == 0 or content[start - 1] == "\n" or search.startswith("\n")
        tail_ok = end == len(content) or search.endswith("\n") or content[end] == "\n"
        if head_ok and tail_ok:
            found.append(start)
        start = content.find(search, start + 1)
    return found


def _inside_line(content: str, search: str) -> int | None:
    """The one place `search` occurs starting or ending inside a line, on word boundaries (a quoted
    sentence of a LaTeX paragraph, an indented statement); None when it occurs elsewhere too, or
    would cut a word (`x = 1` inside `max = 1` is no match)."""
    start = content.find(search)
    if start < 0 or not search.strip() or content.find(search, start + 1) >= 0:
        return None
    end = start + len(search)
    before = content[start - 1] if start else "\n"
    after = content[end] if end < len(content) else "\n"
    if (search[0].isalnum() or search[0] == "_") and (before.isalnum() or before == "_"):
        return None
    if (search[-1].isalnum() or search[-1] == "_") and (after.isalnum() or after == "_"):
        return None
    return start


def locate(content: str, search: str, replace: str) -> Match:
    """Where `search` is in `content` and what replaces it; NoMatch when nowhere (or not one place)."""
    at = _aligned(content, search)
    count = len(at)
    if count == 1:
        return Match(at[0], at[0] + len(search), replace, "exact")
    start = len(content) - len(search) + 1
    if (count == 0 and search.endswith("\n") and content.endswith(search[:-1]) and search[:-1]
            and (start == 0 or content[start - 1] == "\n")):
        return Match(start, len(content), replace, "end_of_file")
    inside = _inside_line(content, search) if count == 0 else None
    if inside is not None:
        return Match(inside, inside + len(search), replace, "within_line",
                     "matched inside a line (a sentence or a statement quoted from it); the rest of the line kept")
    file_lines = content.splitlines(keepends=True)
    search_lines = search.splitlines(keepends=True)
    offsets = _offsets(file_lines)
    if count > 1:
        line = content.count("\n", 0, at[0]) + 1
        return Match(at[0], at[0] + len(search), replace, "first_of_n",
                     f"the SEARCH text occurs {count} times; the first (line {line}) was replaced, as Aider does")
    trimmed = search_lines[1:] if len(search_lines) > 2 and not search_lines[0].strip() else None
    for lines in (search_lines, trimmed):  # Aider also drops a spurious leading blank line
        if not lines:
            continue
        found = _windows(file_lines, lines, False, False)
        if found:
            a, b, shift = found[0]
            note = f"re-indented by {shift[0]} {shift[1]!r}" if shift[1] else "a leading blank line dropped"
            if len(found) > 1:
                note += f"; {len(found)} places match, the first (line {a + 1}) was taken, as Aider does"
            return Match(offsets[a], offsets[b], _replacement(replace, shift, file_lines[b - 1].endswith("\n")),
                         "reindented", note)
    for how, skip_blank in (("trailing_whitespace", False), ("blank_lines", True)):
        found = _windows(file_lines, search_lines, True, skip_blank)
        if len(found) == 1:
            a, b, shift = found[0]
            note = {"trailing_whitespace": "matched ignoring trailing whitespace",
                    "blank_lines": "matched ignoring blank lines"}[how]
            if shift[1]:
                note += f", re-indented by {shift[0]} {shift[1]!r}"
            return Match(offsets[a], offsets[b], _replacement(replace, shift, file_lines[b - 1].endswith("\n")),
                         how, note)
        if len(found) > 1:
            raise NoMatch("ambiguous", f"the SEARCH text matches {len(found)} places once whitespace is ignored "
                                       f"(lines {', '.join(str(w[0] + 1) for w in found[:5])}); copy it exactly, "
                                       "with enough surrounding lines to match one place")
    raise NoMatch("no_match", "the SEARCH text does not occur in the file." + nearest_lines(file_lines, search_lines))


ELISION = re.compile(r"^[ \t]*\.\.\.[ \t]*\n", re.MULTILINE)


def replace_elided(content: str, search: str, replace: str) -> str:
    """Aider's reading of `...` lines: SEARCH and REPLACE elide the same stretches; each piece between
    them must occur exactly once and is replaced by its counterpart. NoMatch otherwise."""
    parts, subs = ELISION.split(search), ELISION.split(replace)
    if len(parts) == 1 or len(parts) != len(subs):
        raise NoMatch("no_match", "the SEARCH text does not occur in the file")
    new = content
    for part, sub in zip(parts, subs):
        if not part.strip():
            if sub.strip():
                raise NoMatch("no_match", "a '...' piece of the SEARCH part is empty")
            continue
        at = _aligned(new, part)
        if len(at) != 1:
            raise NoMatch("ambiguous" if at else "no_match",
                          f"a piece of the SEARCH text between '...' lines occurs {len(at)} times, not once")
        new = new[:at[0]] + sub + new[at[0] + len(part):]
    return new


def nearest_lines(file_lines: list[str], search_lines: list[str], limit: int = 30) -> str:
    """The file's lines most like the SEARCH text, numbered, for the model to copy from."""
    wanted = [ln.strip() for ln in search_lines if ln.strip()]
    if not wanted or not file_lines:
        return ""
    best, best_score = 0, 0.0
    probe = wanted[0]
    for k, line in enumerate(file_lines[:20000]):
        text = line.strip()
        if not text:
            continue
        m = difflib.SequenceMatcher(None, probe, text, autojunk=False)
        if m.real_quick_ratio() <= best_score or m.quick_ratio() <= best_score:
            continue
        score = m.ratio()
        if score > best_score:
            best, best_score = k, score
    if best_score < 0.5:
        return " No line of the file resembles its first line; copy the SEARCH lines from the current file."
    start = max(0, best - 1)
    end = min(len(file_lines), best + min(len(search_lines) + 2, limit))
    shown = "".join(f"{k + 1:5d}| {file_lines[k].rstrip()}\n" for k in range(start, end))
    return f" The nearest lines of the file are (line numbers are not part of the file):\n{shown}"
