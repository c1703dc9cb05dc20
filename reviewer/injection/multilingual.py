"""Instructions to the reviewing system in any of nine languages, visible or not, split or not.

A paper may *discuss* reviewers, LLM judges and prompt injection; what it may not do is ask the
system that reads it for something. So a sentence is flagged only for a combination of signals
(`reviewer.injection.lexicon`), never for topic words:

* `override_instructions`: an override of earlier instructions ("ignore all previous instructions",
  "Ignorieren Sie alle vorherigen Anweisungen", "忽略之前的所有指令") made as a request;
* `favour_request`: a request (please, an imperative, "we would be grateful", "bitte", "veuillez",
  "请", "ください") for a favourable outcome (acceptance, a high score, praise, silence about
  weaknesses) about *this paper* or addressed to a reviewer/AI/automated assessment system;
* `acceptance_obligation`: "this paper should be accepted", "diese Arbeit verdient eine hohe Bewertung";
* `addressed_to_reviewing_system`: a note addressed to the system ("Note to automated assessment systems",
  "Hinweis für KI-Gutachter", "致审稿人") that asks for an evaluation or a favour.

An instruction in quotation marks inside a sentence that reports it as an example or an attack
("payloads such as 'ignore previous instructions'") is a mention, not a use.

Sentences are cut at terminal punctuation only: line breaks, PDF column breaks and hyphenation
(joined by `NormalisedText`) never hide a sentence's second half. Every regex has bounded gaps and
no nested quantifiers, and long runs without punctuation are cut into bounded windows, so a scan
is linear in the text's length.
"""
from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

from reviewer.injection import lexicon as L
from reviewer.injection.anchored import AnchoredPattern, shared_starts

_FLAGS = re.MULTILINE  # no IGNORECASE: see `_Flat`


def _rx(parts: list[str]) -> re.Pattern[str]:
    return re.compile(L.alternation(parts), _FLAGS)


_VERB = L.alternation(L.OVERRIDE_VERB)
_NOUN = L.alternation(L.OVERRIDE_NOUN)
OVERRIDE = re.compile(f"{_VERB}{L.G}{_NOUN}|{_NOUN}{L.G}{_VERB}", _FLAGS)
PRIOR = _rx(L.OVERRIDE_PRIOR)
POSITIVE = _rx(L.POSITIVE)
DIRECT = _rx(L.DIRECT_ADDRESS)
REQUEST = _rx(L.REQUEST)
MODAL = _rx(L.MODAL)
ADDRESSEE = _rx(L.ADDRESSEE)
SELF = _rx(L.SELF)
EVALUATE = _rx(L.EVALUATE)
MENTION = _rx(L.MENTION)
# "in this paper", "dans cet article", "в этой статье", "本文中": the document as a place
_PLACE = re.compile(r"(?:\b(?:in|within|throughout|from|of|dans|en|nel|nella|in|в|во|из)\s*$|在\s*$)", _FLAGS)
_PLACE_AFTER = re.compile(r"^\s*(?:中|では|において|で)")

# Only at the start of a run of marks, and bounded: "!!!!..." (1 MB of it) must stay linear.
_UNIT_END = re.compile(r"(?<![.!?])[.!?]{1,8}[\"'”’»)\]]{0,4}(?=\s)|[。！？]")
MAX_UNIT = 600  # longer stretches without punctuation (tables, code, references) are windowed
_QUOTES_OPEN = "\"“„«「『‘'"
_QUOTES_CLOSE = "\"”“»」』’'"
SELF_REACH = 80  # characters between the named paper and what is asked for it


# Runs of spacing and markdown emphasis: a line or column break is one space, "**Note**" is "note".
# A lone space needs no mapping and is not matched at all (most runs are one): the runs found are
# the maximal runs of [\s*_`#>|~] other than a single " ".
_SPACING = re.compile(r" [\s*_`#>|~]+|(?:[^\S ]|[*_`#>|~])[\s*_`#>|~]*")


