"""The one LaTeX source reader: comments, sections, section slots, labels, references,
citations, figures and bibliographies. A small scanner over the source (balanced braces and
brackets, escaped `%`), no TeX engine. The write-up stage and the validity checks both read
papers through this module.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

_BEGIN_DOC = re.compile(r"\\begin\{document\}")
_END_DOC = re.compile(r"\\end\{document\}")
_SECTION = re.compile(r"\\section(?![a-zA-Z@])\*?\s*(?:\[[^\]]*\])?\s*\{")
_LABEL = re.compile(r"\\label\s*\{([^}]*)\}")
_REF = re.compile(r"\\(?:ref|eqref|autoref|cref|Cref|pageref|vref|nameref)\*?\s*\{([^}]*)\}")
# \cite, \citep, \citet, \Citet, \citeauthor, \nocite, \parencite, \textcite, ...; not \citestyle
_CITE_NAME = re.compile(
    r"\\((?:[Cc]ite(?!style)[a-zA-Z]*|nocite|[Pp]arencite|[Tt]extcite|[Aa]utocite|[Ff]ootcite|fullcite))"
    r"(?![a-zA-Z@])(\*?)"
)
_INCLUDEGRAPHICS = re.compile(r"\\includegraphics\*?\s*(?:\[[^\]]*\])?\s*\{([^}]*)\}")
_FIGURE_ENV = re.compile(r"\\begin\{(figure\*?|subfigure)\}(.*?)\\end\{\1\}", re.S)
_BIB_ENTRY = re.compile(r"@\s*([a-zA-Z]+)\s*[{(]\s*([^,\s]+)\s*,")
_BIB_TITLE = re.compile(r"(?<![a-zA-Z])title\s*=\s*", re.IGNORECASE)
_BIBITEM = re.compile(r"\\bibitem\s*(?:\[[^\]]*\])?\s*\{([^}]*)\}")
_FILECONTENTS = re.compile(
    r"\\begin\{filecontents\*?\}\s*(?:\[[^\]]*\])?\s*\{([^}]*)\}(.*?)\\end\{filecontents\*?\}", re.S
)
_NOT_ENTRIES = {"comment", "string", "preamble"}

# The templates' marker slots (scientist/templates/README.md): "%% BEGIN SECTION: Name" ...
# "%% END SECTION: Name"; the text between them in the template is a placeholder.
_MARKER_SLOT = re.compile(
    r"^[ \t]*%+[ \t]*BEGIN SECTION:[ \t]*(?P<name>[^\n]+?)[ \t]*\n(?P<body>.*?)"
    r"^[ \t]*%+[ \t]*END SECTION:[ \t]*(?P=name)[ \t]*$",
    re.MULTILINE | re.DOTALL,
)
_TITLE = re.compile(r"\\title\s*(?:\[[^\]]*\])?\s*\{")
_ABSTRACT = re.compile(r"\\begin\{abstract\}(.*?)\\end\{abstract\}", re.S)
# Where the last section's body ends in a skeleton without markers.
_SECTION_END = re.compile(
    r"\\(?:section(?![a-zA-Z@])|appendix(?![a-zA-Z@])|bibliographystyle(?![a-zA-Z@])|bibliography(?![a-zA-Z@])"
    r"|printbibliography|begin\{thebibliography\}|end\{document\})"
)
_LEADING_LABELS = re.compile(r"(?:[ \t]*\n?[ \t]*\\label\s*\{[^}]*\}[ \t]*)+")


# ---- comments and structure ------------------------------------------------------------
def _comment_spans(tex: str) -> list[tuple[int, int]]:
    """(start, end) of every `%` comment: a `%` preceded by an even number of backslashes."""
    spans, i, n = [], 0, len(tex)
    while i < n:
        ch = tex[i]
        if ch == "\\":
            i += 2
            continue
        if ch == "%":
            end = tex.find("\n", i)
            end = n if end < 0 else end
            spans.append((i, end))
            i = end
            continue
        i += 1
    return spans


def blank_comments(tex: str) -> str:
    """`tex` with every comment replaced by spaces: same length, so offsets stay valid."""
    out, last = [], 0
    for start, end in _comment_spans(tex):
        out += [tex[last:start], " " * (end - start)]
        last = end
    out.append(tex[last:])
    return "".join(out)


def strip_comments(tex: str) -> str:
    """Drop `%` comments (but keep escaped `\\%`)."""
    out, last = [], 0
    for start, end in _comment_spans(tex):
        out.append(tex[last:start])
        last = end
    out.append(tex[last:])
    return "".join(out)


def _balanced(text: str, start: int, open_: str = "{", close: str = "}") -> tuple[str, int]:
    """The text inside the group opening just before `start`, and the index after it."""
    depth, i = 1, start
    while i < len(text) and depth:
        ch = text[i]
        if ch == "\\":
            i += 2
            continue
        if ch == open_:
            depth += 1
        elif ch == close:
            depth -= 1
        elif open_ == "[" and ch == "{":  # brackets inside a brace group do not count
            _, i = _balanced(text, i + 1)
            continue
        i += 1
    return text[start:max(start, i - 1)], i


def document_body(tex: str) -> str:
    """What lies between \\begin{document} and \\end{document} (the whole text if absent)."""
    begin = _BEGIN_DOC.search(tex)
    body = tex[begin.end():] if begin else tex
    end = _END_DOC.search(body)
    return body[:end.start()] if end else body


def _body_span(tex: str) -> tuple[int, int]:
    begin = _BEGIN_DOC.search(tex)
    start = begin.end() if begin else 0
    end = _END_DOC.search(tex, start)
    return start, end.start() if end else len(tex)


@dataclass(frozen=True)
class Section:
    title: str
    body: str  # up to the next \section (subsections included)


def sections(tex: str) -> list[Section]:
    """Top-level sections of the document body, comments removed."""
    body = document_body(strip_comments(tex))
    heads = []
    for m in _SECTION.finditer(body):
        title, after = _balanced(body, m.end())
        heads.append((m.start(), after, " ".join(title.split())))
    out = []
    for i, (_, after, title) in enumerate(heads):
        end = heads[i + 1][0] if i + 1 < len(heads) else len(body)
        out.append(Section(title, body[after:end]))
    return out


def find_sections(tex: str, pattern: str) -> list[Section]:
    """Sections whose title matches `pattern` (case-insensitive regular expression)."""
    rx = re.compile(pattern, re.I)
    return [s for s in sections(tex) if rx.search(s.title)]


# ---- slots: the parts of a skeleton the write-up fills ------------------------------------
@dataclass(frozen=True)
class Slot:
    """A part of a LaTeX skeleton that the write-up writes. `kind` is "marker" (between
    "%% BEGIN/END SECTION" lines), or, in a skeleton without markers (the AI Scientist's),
    "title" (inside \\title{}), "abstract" (inside the environment) or "section" (after a
    \\section{} heading and its \\label, up to the next section or the bibliography)."""

    name: str
    kind: str
    start: int  # offsets of the body in the source
    end: int
    body: str = field(repr=False)


def _marker_slots(tex: str) -> list[Slot]:
    return [Slot(m.group("name"), "marker", m.start("body"), m.end("body"), m.group("body"))
            for m in _MARKER_SLOT.finditer(tex)]


def _heading_slots(tex: str) -> list[Slot]:
    plain = blank_comments(tex)
    found: list[Slot] = []
    title = _TITLE.search(plain)
    if title:
        _, after = _balanced(plain, title.end())
        found.append(Slot("Title", "title", title.end(), after - 1, tex[title.end():after - 1]))
    lo, hi = _body_span(plain)
    abstract = _ABSTRACT.search(plain, lo, hi)
    if abstract:
        found.append(Slot("Abstract", "abstract", abstract.start(1), abstract.end(1), tex[abstract.start(1):abstract.end(1)]))
    for m in _SECTION.finditer(plain, lo, hi):
        name, after = _balanced(plain, m.end())
        labels_ = _LEADING_LABELS.match(plain, after)
        start = labels_.end() if labels_ else after
        stop = _SECTION_END.search(plain, start, hi)
        end = stop.start() if stop else hi
        found.append(Slot(" ".join(name.split()), "section", start, end, tex[start:end]))
    return sorted(found, key=lambda s: s.start)


def find_slots(tex: str) -> list[Slot]:
    """The slots of a skeleton (or of a paper written from one), in document order: the marker
    slots when the source has any, else its title, abstract and sections."""
    return _marker_slots(tex) or _heading_slots(tex)


def slots(tex: str) -> dict[str, str]:
    """Section slots of a template (or of a paper filled from one): name -> body."""
    return {s.name: s.body for s in find_slots(tex)}


def replace_slot(tex: str, slot: Slot, body: str) -> str:
    """`tex` with `slot` holding `body`; headings, labels and markers stay, so it can be refilled."""
    text = body.strip("\n")
    if slot.kind == "marker":
        text += "\n"
    elif slot.kind == "section":
        text = "\n" + text + "\n\n"
    elif slot.kind == "abstract":
        text = "\n" + text + "\n"
    return tex[:slot.start] + text + tex[slot.end:]


# ---- labels, references, graphics ------------------------------------------------------
def _split_keys(groups: list[str]) -> list[str]:
    return [k.strip() for g in groups for k in g.split(",") if k.strip()]


def labels(tex: str) -> set[str]:
    return set(_split_keys(_LABEL.findall(strip_comments(tex))))


def references(tex: str) -> list[str]:
    return _split_keys(_REF.findall(strip_comments(tex)))


def included_graphics(tex: str) -> list[str]:
    return [g.strip() for g in _INCLUDEGRAPHICS.findall(document_body(strip_comments(tex)))]


@dataclass(frozen=True)
class Figure:
    graphics: list[str]
    labels: list[str]


def figures(tex: str) -> list[Figure]:
    """Figure environments of the body with their graphics and labels; a figure that only
    groups subfigures lists the labels of all of them."""
    out = []
    for m in _FIGURE_ENV.finditer(document_body(strip_comments(tex))):
        if m.group(1) == "subfigure":
            continue  # reported as part of the enclosing figure
        inner = m.group(2)
        out.append(Figure(
            graphics=[g.strip() for g in _INCLUDEGRAPHICS.findall(inner)],
            labels=_split_keys(_LABEL.findall(inner)),
        ))
    return out


def graphics_paths(tex: str) -> list[str]:
    """Folders of \\graphicspath{{../}{./}}, in order."""
    m = re.search(r"\\graphicspath\s*\{((?:\s*\{[^}]*\})+)\s*\}", strip_comments(tex))
    return re.findall(r"\{([^}]*)\}", m.group(1)) if m else []


# ---- citations -------------------------------------------------------------------------
@dataclass(frozen=True)
class Cite:
    """One citation command: `\\citep[see][p.~3]{a,b}` -> command "citep", options
    ["see", "p.~3"], keys ["a", "b"]; start/end span the whole command in the source."""

    command: str
    star: bool
    options: tuple[str, ...]
    keys: tuple[str, ...]
    start: int
    end: int


def cite_commands(tex: str) -> list[Cite]:
    """Every citation command outside comments, with up to two optional arguments."""
    plain = blank_comments(tex)
    out: list[Cite] = []
    for m in _CITE_NAME.finditer(plain):
        i, options = m.end(), []
        for _ in range(2):
            j = i
            while j < len(plain) and plain[j] in " \t\n":
                j += 1
            if j < len(plain) and plain[j] == "[":
                opt, i = _balanced(plain, j + 1, "[", "]")
                options.append(opt)
            else:
                break
        j = i
        while j < len(plain) and plain[j] in " \t\n":
            j += 1
        if j >= len(plain) or plain[j] != "{":
            continue  # not a citation (e.g. a macro definition mentioning \cite)
        keys, end = _balanced(plain, j + 1)
        out.append(Cite(m.group(1), bool(m.group(2)), tuple(options),
                        tuple(k.strip() for k in keys.split(",") if k.strip()), m.start(), end))
    return out


def citations(tex: str) -> list[str]:
    """Cited keys of the document body, in order (repeats kept)."""
    lo, hi = _body_span(blank_comments(tex))
    return [k for c in cite_commands(tex) if lo <= c.start < hi for k in c.keys]


def drop_unknown_citations(tex: str, known: set[str]) -> tuple[str, list[str]]:
    """`tex` without the cited keys that are not in `known`; a citation left with no key is
    removed whole (with its optional arguments). Returns the text and the removed keys."""
    removed: list[str] = []
    out, last = [], 0
    for c in cite_commands(tex):
        kept = [k for k in c.keys if k in known]
        removed += [k for k in c.keys if k not in known]
        if len(kept) == len(c.keys):
            continue
        out.append(tex[last:c.start])
        if kept:
            opts = "".join(f"[{o}]" for o in c.options)
            out.append(f"\\{c.command}{'*' if c.star else ''}{opts}{{{','.join(kept)}}}")
        last = c.end
    out.append(tex[last:])
    return "".join(out), removed


def without_citations(tex: str, replacement: str = " ") -> str:
    """`tex` with every citation command (options and keys included) replaced."""
    out, last = [], 0
    for c in cite_commands(tex):
        out += [tex[last:c.start], replacement]
        last = c.end
    out.append(tex[last:])
    return "".join(out)


# ---- bibliographies --------------------------------------------------------------------
def _field_value(text: str, start: int) -> str:
    """The value of a BibTeX field starting at `start`: {balanced braces} or "quoted"."""
    if start >= len(text):
        return ""
    if text[start] == '"':
        end = text.find('"', start + 1)
        return text[start + 1:end if end >= 0 else len(text)]
    if text[start] != "{":
        return re.split(r"[,}\n]", text[start:], maxsplit=1)[0]
    value, _ = _balanced(text, start + 1)
    return value


def bib_entries(bib: str) -> dict[str, str]:
    """Entry key -> title ('' when it has none) of BibTeX text (`@comment`, `@string` and
    `@preamble` are not entries)."""
    entries: dict[str, str] = {}
    starts = list(_BIB_ENTRY.finditer(bib))
    for i, m in enumerate(starts):
        if m.group(1).lower() in _NOT_ENTRIES:
            continue
        chunk = bib[m.end(): starts[i + 1].start() if i + 1 < len(starts) else len(bib)]
        t = _BIB_TITLE.search(chunk)
        entries[m.group(2)] = re.sub(r"[{}]", "", _field_value(chunk, t.end())).strip() if t else ""
    return entries


def bib_keys(bib: str) -> set[str]:
    """Entry keys of BibTeX text."""
    return set(bib_entries(bib))


def embedded_bibliographies(tex: str) -> list[str]:
    """BibTeX embedded with filecontents (the AI-Scientist templates keep references.bib there)."""
    return [m.group(2) for m in _FILECONTENTS.finditer(tex)]


def bibitem_keys(tex: str) -> set[str]:
    return set(_split_keys(_BIBITEM.findall(strip_comments(tex))))


# ---- running text ----------------------------------------------------------------------
_COMMAND = re.compile(r"\\[a-zA-Z@]+\*?(?:\[[^\]]*\])?")
_MATH = re.compile(r"\$[^$]*\$")


def prose_words(tex: str) -> list[str]:
    """Words of running text: commands, math, braces and environments' names removed."""
    text = strip_comments(tex)
    text = re.sub(r"\\(?:begin|end)\{[^}]*\}", " ", text)
    text = without_citations(text)
    text = re.sub(r"\\(?:label|[a-zA-Z]*ref|includegraphics|bibliography|bibliographystyle|"
                  r"graphicspath|input|include|url|vspace|hspace|usepackage)\*?(?:\[[^\]]*\])?\{[^}]*\}", " ", text)
    text = _MATH.sub(" ", text)
    text = _COMMAND.sub(" ", text)
    text = re.sub(r"[{}\[\]~&\\]", " ", text)
    return [w for w in text.split() if re.search(r"[A-Za-z]", w)]


# ---- tables ----------------------------------------------------------------------------
_TABULAR = re.compile(r"\\begin\{(tabular[x*]?|longtable|array)\}")
_CAPTION = re.compile(r"\\caption\*?\s*(?:\[[^\]]*\])?\s*\{")
_RULES = re.compile(r"\\(?:toprule|midrule|bottomrule|hline|cline\{[^}]*\}|cmidrule(?:\([^)]*\))?\{[^}]*\}"
                    r"|addlinespace(?:\[[^\]]*\])?|endhead|endfirsthead|endfoot|endlastfoot)")
_MULTI = re.compile(r"\\multi(column|row)\s*\{\s*(\d+)\s*\}")


@dataclass(frozen=True)
class TableCell:
    text: str  # the cell's LaTeX; a spanning cell's text is repeated in every column it covers
    row: int
    col: int
    spanned: bool = False  # the text comes from a \multicolumn or \multirow of another position


@dataclass(frozen=True)
class Table:
    rows: list[list[TableCell]]
    header_rows: int  # rows above the first rule after the top (or 1 without rules)
    caption: str = ""
    start: int = 0  # offsets of the tabular in the text it was read from
    end: int = 0

    def header(self, col: int) -> list[str]:
        """The header cells above column `col`, outermost first (a \\multicolumn group, then its own)."""
        return [r[col].text for r in self.rows[:self.header_rows] if col < len(r) and r[col].text.strip()]


def _split_cells(row: str) -> list[str]:
    """A row's cells: `&` outside braces, not escaped."""
    cells, depth, last, i = [], 0, 0, 0
    while i < len(row):
        ch = row[i]
        if ch == "\\":
            i += 2
            continue
        depth += ch == "{"
        depth -= ch == "}"
        if ch == "&" and depth == 0:
            cells.append(row[last:i])
            last = i + 1
        i += 1
    return cells + [row[last:]]


def _split_rows(body: str) -> list[tuple[str, bool]]:
    """(row text, a rule precedes it) for each `\\\\`-ended row of a tabular body."""
    rows, depth, last, i, ruled = [], 0, 0, 0, False
    while i < len(body):
        if body.startswith("\\\\", i) and depth == 0:
            rows.append((body[last:i], ruled))
            i += 2
            while i < len(body) and body[i] in " \t\n*":
                i += 1
            if i < len(body) and body[i] == "[":  # \\[2pt]
                _, i = _balanced(body, i + 1, "[", "]")
            last = i
            continue
        if body[i] == "\\":
            i += 2
            continue
        depth += body[i] == "{"
        depth -= body[i] == "}"
        i += 1
    rows.append((body[last:], ruled))
    out = []
    for text, _ in rows:
        # rules sit between rows, so they open the text of the row below them
        ruled = bool(re.match(r"\s*(?:" + _RULES.pattern + r")", text))
        cleaned = _RULES.sub(" ", text)
        if cleaned.strip():
            out.append((cleaned, ruled))
    return out


def _spanning(cell: str) -> tuple[str, str | None, int]:
    """(inner text, 'column'/'row'/None, span) of a cell written as \\multicolumn / \\multirow."""
    m = _MULTI.match(cell.strip())
    if not m:
        return cell, None, 1
    rest = cell.strip()[m.end():]
    # \multicolumn{n}{spec}{text}; \multirow{n}[vmove]{width}[fixup]{text}
    groups, i = [], 0
    while i < len(rest) and len(groups) < (2 if m.group(1) == "column" else 2):
        while i < len(rest) and rest[i] in " \t\n":
            i += 1
        if i < len(rest) and rest[i] == "[":
            _, i = _balanced(rest, i + 1, "[", "]")
            continue
        if i < len(rest) and rest[i] == "{":
            inner, i = _balanced(rest, i + 1)
            groups.append(inner)
            continue
        break
    text = groups[-1] if len(groups) == 2 else rest
    return text, m.group(1), int(m.group(2))


def _table_rows(body: str) -> tuple[list[list[TableCell]], int]:
    raw = _split_rows(body)
    rows: list[list[TableCell]] = []
    pending: dict[int, tuple[str, int]] = {}  # column -> (\multirow text, rows still covered)
    header_rows = 0
    for r, (text, ruled) in enumerate(raw):
        if ruled and rows and not header_rows:
            header_rows = len(rows)  # the first rule below a row ends the header
        cells: list[TableCell] = []
        for cell in _split_cells(text):
            col = len(cells)
            inner, kind, span = _spanning(cell)
            if not inner.strip() and col in pending:  # the empty cell under a \multirow
                carried, left = pending[col]
                cells.append(TableCell(carried, r, col, spanned=True))
                pending[col] = (carried, left - 1)
                if left - 1 <= 0:
                    del pending[col]
                continue
            if kind == "row" and span > 1:
                pending[col] = (inner.strip(), span - 1)
            cells.append(TableCell(inner.strip(), r, col))
            for extra in range(1, span if kind == "column" else 1):
                cells.append(TableCell(inner.strip(), r, col + extra, spanned=True))
        rows.append(cells)
    return rows, header_rows or min(1, len(rows))


def tables(tex: str) -> list[Table]:
    """Every tabular of `tex` (comments removed by the caller), its cells laid out by column with
    \\multicolumn and \\multirow spans expanded, its header rows and the caption of its float."""
    out = []
    for m in _TABULAR.finditer(tex):
        name = m.group(1)
        end = tex.find(f"\\end{{{name}}}", m.end())
        end = len(tex) if end < 0 else end
        i = m.end()
        # the column spec: tabular [pos]{spec}; tabularx/tabular* {width}{spec}; longtable [pos]{spec}
        groups = 2 if name in ("tabularx", "tabular*") else 1
        while i < end and groups:
            while i < end and tex[i] in " \t\n":
                i += 1
            if i < end and tex[i] == "[":
                _, i = _balanced(tex, i + 1, "[", "]")
            elif i < end and tex[i] == "{":
                _, i = _balanced(tex, i + 1)
                groups -= 1
            else:
                break
        rows, header_rows = _table_rows(tex[i:end])
        float_start = max(tex.rfind("\\begin{table", 0, m.start()), tex.rfind("\\end{table", 0, m.start()))
        float_end = tex.find("\\end{table", end)
        caption = ""
        if float_start >= 0 and tex.startswith("\\begin{table", float_start):
            span = tex[float_start:float_end if float_end >= 0 else len(tex)]
            c = _CAPTION.search(span)
            if c:
                caption, _ = _balanced(span, c.end())
        out.append(Table(rows=rows, header_rows=header_rows, caption=caption, start=m.start(),
                         end=end + len(f"\\end{{{name}}}")))
    return out
