"""Just enough LaTeX reading for validity checks: comments, sections, labels, references,
citations, figures and BibTeX keys. Regular expressions over the source, no TeX engine."""
from __future__ import annotations

import re
from dataclasses import dataclass

_COMMENT = re.compile(r"(?<!\\)%.*")
_SECTION = re.compile(r"\\section\*?\s*(?:\[[^\]]*\])?\s*\{")
_BEGIN_DOC = re.compile(r"\\begin\{document\}")
_END_DOC = re.compile(r"\\end\{document\}")
_LABEL = re.compile(r"\\label\s*\{([^}]*)\}")
_REF = re.compile(r"\\(?:ref|eqref|autoref|cref|Cref|pageref|vref|nameref)\*?\s*\{([^}]*)\}")
_CITE = re.compile(r"\\(?:no)?cite[a-zA-Z]*\*?\s*(?:\[[^\]]*\]\s*){0,2}\{([^}]*)\}")
_INCLUDEGRAPHICS = re.compile(r"\\includegraphics\s*(?:\[[^\]]*\])?\s*\{([^}]*)\}")
_FIGURE_ENV = re.compile(r"\\begin\{(figure\*?|subfigure)\}(.*?)\\end\{\1\}", re.S)
_BIB_ENTRY = re.compile(r"@\s*([a-zA-Z]+)\s*[{(]\s*([^,\s]+)\s*,")
_BIBITEM = re.compile(r"\\bibitem\s*(?:\[[^\]]*\])?\s*\{([^}]*)\}")
_FILECONTENTS = re.compile(
    r"\\begin\{filecontents\*?\}\s*(?:\[[^\]]*\])?\s*\{([^}]*)\}(.*?)\\end\{filecontents\*?\}", re.S
)


# The templates' section slots (scientist/templates/README.md): "%% BEGIN SECTION: Name" ...
# "%% END SECTION: Name"; the text between them in the template is a placeholder.
_SLOT = re.compile(
    r"^[ \t]*%+[ \t]*BEGIN SECTION:[ \t]*(?P<name>[^\n]+?)[ \t]*\n(?P<body>.*?)"
    r"^[ \t]*%+[ \t]*END SECTION:[ \t]*(?P=name)[ \t]*$",
    re.MULTILINE | re.DOTALL,
)


def slots(tex: str) -> dict[str, str]:
    """Section slots of a template (or of a paper filled from one): name -> body."""
    return {m.group("name"): m.group("body") for m in _SLOT.finditer(tex)}


@dataclass(frozen=True)
class Section:
    title: str
    body: str  # up to the next \section (subsections included)


def strip_comments(tex: str) -> str:
    """Drop `%` comments (but keep escaped `\\%`)."""
    return "\n".join(_COMMENT.sub("", line) for line in tex.splitlines())


def _balanced(text: str, start: int) -> tuple[str, int]:
    """The text inside the brace group opening just before `start`, and the index after it."""
    depth, i = 1, start
    while i < len(text) and depth:
        if text[i] == "\\":
            i += 2
            continue
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        i += 1
    return text[start:i - 1], i


def document_body(tex: str) -> str:
    """What lies between \\begin{document} and \\end{document} (the whole text if absent)."""
    begin = _BEGIN_DOC.search(tex)
    body = tex[begin.end():] if begin else tex
    end = _END_DOC.search(body)
    return body[:end.start()] if end else body


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


def _split_keys(groups: list[str]) -> list[str]:
    return [k.strip() for g in groups for k in g.split(",") if k.strip()]


def labels(tex: str) -> set[str]:
    return set(_split_keys(_LABEL.findall(strip_comments(tex))))


def references(tex: str) -> list[str]:
    return _split_keys(_REF.findall(strip_comments(tex)))


def citations(tex: str) -> list[str]:
    return _split_keys(_CITE.findall(document_body(strip_comments(tex))))


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


def bib_keys(bib: str) -> set[str]:
    """Entry keys of BibTeX text (`@comment`, `@string` and `@preamble` are not entries)."""
    return {key for kind, key in _BIB_ENTRY.findall(bib)
            if kind.lower() not in {"comment", "string", "preamble"}}


def embedded_bibliographies(tex: str) -> list[str]:
    """BibTeX embedded with filecontents (the AI-Scientist templates keep references.bib there)."""
    return [m.group(2) for m in _FILECONTENTS.finditer(tex)]


def bibitem_keys(tex: str) -> set[str]:
    return set(_split_keys(_BIBITEM.findall(strip_comments(tex))))


_COMMAND = re.compile(r"\\[a-zA-Z@]+\*?(?:\[[^\]]*\])?")
_MATH = re.compile(r"\$[^$]*\$")


def prose_words(tex: str) -> list[str]:
    """Words of running text: commands, math, braces and environments' names removed."""
    text = strip_comments(tex)
    text = re.sub(r"\\(?:begin|end)\{[^}]*\}", " ", text)
    text = re.sub(r"\\(?:label|[a-zA-Z]*ref|cite[a-zA-Z]*|includegraphics|bibliography|bibliographystyle|"
                  r"graphicspath|input|include|url|vspace|hspace|usepackage)\*?(?:\[[^\]]*\])?\{[^}]*\}", " ", text)
    text = _MATH.sub(" ", text)
    text = _COMMAND.sub(" ", text)
    text = re.sub(r"[{}\[\]~&\\]", " ", text)
    return [w for w in text.split() if re.search(r"[A-Za-z]", w)]
