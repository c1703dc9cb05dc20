"""Anonymization: every version of a paper (anonymous submission, camera-ready, preprint) comes out
in the same neutral form, so the text a reviewer sees carries no trace of which version it was.

Why: a camera-ready paper has author names, affiliations, emails, a "Published as" header,
acknowledgements, non-anonymous code links and an extra page; the submission has "Anonymous
authors / Paper under double-blind review" instead. Those differences give the decision away
(see `reviewer/eval/audit.py`). The rules below are general properties of the two kinds of
document, never facts about particular files:

* front matter: the title stays; everything between it and the abstract (author block,
  anonymity line, affiliations, emails) goes;
* venue header/footer lines ("Published as a conference paper at ...", "Under review as ...",
  "Preprint", "Proceedings of ...") go wherever they appear;
* acknowledgement, funding and author-contribution sections go, as do run-in paragraphs that
  open with "Acknowledgements." or "This work was supported by ...";
* author footnotes ("Equal contribution", "Work done while at ...", "Corresponding author")
  and sentences about the review process itself ("upon acceptance", "for the reviewers",
  "anonymized repository", "double-blind") go;
* every URL becomes the same token `[link]`, anonymous or not; emails go;
* the main body ends at the references: references and appendices go, and the body is cut to a
  fixed word budget (beginning and end kept), with the cut marked in the text.

`anonymize_text` returns the neutral text and a record of every removal.
"""
from __future__ import annotations

import re

from pydantic import BaseModel, Field

# A conference main body (8-10 pages) runs to some 5,000-7,000 words of extractable text; cutting
# every paper to a budget below that makes the length the reviewer sees the same for (nearly)
# every paper, whichever version it is. The end of the body (conclusions) is kept too.
MAIN_BODY_WORDS = 4500
TAIL_FRACTION = 0.2
LINK_TOKEN = "[link]"
CUT_MARK = "[... part of the main body cut to a fixed length for review ...]"
END_MARK = "[references and appendices not shown]"
EXCERPT_CHARS = 120

RemovalKind = str  # "front_matter" | "venue_line" | "acknowledgements" | "author_note" | ...


class Removal(BaseModel):
    kind: RemovalKind
    chars: int
    excerpt: str = ""


