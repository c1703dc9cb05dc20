"""Reviewer-directed imperatives: normalised-text regexes with offsets back into the original.

Papers about language models legitimately *discuss* prompt injection and reward hacking, so
each rule needs an imperative addressed to the reader-as-reviewer (or an override of earlier
instructions), not just the topic words. The false-positive rate on 1,019 ICLR 2022 papers is
measured by `benchmark/perf/injection_fpr.py`.
"""
from __future__ import annotations

import bisect
import re
import unicodedata
from dataclasses import dataclass

from reviewer.injection.anchored import AnchoredPattern, shared_starts
from reviewer.injection.multilingual import Screen

# Characters used to split words invisibly: zero-width spaces/joiners, soft hyphen, BOM, bidi marks.
_INVISIBLE = "\u00ad\u180e\u200b\u200c\u200d\u200e\u200f\u2060\u2061\u2062\u2063\u2064\ufeff\u202a\u202b\u202c\u202d\u202e"
# Latin look-alikes (Cyrillic, Greek) that turn "ignore" into a string no ASCII regex matches.
_CONFUSABLES = {
    "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "х": "x", "у": "y", "і": "i", "ј": "j",
    "ѕ": "s", "ԁ": "d", "ɡ": "g", "һ": "h", "ӏ": "l", "ո": "n", "ν": "v", "ο": "o", "α": "a",
    "ε": "e", "ι": "i", "κ": "k", "τ": "t", "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M",
    "Н": "H", "О": "O", "Р": "P", "С": "C", "Т": "T", "Х": "X", "І": "I", "Ѕ": "S", "Ј": "J",
}
_SPECIAL = re.compile("[^\\x00-\\x7f]|-[ \\t]*\\n[ \\t]*(?=[a-zß-öø-ÿа-яё])")
_WORD_REACH = 30  # how far to look for the rest of a word around a look-alike character


def _spoofs_latin(original: str, i: int) -> bool:
    """Whether the look-alike at `i` disguises a Latin word: its word holds an ASCII letter or is
    made of look-alikes only. Russian, Greek or Ukrainian words stay as written."""
    lo = i
    while lo > max(0, i - _WORD_REACH) and original[lo - 1].isalpha():
        lo -= 1
    hi = i + 1
    while hi < min(len(original), i + _WORD_REACH) and original[hi].isalpha():
        hi += 1
    word = original[lo:hi]
    return any(c.isascii() for c in word) or all(c in _CONFUSABLES for c in word)


class NormalisedText:
    """`text` with look-alikes, ligatures, invisible characters and line-end hyphens normalised.

    `orig(i)` maps an offset in `self.text` back to the original string.
    """

    def __init__(self, original: str) -> None:
        pieces: list[str] = []
        # segments: (normalised offset, original offset) where a piece starts
        self._norm_starts: list[int] = [0]
        self._orig_starts: list[int] = [0]
        pos = 0
        npos = 0
        for m in _SPECIAL.finditer(original):
            if m.start() > pos:
                pieces.append(original[pos:m.start()])
                npos += m.start() - pos
            token = m.group()
            if len(token) == 1:
                rep = _CONFUSABLES.get(token) if token in _CONFUSABLES and _spoofs_latin(original, m.start()) else None
                if rep is None and token in _CONFUSABLES:
                    rep = token
                elif rep is None:
                    rep = "" if token in _INVISIBLE else unicodedata.normalize("NFKC", token)
            else:  # hyphen at a line end followed by a lower-case letter: join the word
                rep = ""
            pieces.append(rep)
            self._norm_starts.append(npos)
            self._orig_starts.append(m.start())
            npos += len(rep)
            pos = m.end()
            self._norm_starts.append(npos)
            self._orig_starts.append(pos)
        pieces.append(original[pos:])
        self.text = "".join(pieces)
        self.original = original

    def orig(self, i: int) -> int:
        k = bisect.bisect_right(self._norm_starts, i) - 1
        return min(self._orig_starts[k] + (i - self._norm_starts[k]), len(self.original))


_W = r"[\s\*_`\"'“”‘’«»\(\)\[\]]+"  # between two words: whitespace and markdown/quote clutter


def _p(*alternatives: str) -> str:
    return "(?:" + "|".join(alternatives) + ")"