class _Flat:
    """`text` lower-cased, every run of spacing one space (a paragraph break one newline), emphasis
    marks dropped; `orig` maps back.

    Lower-casing keeps the length ("İ" is the one character whose lower case is longer, and it
    is mapped first); patterns are written in lower case because IGNORECASE makes `re` 5x slower.
    """

    def __init__(self, original: str) -> None:
        pieces: list[str] = []
        self._flat_starts, self._orig_starts = [0], [0]
        pos = npos = 0
        for m in _SPACING.finditer(original):
            run = m.group()
            # a paragraph break stays visible to sentence-start rules ("^" after it); any other
            # spacing, line and column breaks included, is one space
            rep = "\n" if run.count("\n") >= 2 else " " if any(c.isspace() for c in run) else ""
            pieces.append(original[pos:m.start()])
            npos += m.start() - pos
            pieces.append(rep)
            self._flat_starts.append(npos)
            self._orig_starts.append(m.start())
            npos += len(rep)
            pos = m.end()
            self._flat_starts.append(npos)
            self._orig_starts.append(pos)
        pieces.append(original[pos:])
        self.text = "".join(pieces).replace("\u0130", "I").lower()
        self._len = len(original)

    def orig(self, i: int) -> int:
        k = bisect.bisect_right(self._flat_starts, i) - 1
        return min(self._orig_starts[k] + (i - self._flat_starts[k]), self._len)

    def flat(self, i: int) -> int:
        """The inverse of `orig` (a position inside a dropped run maps to the run's end)."""
        k = bisect.bisect_right(self._orig_starts, i) - 1
        nxt = self._flat_starts[k + 1] if k + 1 < len(self._flat_starts) else len(self.text)
        return min(self._flat_starts[k] + (i - self._orig_starts[k]), nxt)


@dataclass(frozen=True)
class Request:
    rule: str  # override_instructions | favour_request | acceptance_obligation | addressed_to_reviewing_system
    start: int  # span of the sentence in the scanned text
    end: int
    trigger: tuple[int, int]  # span of the words that decided it


def _units(text: str) -> list[tuple[int, int]]:
    bounds: list[tuple[int, int]] = []
    pos = 0
    for m in _UNIT_END.finditer(text):
        bounds.extend(_windows(pos, m.end()))
        pos = m.end()
    bounds.extend(_windows(pos, len(text)))
    return bounds


def _windows(start: int, end: int) -> list[tuple[int, int]]:
    if end - start <= MAX_UNIT:
        return [(start, end)] if end > start else []
    step = MAX_UNIT // 2
    return [(s, min(end, s + MAX_UNIT)) for s in range(start, end - step, step)]


def _self_near(unit: str, anchor: tuple[int, int]) -> bool:
    """The paper itself named close to what is asked for it, and not as a place ("in this paper")."""
    lo, hi = max(0, anchor[0] - SELF_REACH), min(len(unit), anchor[1] + SELF_REACH)
    for m in SELF.finditer(unit, lo, hi):
        if _PLACE.search(unit[max(0, m.start() - 12):m.start()]) or _PLACE_AFTER.match(unit[m.end():m.end() + 6]):
            continue
        return True
    return False


def _quoted(unit: str, span: tuple[int, int]) -> bool:
    before = unit[max(0, span[0] - 300):span[0]]
    after = unit[span[1]:span[1] + 300]
    return any(q in before for q in _QUOTES_OPEN) and any(q in after for q in _QUOTES_CLOSE)


def _is_mention(unit: str, span: tuple[int, int]) -> bool:
    """Quoted and reported as an example or attack: outside the quotation, a reporting word."""
    if not _quoted(unit, span):
        return False
    outside = unit[:max(0, span[0] - 1)] + " " + unit[span[1] + 1:]
    return MENTION.search(outside) is not None


def _decide(unit: str) -> tuple[str, tuple[int, int]] | None:
    direct = DIRECT.search(unit)
    positive = list(POSITIVE.finditer(unit))
    override = None
    for m in OVERRIDE.finditer(unit):
        if PRIOR.search(unit, max(0, m.start() - 30), min(len(unit), m.end() + 30)):
            override = m
            break
    if not (direct or positive or override):
        return None
    request = REQUEST.search(unit)
    if override and (request or direct) and not _is_mention(unit, override.span()):
        return "override_instructions", override.span()
    for p in positive:
        if _is_mention(unit, p.span()):
            continue
        near_self = _self_near(unit, p.span())
        if request and (near_self or ADDRESSEE.search(unit)):
            return "favour_request", p.span()
        if near_self and MODAL.search(unit, max(0, p.start() - SELF_REACH), min(len(unit), p.end() + SELF_REACH)):
            return "acceptance_obligation", p.span()
    if direct and not _is_mention(unit, direct.span()):
        if positive or override:
            return "addressed_to_reviewing_system", direct.span()
        if request and EVALUATE.search(unit):
            return "addressed_to_reviewing_system", direct.span()
    return None


