"""Each number a Results section quotes, as a claim with the text around it that says what it is.

A claim keeps the number as written, its clause and sentence in running text (and the sentences
before it in its paragraph), or its table cell's row label, the row that heads its group of rows,
its column headers (through \\multicolumn / \\multirow spans) and the table's caption; and the
subsection it sits in. `kinds` and `support` read these to decide what the number claims and
whether the harness's records back it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace

from benchmark.validity.numbers import Quoted, quoted_numbers
from scientist.latex import source as latex

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\\$(])|\n\s*\n|\\item\b")
_CLAUSE_BREAK = re.compile(r",(?=\s)|[;:()]|---|\s(?:and|while|whereas|against|versus|vs\.?|compared|but|than|from|to)\s",
                           re.I)
_SUBSECTION = re.compile(r"\\(?:sub)+section\*?\s*\{([^}]*)\}|\\paragraph\*?\s*\{([^}]*)\}|\\textbf\{([^}]*)\}")
_FLOATS = re.compile(r"\\begin\{(figure\*?|table\*?|wrapfigure|algorithm)\}.*?\\end\{\1\}", re.S)
MIN_INTEGER = 10  # integers up to this (and years) are counts unless their words measure (`Claim.small`)
WINDOW_WORDS = 6  # words before a number in running text that may name what it measures


@dataclass(frozen=True)
class Claim:
    quoted: Quoted
    where: str  # "text" or "table"
    clause: str = ""  # running text: the number's clause; table: the cell
    sentence: str = ""
    before: str = ""  # running text: the sentences before it in its paragraph (a list's lead-in included)
    window: str = ""  # the words just before it, and it
    row: str = ""  # table: the row label (first cell), and the heading row of its group
    group: str = ""
    column: str = ""  # table: its column's header cells, outermost first
    caption: str = ""
    section: str = ""  # the subsection (or bold run-in heading) it sits under
    in_label: bool = False  # table: the number is part of a row label or a header, not a cell value
    after: str = ""  # running text: what follows the number, up to the end of its clause ("(run~1)")
    at: int = -1  # running text: where the number starts in `sentence`
    in_list: tuple[int, int] = (0, 1)  # running text: its place in a list "0.945, 0.943 and 0.938", and the length
    small: bool = False  # an integer up to `min_integer` or a year: a count, seed or date unless its words measure

    @property
    def text(self) -> str:
        return self.quoted.text

    @property
    def context(self) -> str:
        """What a reader sees as naming this number: its clause, or its cell's row and column."""
        return self.clause if self.where == "text" else f"{self.row} {self.group} {self.column}"


def _clause(text: str, start: int, end: int) -> str:
    left = max((m.end() for m in _CLAUSE_BREAK.finditer(text, 0, start)), default=0)
    right = next((m.start() for m in _CLAUSE_BREAK.finditer(text, end)), len(text))
    return text[left:right]


def _window(text: str, start: int, end: int) -> str:
    """The words before the number, it, and three after: "accuracy (0.9998) for validation"."""
    return " ".join(text[:start].split()[-WINDOW_WORDS:] + [text[start:end]] + text[end:].split()[:3])


_LIST_GLUE = re.compile(r"\s*(?:\$|\\%|%|~)*\s*(?:,\s*(?:and\s+)?|\s+and\s+|;\s*)(?:\$|~)*\s*$")


def _lists(sentence: str, found: list[re.Match[str]]) -> list[tuple[int, int]]:
    """(place, length) of each number in the list it belongs to: numbers joined only by commas or
    "and" ("0.945, 0.943 and 0.938"); a lone number is (0, 1)."""
    groups: list[list[int]] = []
    for i, m in enumerate(found):
        if i and _LIST_GLUE.fullmatch(sentence[found[i - 1].end():m.start()] + " "[:0]) is not None:
            groups[-1].append(i)
        else:
            groups.append([i])
    place: dict[int, tuple[int, int]] = {}
    for g in groups:
        for k, i in enumerate(g):
            place[i] = (k, len(g))
    return [place[i] for i in range(len(found))]


def _section_at(headings: list[tuple[int, str]], pos: int) -> str:
    return next((title for at, title in reversed(headings) if at <= pos), "")


def _prose_claims(text: str, headings: list[tuple[int, str]], offset: int, min_integer: int) -> list[Claim]:
    out: list[Claim] = []
    for paragraph in re.split(r"\n\s*\n", text):
        para_at = text.find(paragraph) + offset
        sentences = [s for s in _SENTENCE_END.split(paragraph) if s and s.strip()]
        for i, sentence in enumerate(sentences):
            used: list[tuple[int, int]] = []  # scientific notation is read first: find each number's own place
            found_all: list[tuple[Quoted, re.Match[str]]] = []
            for q in quoted_numbers(sentence, min_integer=-1, years=(1, 0)):
                found = next((m for m in re.finditer(r"(?<![\d.])" + re.escape(q.text), sentence)
                              if not any(a < m.end() and m.start() < b for a, b in used)), None)
                if found:
                    used.append(found.span())
                    found_all.append((q, found))
            found_all.sort(key=lambda qf: qf[1].start())
            lists = _lists(sentence, [f for _, f in found_all])
            for (q, found), place in zip(found_all, lists):
                out.append(Claim(quoted=q, where="text", clause=_clause(sentence, found.start(), found.end()),
                                 sentence=sentence, before=" ".join(sentences[:i]),
                                 window=_window(sentence, found.start(), found.end()),
                                 section=_section_at(headings, para_at), after=sentence[found.end():found.end() + 40],
                                 in_list=place, at=found.start(), small=_small(q, min_integer)))
    return out