_OBJ = _p("this", "the", "our", "my") + _W + _p("paper", "manuscript", "submission", "work", "article", "study")
_LLM = _p("llms?", "ai", "a\\.i\\.", "language[- ]models?", "gpt(?:-?\\d)?", "chatgpt", "automated", "automatic",
          "machine", "large[- ]language[- ]models?", "model")
_REVIEWER = _p("reviewers?", "referees?", "evaluators?", "graders?", "judges?", "assessors?", "readers?",
               "assistants?", "agents?")
_POSITIVE = _p("positive", "favou?rable", "glowing", "enthusiastic", "excellent", "outstanding", "perfect",
               "strongly positive", "very positive", "highly positive", "only positive", "raving", "stellar")
_HIGH = _p("high", "higher", "highest", "top", "maximum", "maximal", "max", "perfect", "full", "excellent",
           "strong", "very high", "the highest possible", "the best possible", "the maximum possible")

# (rule name, regex). Compiled case-insensitive over normalised text.
_RULES: list[tuple[str, str]] = [
    ("override_instructions",
     r"\b" + _p("ignore", "disregard", "forget", "override", "overrule", "bypass", "discard", "neglect",
                "do not follow", "don't follow", "stop following", "pay no attention to", "set aside")
     + _W + r"(?:(?:all|any|each|every|of|the|your|these|those|my|earlier|other)" + _W + r"){0,3}"
     + _p("previous", "prior", "preceding", "above", "earlier", "former", "initial", "original", "system",
          "existing", "given", "reviewing", "review")
     + _W + r"(?:\w+" + _W + r")?"
     + _p("instructions?", "prompts?", "directions?", "guidelines?", "rules", "context", "commands?",
          "directives?", "messages?", "criteria", "orders")),
    ("addressed_to_llm_reviewer",
     r"\b" + _p("note", "notes", "message", "instructions?", "attention", "memo", "reminder", "directive",
                "important", "hint")
     + _W + _p("to", "for") + _W + r"(?:(?:the|any|all|an?)" + _W + r")?" + _LLM + r"(?:[- ]based)?" + _W
     + _REVIEWER),
    ("addressed_to_llm_reviewer",
     r"\b" + _p("if you are", "if you're", "you are", "you're", "as") + _W + r"(?:(?:an?|the)" + _W + r")?"
     + _LLM + r"(?:[- ]based)?" + _W + _p("reviewers?", "referees?", "reviewing", "evaluating", "assessing",
                                        "grading", "judging") + r"\b"),
    ("reviewer_must",
     r"\bas" + _W + _p("an?", "the", "my", "our") + _W + r"(?:\w+" + _W + r")?" + _p("reviewer", "referee",
                                                                                   "evaluator")
     + r"\W{0,3}\s*(?:of" + _W + _OBJ + r"\W{0,3}\s*)?" + r"you" + _W + r"(?:\w+" + _W + r")?"
     + _p("must", "should", "shall", "need to", "have to", "are required to", "will", "are instructed to")),
    ("positive_review_request",
     r"\b" + _p("give", "provide", "assign", "award", "submit", "leave", "grant")
     + _W + r"(?:(?:" + _OBJ + r"|it|us|me)" + _W + r")?" + r"(?:(?:only|an?|a very|an extremely)" + _W + r"){0,2}"
     + _POSITIVE + _W + _p("reviews?", "evaluations?", "assessments?", "ratings?", "verdicts?",
                           "recommendations?", "appraisals?", "report")),
    # "write/generate a positive review" is also a sentiment-generation task: needs "only" or the paper
    ("positive_review_request",
     r"\b" + _p("write", "produce", "output", "generate", "return", "compose")
     + _W + r"(?:(?:only" + _W + r"(?:(?:an?)" + _W + r")?" + r"(?:(?:very|extremely|strongly)" + _W + r")?"
     + _POSITIVE + _W + _p("reviews?", "evaluations?", "assessments?", "ratings?", "feedback") + r")"
     + r"|(?:(?:an?|the)" + _W + r")?(?:(?:very|extremely|strongly)" + _W + r")?" + _POSITIVE + _W
     + _p("reviews?", "evaluations?", "assessments?", "ratings?") + _W + _p("of", "for", "about", "on") + _W
     + _OBJ + r")"),
    ("high_score_request",
     r"\b" + _p("give", "assign", "award", "grant") + _W + _OBJ + _W + r"(?:(?:an?|the)" + _W + r")?"
     + _HIGH + _W + _p("scores?", "ratings?", "marks?", "grades?", "evaluations?")),
    ("high_score_request",
     r"\b" + _p("rate", "score", "grade", "mark", "rank", "evaluate", "assess") + _W + _OBJ + _W
     + r"(?:(?:as|with|at|a|an)" + _W + r"){0,2}"
     + _p("10", "9", "ten", "nine", "10/10", "highly", "very highly", "high", "strong accept", "accept",
          "excellent", "outstanding", "the highest", "maximum", "perfect", "top")),
    ("high_score_request",
     r"\b" + _p("score", "rating", "overall score", "overall rating") + _W + _p("of", "should be", "must be",
                                                                            "=", ":") + _W
     + r"(?:10|ten)" + r"(?:/10)?\b" + r"(?=[^.]{0,60}\b" + _p("paper", "submission", "review") + r")"),
    ("positive_review_request",
     r"(?:^|[.!?:;]\s+)" + _p("write", "produce", "output", "generate", "return", "compose") + _W
     + r"(?:(?:an?|only|a very|an extremely)" + _W + r"){0,2}(?:(?:very|extremely|strongly)" + _W + r")?"
     + _POSITIVE + _W + _p("reviews?", "evaluations?", "assessments?") + r"(?:" + _W + r"only)?\s*[.!]"),
    # imperative only: "recommend acceptance" at a sentence start or after you/please/must...;
    # "the area chair may recommend acceptance" is a description, not an order
    ("acceptance_request",
     r"(?:^|[.!?:;]\s+|\b" + _p("you", "please", "must", "should", "always", "simply", "just", "kindly")
     + r"\s+)(?:(?:strongly|definitely|clearly)\s+)?"
     + _p("recommend", "suggest", "advocate", "ensure", "vote for", "argue for", "push for")
     + _W + r"(?:(?:a|an|the|its|their|our|this|strong|clear|immediate|unconditional|full)" + _W + r"){0,3}"
     + _p("acceptance", "accepting") + r"\b"),
    ("acceptance_request",
     r"\b" + _p("recommend", "suggest", "advocate", "vote for", "argue for", "push for") + _W
     + r"(?:(?:the|its|strong|clear|immediate|unconditional|full)" + _W + r"){0,2}"
     + _p("acceptance of", "accepting") + _W + _OBJ),
    ("acceptance_request",
     r"\b" + _OBJ + _W + _p("must", "should", "shall", "deserves? to", "has to") + _W + r"(?:definitely" + _W
     + r"|certainly" + _W + r"|absolutely" + _W + r")?" + _p("be accepted", "get accepted", "receive a strong accept",
                                                          "be rated", "receive a high score",
                                                          "receive high scores", "receive a positive review")),
    ("acceptance_request",
     r"\b" + _p("you must", "you should", "you have to", "you need to", "you will", "please", "always", "just")
     + _W + _p("accept", "recommend", "give", "rate", "score", "assign") + _W + r"(?:\w+" + _W + r"){0,3}"
     + _p("strong accept", "accept", "acceptance", "10", "positive", "high score", "top score", "highly")
     + r"\b"),
    ("suppress_criticism",
     r"\b" + _p("do not", "don't", "never", "avoid", "refrain from") + _W
     + _p("mention", "mentioning", "list", "listing", "point out", "pointing out", "highlight", "highlighting",
          "discuss", "discussing", "criticize", "criticise", "criticizing", "report", "reporting", "include")
     + _W + r"(?:(?:any|the|its|this|of|paper's|papers?)" + _W + r"){0,3}"
     + _p("weaknesses", "weakness", "limitations", "flaws", "shortcomings", "negatives", "negative aspects",
          "criticisms?", "concerns")
     + r"(?=[^.]{0,60}\b" + _p("review", "paper", "submission", "manuscript", "work") + r"|\W{0,3}$|\W{0,3}[.!])"),
    ("role_hijack",
     r"(?:<\|im_start\|>|<\|system\|>|\[/?inst\]|<<sys>>|###\s*system\s*:|\bnew system prompt\b"
     + r"|\bsystem prompt override\b|\bend of (?:the )?(?:paper|document)\b\W{0,5}\s*(?:new )?instructions?\s*:)"),
]