def _silent(part: str) -> bool:
    """No word of an instruction to the system in `part`."""
    return not any(rx.search(part) for rx in (DIRECT, REQUEST, ADDRESSEE, OVERRIDE, POSITIVE))


# Cheap screen: a unit can only be flagged if one of these occurs in it (tried only where a match
# can start: `reviewer.injection.anchored`).
_TRIGGERS = tuple(AnchoredPattern(rx) for rx in (POSITIVE, DIRECT, OVERRIDE))


class Screen:
    """One text, flattened and cut into sentences once; `requests()` are its flagged sentences and
    `is_used(start, end)` says whether a phrase found by another rule is made as a request rather
    than quoted as an example or described."""

    def __init__(self, text: str) -> None:
        self._flat = _Flat(text)
        self.text = self._flat.text
        self.units = _units(self.text)
        self._starts = [u[0] for u in self.units]

    def orig(self, i: int) -> int:
        """The offset in the scanned text of offset `i` in `self.text` (the flattened text)."""
        return self._flat.orig(i)

    def _unit_of(self, i: int) -> tuple[int, int]:
        k = max(0, bisect.bisect_right(self._starts, i) - 1)
        return self.units[k] if self.units else (0, len(self.text))

    def is_used(self, start: int, end: int, override: bool = False) -> bool:
        a, b = self._flat.flat(start), self._flat.flat(end)
        s, e = self._unit_of(a)
        e = max(e, b)
        unit = self.text[s:e]
        span = (a - s, b - s)
        if _is_mention(unit, span):
            return False
        # "models that ignore previous instructions" describes; "Ignore previous instructions" asks
        return not override or REQUEST.search(unit) is not None or DIRECT.search(unit) is not None

    def _tighten(self, s: int, e: int) -> tuple[int, int]:
        """Drop leading and trailing paragraphs that carry none of the signals: a sentence runs on
        over paragraph breaks (an instruction split over blocks or columns is read whole), but a
        neighbouring paragraph that lacks a full stop must not be swept into the finding."""
        text = self.text
        breaks = [i for i in range(s, e) if text[i] == "\n"]
        for b in breaks:
            if _silent(text[s:b]) and _decide(text[b + 1:e]):
                s = b + 1
            else:
                break
        for b in reversed(breaks):
            if s < b and _silent(text[b + 1:e]) and _decide(text[s:b]):
                e = b
            elif s < b:
                break
        return s, e

    def units_with(self, patterns: tuple[AnchoredPattern, ...]) -> list[int]:
        """The units (in order) in which one of `patterns` matches: one pass over the whole text."""
        text, units = self.text, self.units
        hit: set[int] = set()
        for rx, starts in zip(patterns, shared_starts(list(patterns), text)):
            for m in rx.finditer(text, starts):
                k = bisect.bisect_right(self._starts, m.start()) - 1
                # windows overlap: the match may sit in this window and the previous one
                for j in (k - 1, k):
                    if 0 <= j < len(units) and units[j][0] <= m.start() < units[j][1]:
                        hit.add(j)
        return sorted(hit)

    def requests(self) -> list[Request]:
        text, units = self.text, self.units
        found: list[Request] = []
        for j in self.units_with(_TRIGGERS):
            s, e = units[j]
            verdict = _decide(text[s:e])
            if verdict is None:
                continue
            s, e = self._tighten(s, e)
            rule, (a, b) = _decide(text[s:e]) or verdict
            lead = len(text[s:e]) - len(text[s:e].lstrip())
            if found and s < found[-1].end:  # overlapping windows: one finding
                prev = found[-1]
                found[-1] = Request(prev.rule, prev.start, max(prev.end, e), prev.trigger)
                continue
            found.append(Request(rule, s + lead, e, (s + a, s + b)))
        o = self._flat.orig
        return [Request(r.rule, o(r.start), o(r.end), (o(r.trigger[0]), o(r.trigger[1]))) for r in found]


def find_requests(text: str) -> list[Request]:
    """Flagged sentences of `text` (already normalised: see `NormalisedText`), in text order."""
    return Screen(text).requests()
