"""The section slots of a template's latex/template.tex, and filling them.

Convention (scientist/templates/README.md): each part the pipeline writes sits between two
comment lines,

    %% BEGIN SECTION: Introduction
    placeholder text
    %% END SECTION: Introduction

and everything outside the slots (preamble, figures the template provides, bibliography
commands) is left as the template wrote it.
"""
from __future__ import annotations

import re

SLOT = re.compile(
    r"^(?P<begin>[ \t]*%+[ \t]*BEGIN SECTION:[ \t]*(?P<name>[^\n]+?)[ \t]*)\n"
    r"(?P<body>.*?)"
    r"^(?P<end>[ \t]*%+[ \t]*END SECTION:[ \t]*(?P=name)[ \t]*)$",
    re.MULTILINE | re.DOTALL,
)
FORBIDDEN = re.compile(
    r"^[ \t]*\\(documentclass|usepackage|begin\{document\}|end\{document\}|input|include|bibliography|bibliographystyle)(?![a-zA-Z]).*$",
    re.MULTILINE,
)
FENCE = re.compile(r"```(?:latex|tex|LaTeX)?[ \t]*\n(.*?)```", re.DOTALL)


def section_names(tex: str) -> list[str]:
    """The slots of a template, in document order."""
    return [m.group("name") for m in SLOT.finditer(tex)]


def section_body(tex: str, name: str) -> str | None:
    for m in SLOT.finditer(tex):
        if m.group("name") == name:
            return m.group("body")
    return None


def fill_section(tex: str, name: str, body: str) -> str:
    """`tex` with the slot `name` holding `body` (markers kept, so a slot can be filled again)."""
    for m in SLOT.finditer(tex):
        if m.group("name") == name:
            text = body.rstrip("\n") + "\n"
            return tex[:m.start("body")] + text + tex[m.end("body"):]
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
    return FORBIDDEN.sub("", text).strip()