def _small(q: Quoted, min_integer: int) -> bool:
    """Integers up to `min_integer` (seeds, run counts, "3 tasks") and years: not results unless
    the words right by them name a measurement (`kinds.small_result`)."""
    return q.decimals == 0 and q.exponent == 0 and not q.percent and (abs(q.value) <= min_integer
                                                                      or 1900 <= q.value <= 2100)


def _group_heads(table: latex.Table) -> dict[int, str]:
    """Rows that only head a group of rows ("Baseline & & & \\\\"): row index -> the head above it."""
    heads, current = {}, ""
    for r, row in enumerate(table.rows):
        if r < table.header_rows:
            continue
        if row and row[0].text.strip() and not any(c.text.strip() for c in row[1:]):
            current = row[0].text
            continue
        heads[r] = current
    return heads


def _table_claims(table: latex.Table, section: str, min_integer: int) -> list[Claim]:
    out: list[Claim] = []
    heads = _group_heads(table)
    # The leading columns that label rows: the first, and those after it that hold no number
    # in any body row ("Run & Dataset & ..."), or that a \multirow spans.
    body = [row for r, row in enumerate(table.rows) if r >= table.header_rows]
    label_cols = 1
    while body and label_cols < max(len(r) for r in body) and all(
            label_cols >= len(r) or not quoted_numbers(r[label_cols].text, min_integer=-1) for r in body):
        label_cols += 1
    for r, row in enumerate(table.rows):
        header = r < table.header_rows
        label = " ".join(c.text for c in row[:label_cols])
        for cell in row:
            if cell.spanned:
                continue
            for q in quoted_numbers(cell.text, min_integer=-1, years=(1, 0)):
                out.append(Claim(
                    quoted=q, where="table", clause=cell.text, sentence=cell.text, row=label,
                    group=heads.get(r, ""), column=" ".join(table.header(cell.col)) if not header else "",
                    caption=table.caption, section=section, in_label=header or cell.col < label_cols,
                    window=cell.text, small=_small(q, min_integer)))
    return out


def claims(tex: str, *, min_integer: int = MIN_INTEGER) -> list[Claim]:
    """The claims of a stretch of LaTeX (a Results section), in reading order: running text,
    then each table."""
    text = latex.strip_comments(tex)
    headings = [(m.start(), next(g for g in m.groups() if g is not None)) for m in _SUBSECTION.finditer(text)]
    found_tables = latex.tables(text)
    out: list[Claim] = []
    for t in found_tables:
        out += _table_claims(t, _section_at(headings, t.start), min_integer)
    # running text: tables and their captions blanked out (same length: offsets still place headings)
    blanked = text
    for m in _FLOATS.finditer(text):
        if m.group(1).startswith("table"):
            blanked = blanked[:m.start()] + " " * (m.end() - m.start()) + blanked[m.end():]
    for t in found_tables:
        blanked = blanked[:t.start] + " " * (t.end - t.start) + blanked[t.end:]
    blanked = _SUBSECTION.sub(lambda m: " " * len(m.group(0)) if not m.group(0).startswith("\\textbf") else m.group(0),
                              blanked)
    return _prose_claims(blanked, headings, 0, min_integer) + out


def with_quoted(claim: Claim, text: str) -> Claim:
    """The same claim with another number written in its place (forgeries, tests)."""
    q = quoted_numbers(text, min_integer=-1, years=(1, 0))[0]
    if claim.at >= 0 and claim.sentence.startswith(claim.text, claim.at):
        sentence = claim.sentence[:claim.at] + text + claim.sentence[claim.at + len(claim.text):]
    else:
        sentence = claim.sentence.replace(claim.text, text, 1)
    return replace(claim, quoted=q, small=_small(q, MIN_INTEGER), clause=claim.clause.replace(claim.text, text, 1),
                   sentence=sentence, window=_rewrite_last(claim.window, claim.text, text, claim.after))


def _rewrite_last(window: str, old: str, new: str, after: str) -> str:
    """The window ends with the number and the words after it: rewrite that occurrence."""
    tail = " ".join(after.split()[:3])
    at = window.rfind(old, 0, len(window) - len(tail)) if tail else window.rfind(old)
    return window if at < 0 else window[:at] + new + window[at + len(old):]
