"""The section slots of a template's latex/template.tex, and filling them.

Two kinds of skeleton (scientist/templates/README.md): ours marks each part the pipeline
writes with two comment lines,

    %% BEGIN SECTION: Introduction
    placeholder text
    %% END SECTION: Introduction

and the AI Scientist's has plain `\\section{Introduction}` headings with a placeholder body
(`INTRO HERE`), `\\title{TITLE HERE}` and an abstract environment. Both are read by
scientist.latex.source; everything outside the slots (preamble, headings, labels,
bibliography commands) is left as the template wrote it.
"""
from __future__ import annotations

import re

from scientist.latex.source import find_slots, replace_slot

FORBIDDEN = re.compile(
    r"^[ \t]*\\(documentclass|usepackage|begin\{document\}|end\{document\}|input|include|bibliography|bibliographystyle)(?![a-zA-Z]).*$",
    re.MULTILINE,
)
FENCE = re.compile(r"```(?:latex|tex|LaTeX)?[ \t]*\n(.*?)```", re.DOTALL)


def section_names(tex: str) -> list[str]:
    """The slots of a template, in document order."""
    return [s.name for s in find_slots(tex)]


def section_body(tex: str, name: str) -> str | None:
    return next((s.body for s in find_slots(tex) if s.name == name), None)


def fill_section(tex: str, name: str, body: str) -> str:
    """`tex` with the slot `name` holding `body` (markers and headings kept, so a slot can be
    filled again)."""
    for slot in find_slots(tex):
        if slot.name == name:
            return replace_slot(tex, slot, body)
    raise KeyError(f"no section slot named {name!r}")


def latex_escape(text: str) -> str:
    """Plain text (e.g. a title) made safe for LaTeX."""
    table = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
             "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}
    return "".join(table.get(ch, ch) for ch in text)


def clean_section(reply: str, name: str) -> str:
    """The LaTeX body in a model's reply: the fenced block if any, without a repeated heading
    and without anything that belongs to the preamble or would end the document early."""
    blocks = FENCE.findall(reply)
    text = max(blocks, key=len) if blocks else reply.replace("```", "")
    text = text.strip()
    heading = re.compile(r"^\\(sub)*section\*?\{" + re.escape(name) + r"\}[ \t]*(\\label\{[^}]*\})?[ \t]*\n?",
                         re.IGNORECASE)
    text = heading.sub("", text, count=1)
    if name.lower() == "abstract":
        text = re.sub(r"\\(begin|end)\{abstract\}", "", text)
    # a slot's body holds no top-level heading: one would split the slot in a heading skeleton
    text = re.sub(r"\\section(?=[*{\[\s])", r"\\subsection", text)
    return FORBIDDEN.sub("", text).strip()