_COMPILED = [(name, re.compile(rx, re.IGNORECASE | re.MULTILINE)) for name, rx in _RULES]
# The same rules, case-sensitive, over the case-folded text: IGNORECASE makes `re` 2-3x slower, and
# a case-sensitive pattern can be tried only where it can start (`reviewer.injection.anchored`).
# The two agree: the only characters whose lower case is ASCII, changes length or changes class
# (word, space, digit), or that match an ASCII letter case-insensitively, are the four of `FOLD`
# (tested against every code point), and each is folded to the letter it matches.
_COMPILED_LOWER = [(name, AnchoredPattern(re.compile(rx, re.MULTILINE))) for name, rx in _RULES]
FOLD = {"\u0130": "i", "\u0131": "i", "\u017f": "s", "\u212a": "k"}  # İ ı ſ K (Kelvin)
_FOLD_TABLE = str.maketrans(FOLD)
CASE_UNSAFE = re.compile("[" + "".join(FOLD) + "]")


def casefolded(text: str) -> str | None:
    """`text` lower-cased as IGNORECASE compares it, offsets kept (None if an offset would move)."""
    if CASE_UNSAFE.search(text) is not None:
        text = text.translate(_FOLD_TABLE)
    lower = text.lower()
    return lower if len(lower) == len(text) else None
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"'”’\)\]]*\s+|\n\s*\n|\n(?=\s*(?:[•\-\*]|\d+(?:\.\d+)*\s+[A-Z]))")