class AnonymizedText(BaseModel):
    """The neutral text and what was taken out of the original to get it."""

    text: str
    original_chars: int
    removals: list[Removal] = Field(default_factory=list)
    body_words: int = 0  # main-body words before the length cut
    truncated: bool = False

    def removed_chars(self, kind: str | None = None) -> int:
        return sum(r.chars for r in self.removals if kind is None or r.kind == kind)

    def summary(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for removal in self.removals:
            out[removal.kind] = out.get(removal.kind, 0) + 1
        return out


# ---------------------------------------------------------------- patterns (general, not per file)
_FLAGS = re.IGNORECASE | re.MULTILINE
_WRAP = r"[\s#*_>|\[\]()]*"  # markdown wrappers around a heading: '#', '**', '_', brackets
_NUM = r"(?:(?:[A-Z]|\d+)(?:\.\d+)*\.?\s+)?"  # "7 ", "A.1 ", "8. "

ABSTRACT_HEADING = re.compile(rf"^{_WRAP}{_NUM}abstract{_WRAP}[.:]?{_WRAP}$", _FLAGS)
# A run-in "Abstract: text..." or "Abstract—text" opening line, when there is no heading line.
ABSTRACT_RUN_IN = re.compile(rf"^{_WRAP}abstract{_WRAP}\s*[.:—–-]\s*\S", _FLAGS)
REFERENCES_HEADING = re.compile(rf"^{_WRAP}{_NUM}(references|bibliography|references and notes|literature cited){_WRAP}$", _FLAGS)
ACK_HEADING = re.compile(
    rf"^{_WRAP}{_NUM}(acknowledge?ments?|acknowledge?ment of funding|funding( statement| information| acknowledge?ments?)?|"
    rf"financial (support|disclosure)|disclosure of funding|author contributions?|contributions|"
    rf"acknowledge?ments? and (disclosure of )?funding)"
    rf"{_WRAP}[.:]?{_WRAP}$", _FLAGS)
# A paragraph opening with the word itself ("Acknowledgements. We thank", "**Acknowledgement** This work").
ACK_RUN_IN = re.compile(rf"^{_WRAP}(acknowledge?ments?|funding)(?![A-Za-z])", _FLAGS)
FUNDING_OPENING = re.compile(
    r"^\W*(this (work|research|project|material|paper|study) (is|was|has been|were)\s+(\w+\s+){0,3}?"
    r"(supported|funded|sponsored|financed)|we (also |would like to |wish to |gratefully |sincerely )*"
    r"(thank|acknowledge|are (grateful|thankful|indebted))|the authors? (would like to |wish to )?"
    r"(thank|acknowledge|(is|are) grateful)|[A-Z]\.\s?[A-Z]\.? (is|was) (supported|funded))", re.IGNORECASE)
_VENUES = (r"ICLR|NeurIPS|NIPS|ICML|AAAI|IJCAI|CVPR|ICCV|ECCV|ACL|EMNLP|NAACL|AISTATS|UAI|COLT|KDD|TMLR|JMLR|"
           r"conference|workshop|proceedings|symposium|journal")
# The start of a venue header/footer or anonymity line; on a short line the whole line goes, inside a
# longer line the phrase up to the venue's year (or name) goes.
VENUE_LINE = re.compile(
    rf"(?<![A-Za-z])(published|accepted|presented|appearing|appears|to appear)\s+(as|at|in)\b[^\n]{{0,60}}?\b({_VENUES})\b"
    rf"|\bunder\s+review\s+(as|at|for)\b[^\n]{{0,60}}?\b({_VENUES}|paper)\b"
    r"|\bpreprint\.?\s+(under review|work in progress)"
    r"|\bproceedings of the\b[^\n]{0,120}?\b(conference|workshop|symposium)\b"
    r"|\bcopyright\s+(\(c\)|©)?\s*(19|20)\d\d\b"
    r"|\bpaper under double[- ]blind review"
    r"|\banonymous\s+(author\(?s?\)?|submission|institution|affiliation)",
    re.IGNORECASE)
_VENUE_TAIL = re.compile(r"^[^\n]{0,60}?\b(19|20)\d\d\b|^[^\n]{0,40}?\b(ICLR|NeurIPS|ICML|AAAI|CVPR|ACL)\b", re.IGNORECASE)
SHORT_LINE = 160
# Keywords whose whole sentence goes (an author footnote, a remark about the review process, a
# statement that code or data are (or will be) available). Patterns carry no unbounded run before
# the keyword: sentences are found around each match, so a long line without full stops costs
# linear time. Edges are letter-boundaries, not \\b, since markdown italics put '_' (a word
# character) right beside the words.
_B, _E = r"(?<![A-Za-z])", r"(?![A-Za-z])"
AUTHOR_NOTE = re.compile(
    rf"{_B}(equal(ly)? contribut(ion|ions|ed|ing)|contributed equally|(work|research) (was |were )?(done|performed|carried out|conducted) "
    rf"(while|during|when|as|at)|corresponding authors?|correspondence to|now (at|with) [A-Z]|on leave from|"
    rf"first authors? (made|contributed))(?![a-z])",
    re.IGNORECASE)
REVIEW_PROCESS = re.compile(
    rf"{_B}(upon (acceptance|publication)|after (the )?(review|acceptance|publication)|camera[- ]ready|"
    rf"for (the )?(review|reviewing) (process|purposes?|period)|during (the )?review|double[- ]blind|anonymi[sz]ed|"
    rf"anonymous (repository|github|link|code|url|version)|(the|our|anonymous|all|several|some|one) reviewers?{_E}|"
    rf"reviewers?'|rebuttal|de-?anonymi[sz])",
    re.IGNORECASE)
CODE_STATEMENT = re.compile(
    rf"{_B}((source )?code|implementation|models?|data ?sets?|data|checkpoints?|software|scripts?)[^.\n]{{0,60}}?"
    rf"{_B}(is|are|will be|has been|have been|can be|to be|shall be)\s+(made\s+)?(publicly\s+|freely\s+|openly\s+)?"
    rf"(available|released|open[- ]sourced|accessible|found|accessed){_E}"
    rf"|{_B}we (will )?(publicly )?(release|open[- ]source|make available|share) (our|the|all)\s",
    re.IGNORECASE)
SENTENCE_REACH = 400  # characters searched either side of a keyword for the sentence's ends
URL = re.compile(
    r"(?:https?://|ftp://|www\.)[^\s<>\"'\])}]{1,400}"
    r"|\b(?:[a-z0-9-]{1,63}\.){1,6}(?:com|org|net|io|edu|ai|science|dev|me|page|site)\b(?:/[^\s<>\"'\])}]{0,400})?",
    re.IGNORECASE)
EMAIL = re.compile(r"\{[^{}\n]{1,300}\}\s{0,2}@\s{0,2}[\w-]{1,63}(?:\.[\w-]{1,63}){1,8}"
                   r"|[\w.+-]{1,64}\s{0,2}@\s{0,2}[\w-]{1,63}(?:\.[\w-]{1,63}){1,8}")
EMAIL_WINDOW = 320  # an address's local part or {a, b} group starts at most this far before its '@'
# A URL that PDF extraction broke over a line end ("https://github." / "com/user/repo"), and the
# host-less remainder such a break leaves ("com/user/repo").
URL_LINE_BREAK = re.compile(r"((?:https?://|www\.)[^\s<>\"']{0,200}[./_-])[ \t]*\n[ \t]*(?=[\w/~%])", re.IGNORECASE)
URL_REMAINDER = re.compile(r"(?<![\w.@-])(?:com|org|net|io|edu|ai)/[\w./~%#?=&+-]{2,300}", re.IGNORECASE)
# Affiliation lines outside the front matter: footnotes ("∗Duke University, USA") and the lines of
# an author block that the layout put elsewhere ("Carnegie Mellon University").
AFFILIATION = re.compile(
    rf"{_B}(universit(y|ies|é|ät|at|à|a)|institute|institut|laborator(y|ies)|college|school of|department of|dept\.|"
    rf"research (lab|labs|center|centre|institute)|academy of sciences|polytechni)", re.IGNORECASE)
FOOTNOTE_MARK = re.compile(r"^[\s_*\[]*([∗*†‡§¶]|\d{1,2}(?=[A-Z]))")
AFFILIATION_LINE_WORDS = 14
# A heading line: markdown '#', a short fully bold line, or a short line in capitals (ICLR, NeurIPS,
# ICML style), optionally numbered.
_CAPS_HEADING = re.compile(r"^\s*(?:[A-Z]|\d+)(?:\.\d+)*\.?\s+[A-Z][A-Z0-9 ,:;&'()\-–—/]{2,}$")
_BOLD_HEADING = re.compile(r"^\s*\*\*[^*]{2,80}\*\*\s*$")


def is_heading(line: str) -> bool:
    stripped = line.strip()
    if not stripped or len(stripped) > 120:
        return False
    if stripped.startswith("#"):
        return True
    if _BOLD_HEADING.match(stripped) or _CAPS_HEADING.match(stripped):
        return True
    letters = [c for c in stripped if c.isalpha()]
    return len(letters) >= 4 and all(c.isupper() for c in letters) and not stripped.endswith(".")


def _excerpt(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= EXCERPT_CHARS else text[:EXCERPT_CHARS - 1] + "…"


class _Recorder:
    def __init__(self) -> None:
        self.removals: list[Removal] = []

    def sub(self, pattern: re.Pattern[str], text: str, kind: str, replacement: str = "") -> str:
        def repl(match: re.Match[str]) -> str:
            self.removals.append(Removal(kind=kind, chars=len(match.group(0)), excerpt=_excerpt(match.group(0))))
            return replacement

        return pattern.sub(repl, text)

    def cut(self, kind: str, removed: str) -> None:
        if removed.strip():
            self.removals.append(Removal(kind=kind, chars=len(removed), excerpt=_excerpt(removed)))


# ---------------------------------------------------------------- steps
def clean_characters(text: str) -> str:
    """NULs and other control characters from PDF extraction; line endings unified."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", "", text)


def split_front_matter(text: str) -> tuple[str, str, str]:
    """(title, front matter removed, rest from the abstract on). Without an abstract heading the
    front matter is the run of author-like lines after the title, at most the first 40 lines."""
    lines = text.split("\n")
    match = ABSTRACT_HEADING.search(text) or ABSTRACT_RUN_IN.search(text)
    if match and match.start() < max(6000, len(text) // 4):
        head, rest = text[:match.start()], text[match.start():]
    else:
        head_lines: list[str] = []
        for i, line in enumerate(lines[:40]):
            if i > 0 and _is_body_paragraph(line):
                break
            head_lines.append(line)
        head = "\n".join(head_lines)
        rest = text[len(head):]
    title = _title_lines(head)
    removed = head
    for line in title:
        removed = removed.replace(line, "", 1)
    return "\n".join(title), removed, rest


def _is_body_paragraph(line: str) -> bool:
    stripped = line.strip()
    return len(stripped) > 150 and stripped.count(" ") > 20 and "@" not in stripped


def _title_lines(head: str) -> list[str]:
    """Markdown heading lines of the front matter (the title), else its first non-empty line."""
    lines = [ln for ln in head.split("\n") if ln.strip()]
    headings = [ln for ln in lines if ln.lstrip().startswith("#") and not EMAIL.search(ln)
                and not VENUE_LINE.search(ln)]
    if headings:
        return headings
    for line in lines:
        if not VENUE_LINE.search(line) and not EMAIL.search(line) and len(line.strip()) > 3:
            return [line]
    return []


ACK_SECTION_MAX_WORDS = 400  # past this, a section without a next heading ends at its next blank line


def _title_line(lines: list[str], i: int) -> bool:
    """A short Title Case line standing alone ("Ethics Statement"): a heading in templates that
    do not use capitals or markdown."""
    line = lines[i].strip()
    blank_before = i == 0 or not lines[i - 1].strip()
    blank_after = i == len(lines) - 1 or not lines[i + 1].strip()
    return (blank_before and blank_after and 0 < len(line.split()) <= 8 and not line.endswith(".")
            and _is_name_line(line))


def remove_sections(text: str, heading: re.Pattern[str], kind: str, rec: _Recorder) -> str:
    """Drop each section whose heading matches, up to the next heading line (or, for a section
    without one, the first blank line after ACK_SECTION_MAX_WORDS words)."""
    lines = text.split("\n")
    out, skipping, words = [], False, 0
    removed: list[str] = []
    for i, line in enumerate(lines):
        if heading.match(line):
            skipping, words = True, 0
            removed.append(line)
            continue
        if skipping and not heading.match(line) and (
                is_heading(line) or _title_line(lines, i) or (not line.strip() and words >= ACK_SECTION_MAX_WORDS)):
            skipping = False
            rec.cut(kind, "\n".join(removed))
            removed = []
        if skipping:
            removed.append(line)
            words += len(line.split())
        else:
            out.append(line)
    if removed:
        rec.cut(kind, "\n".join(removed))
    return "\n".join(out)


_NAME_PARTICLES = {"of", "and", "for", "the", "de", "la", "le", "du", "des", "di", "der", "und", "at", "in", "y", "e"}


def _is_name_line(line: str) -> bool:
    """A line of proper names ("School of Computer Science, Carnegie Mellon University"), not a
    sentence: no lowercase word but particles."""
    words = re.findall(r"[^\W\d_][\w'’-]*", line)
    return bool(words) and all(w[0].isupper() or w.lower() in _NAME_PARTICLES for w in words)


def remove_affiliation_lines(text: str, rec: _Recorder) -> str:
    """Short lines naming an institution that stand alone (blank or removed lines around them) or
    open with a footnote mark; an institution mentioned inside a paragraph stays."""
    lines = text.split("\n")

    def candidate(i: int) -> bool:
        line = lines[i]
        return 0 < len(line.split()) <= AFFILIATION_LINE_WORDS and bool(AFFILIATION.search(line))

    flags = [candidate(i) for i in range(len(lines))]
    drop = [False] * len(lines)
    for i, flag in enumerate(flags):
        if not flag:
            continue
        if FOOTNOTE_MARK.match(lines[i]):
            drop[i] = True
            continue
        before = i == 0 or not lines[i - 1].strip() or flags[i - 1]
        after = i == len(lines) - 1 or not lines[i + 1].strip() or flags[i + 1]
        drop[i] = before and after and _is_name_line(lines[i])
    for i in range(len(lines)):
        if drop[i]:
            rec.cut("affiliation", lines[i])
    return "\n".join(line for line, d in zip(lines, drop) if not d)


def remove_emails(text: str, rec: _Recorder) -> str:
    """Email addresses (and `{a, b}@host` groups), matched only in a window around each '@'."""
    spans: list[tuple[int, int]] = []
    at = text.find("@")
    while at >= 0:
        lo = max(spans[-1][1] if spans else 0, at - EMAIL_WINDOW)
        match = None
        for candidate in EMAIL.finditer(text, lo, min(len(text), at + EMAIL_WINDOW)):
            if candidate.start() <= at < candidate.end():
                match = candidate
                break
        if match:
            spans.append((match.start(), match.end()))
            at = text.find("@", match.end())
        else:
            at = text.find("@", at + 1)
    out, last = [], 0
    for start, end in spans:
        out.append(text[last:start])
        rec.cut("email", text[start:end])
        last = end
    out.append(text[last:])
    return "".join(out)


def remove_sentences(text: str, keyword: re.Pattern[str], kind: str, rec: _Recorder) -> str:
    """Drop the sentence around each keyword match (bounded by '.', a line break or SENTENCE_REACH)."""
    spans: list[tuple[int, int]] = []
    for match in keyword.finditer(text):
        if spans and match.start() < spans[-1][1]:
            continue
        lo = max(0, match.start() - SENTENCE_REACH)
        start = max(text.rfind(".", lo, match.start()), text.rfind("\n", lo, match.start()))
        start = lo if start < 0 and lo > 0 else start + 1
        hi = min(len(text), match.end() + SENTENCE_REACH)
        ends = [i for i in (text.find(".", match.end(), hi), text.find("\n", match.end(), hi)) if i >= 0]
        end = min(ends) + 1 if ends else hi
        if end <= len(text) and text[end - 1:end] == "\n":
            end -= 1  # keep the line break
        spans.append((start, end))
    if not spans:
        return text
    out, last = [], 0
    for start, end in spans:
        out.append(text[last:start])
        rec.cut(kind, text[start:end])
        last = end
    out.append(text[last:])
    return "".join(out)


def remove_venue_lines(text: str, rec: _Recorder) -> str:
    out = []
    for line in text.split("\n"):
        match = VENUE_LINE.search(line)
        if match is None:
            out.append(line)
        elif len(line.strip()) <= SHORT_LINE:
            rec.cut("venue_line", line)
        else:
            end = match.end()
            if tail := _VENUE_TAIL.match(line[end:]):
                end += tail.end()
            rec.cut("venue_line", line[match.start():end])
            out.append(line[:match.start()] + line[end:])
    return "\n".join(out)


def remove_paragraphs(text: str, rec: _Recorder) -> str:
    """Run-in acknowledgement paragraphs and funding statements, wherever they are."""
    paragraphs = re.split(r"(\n\s*\n)", text)
    out = []
    for part in paragraphs:
        if part.strip() and (ACK_RUN_IN.match(part.strip()) or FUNDING_OPENING.match(part.strip())
                             and re.search(r"\b(support|fund|grant|thank|grateful|award|fellowship|sponsor)", part,
                                           re.IGNORECASE)):
            rec.cut("acknowledgements", part)
            continue
        out.append(part)
    return "".join(out)


def split_references(text: str) -> tuple[str, str]:
    """(main body, references and everything after). The last references heading in the second
    half of the text ends the body; the appendix after it goes with it."""
    matches = [m for m in REFERENCES_HEADING.finditer(text) if m.start() > len(text) * 0.3]
    if not matches:
        return text, ""
    cut = matches[0].start()
    return text[:cut], text[cut:]


def _first_words(lines: list[str], budget: int) -> tuple[list[str], int]:
    """The leading lines holding `budget` words (the last one cut inside when needed), and how
    many lines were used whole or in part."""
    kept, used = [], 0
    for i, line in enumerate(lines):
        words = line.split()
        if used + len(words) <= budget:
            kept.append(line)
            used += len(words)
            continue
        if budget - used > 0:
            kept.append(" ".join(words[:budget - used]))
        return kept, i + 1
    return kept, len(lines)


def normalize_length(body: str, max_words: int, rec: _Recorder) -> tuple[str, int, bool]:
    """The body cut to `max_words` words: the first (1 - TAIL_FRACTION) and the last TAIL_FRACTION,
    with the cut marked. Cuts fall between words, so every paper above the budget keeps the same
    number of words however its lines are broken."""
    words = body.split()
    if len(words) <= max_words:
        return body, len(words), False
    lines = body.split("\n")
    tail_budget = int(max_words * TAIL_FRACTION)
    head, _ = _first_words(lines, max_words - tail_budget)
    tail_reversed, _ = _first_words([" ".join(reversed(line.split())) if line.strip() else line
                                     for line in reversed(lines)], tail_budget)
    tail = [" ".join(reversed(line.split())) if line.strip() else line for line in reversed(tail_reversed)]
    rec.cut("length_cut", " ".join(words[len(" ".join(head).split()):len(words) - len(" ".join(tail).split())]))
    return "\n".join(head + ["", CUT_MARK, ""] + tail), len(words), True


def anonymize_text(text: str, *, max_words: int | None = MAIN_BODY_WORDS, keep_references: bool = False) -> AnonymizedText:
    """The paper in neutral form. `max_words=None` keeps the whole main body."""
    original = len(text)
    rec = _Recorder()
    text = clean_characters(text)
    title, front, rest = split_front_matter(text)
    rec.cut("front_matter", front)
    body, tail = split_references(rest)
    if not keep_references:
        rec.cut("references_and_appendices", tail)
    body = remove_sections(body, ACK_HEADING, "acknowledgements", rec)
    body = remove_paragraphs(body, rec)
    body = remove_venue_lines(body, rec)
    body = remove_emails(body, rec)
    body = remove_affiliation_lines(body, rec)
    body = remove_sentences(body, AUTHOR_NOTE, "author_note", rec)
    body = remove_sentences(body, REVIEW_PROCESS, "review_process", rec)
    body = remove_sentences(body, CODE_STATEMENT, "code_statement", rec)
    # A sentence pointing at a URL (code, project page, dataset) goes whole: the number of links
    # differs between versions (camera-ready papers add code and project links).
    body = URL_LINE_BREAK.sub(r"\1", body)
    body = remove_sentences(body, URL, "link", rec)
    body = remove_sentences(body, URL_REMAINDER, "link", rec)
    body = re.sub(r"\n{3,}", "\n\n", body).strip()
    body_words = len(body.split())
    truncated = False
    if max_words is not None:
        body, body_words, truncated = normalize_length(body, max_words, rec)
    parts = [title.strip(), body]
    if keep_references and tail:
        parts.append(rec.sub(URL, remove_emails(tail, rec), "link", LINK_TOKEN))
    elif tail.strip():
        parts.append(END_MARK)
    return AnonymizedText(text="\n\n".join(p for p in parts if p) + "\n", original_chars=original,
                          removals=rec.removals, body_words=body_words, truncated=truncated)