@dataclass(frozen=True)
class DirectiveMatch:
    rule: str
    start: int  # offsets of the whole sentence in the original text
    end: int
    matched: str  # the text that triggered the rule (original characters)
    sentence: str


def _sentence_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    window_start = max(0, start - 160)
    s = window_start
    for m in _SENTENCE_END.finditer(text, window_start, start):
        s = m.end()
    m = _SENTENCE_END.search(text, end, min(len(text), end + 240))
    e = m.start() if m else min(len(text), end + 240)
    # Stop at a line that is a heading or a blank line; never swallow a whole page.
    return s, max(e, end)


def find_directives(text: str) -> list[DirectiveMatch]:
    """All reviewer-directed imperatives in `text`, one per sentence, in text order."""
    norm = NormalisedText(text)
    screen = Screen(norm.text)
    hits: dict[tuple[int, int], DirectiveMatch] = {}
    lower = casefolded(norm.text)
    if lower is None:  # never seen: the rules as written, over the normalised text
        runs = [(name, rx.finditer(norm.text)) for name, rx in _COMPILED]
    else:
        starts = shared_starts([rx for _, rx in _COMPILED_LOWER], lower)
        runs = [(name, rx.finditer(lower, s)) for (name, rx), s in zip(_COMPILED_LOWER, starts)]
    for name, matches in runs:
        for m in matches:
            if not screen.is_used(m.start(), m.end(), override=name == "override_instructions"):
                continue  # quoted as an example of an attack, or described ("models ignore ...")
            ostart, oend = norm.orig(m.start()), norm.orig(m.end())
            s, e = _sentence_bounds(text, ostart, oend)
            if (s, e) in hits:
                continue
            hits[(s, e)] = DirectiveMatch(name, s, e, text[ostart:oend], text[s:e])
    for r in screen.requests():  # every language; sentences cut at punctuation only
        s, e = norm.orig(r.start), norm.orig(r.end)
        if (s, e) not in hits:
            hits[(s, e)] = DirectiveMatch(r.rule, s, e,
                                          text[norm.orig(r.trigger[0]):norm.orig(r.trigger[1])], text[s:e])
    ordered = sorted(hits.values(), key=lambda d: (d.start, d.end))
    # Drop sentences contained in an earlier one (two rules may pick overlapping bounds).
    result: list[DirectiveMatch] = []
    for d in ordered:
        if result and d.start < result[-1].end:
            if d.end > result[-1].end:
                prev = result[-1]
                result[-1] = DirectiveMatch(prev.rule, prev.start, d.end, prev.matched, text[prev.start:d.end])
            continue
        result.append(d)
    return result
