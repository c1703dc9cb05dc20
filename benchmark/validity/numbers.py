"""Numbers a paper quotes, and whether the results its harness recorded support them.

A quoted number is supported by a logged summary value that rounds to it at the number's own
precision (0.953 for 0.95312; not 0.95 for 0.959: rounding, not truncation), with its sign, as
a percentage only where the paper writes one (95.3% for 0.953, or for a logged 95.3). Where the
sentence or table row around the number names a metric or a run that the results know, only
that metric's (and run's) values count.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, replace

from benchmark.validity.evidence import Evidence, Logged, name_words
from scientist.latex.source import prose_words, strip_comments, without_citations

# Markup whose numbers are not claims: references, citations, labels, files, lengths.
_NOT_CLAIMS = [
    re.compile(r"\\(?:ref|eqref|autoref|cref|Cref|pageref|label|cite[a-zA-Z]*|includegraphics|input|"
               r"include|url|href|bibliography|bibliographystyle|begin|end|usepackage|vspace|hspace|"
               r"setlength|addtolength|rule|resizebox|scalebox)\*?\s*(?:\[[^\]]*\]\s*)*\{[^}]*\}"),
    re.compile(r"\[[^\]]*(?:width|height|scale|angle|trim)[^\]]*\]"),
    # TeX lengths are written without a space ("3in", "0.5em"): "0.99 in every run" is a claim
    re.compile(r"-?\d+(?:\.\d+)?(?:pt|mm|cm|em|ex|in|bp|sp)\b"),
    re.compile(r"-?\d*\.?\d+\s*\\(?:textwidth|linewidth|columnwidth|textheight|hsize)"),
    # "Figure 3", "Table~2", "Section 4.1", "Eq. (5)", "Run 2", "seed 3", "Appendix A.2"
    re.compile(r"\b(?:Fig(?:ure)?s?|Tables?|Sec(?:tion)?s?|Eqs?|Equations?|Runs?|run|Appendix|"
               r"Algorithm|Line|Step|Seeds?|Chapter|Theorem|Lemma)\.?(?:~|\s)*\(?\d+(?:\.\d+)*\)?", re.I),
    re.compile(r"\b[A-Za-z]+[-_]\d+\w*"),  # run_2, CIFAR-10, GPT-4
    re.compile(r"\b[A-Za-z]+\d+\w*"),  # x86, fp16, L2
    re.compile(r"\d+(?:st|nd|rd|th)\b"),
]
_SCI_TIMES = re.compile(r"(?<![\d.])(\d+(?:\.\d+)?)\s*(?:\\times|\\cdot|x|×)\s*10\s*\^\s*\{?\s*([-−]?\d+)\s*\}?")
_POW10 = re.compile(r"(?<![\d.])10\s*\^\s*\{?\s*([-−]?\d+)\s*\}?")
_NUMBER = re.compile(
    r"(?<![\w.])[-−]?(?P<int>\d{1,3}(?:,\d{3})+|\d+)?(?P<frac>\.\d+)?(?:[eE](?P<exp>[-+]?\d+))?"
    r"(?P<pct>\s*\\?%|\s*\\percent|\s*percent)?"
)


@dataclass(frozen=True)
class Quoted:
    """A number as written in the paper."""
    text: str
    value: float
    decimals: int  # digits after the point of the mantissa; rounding tolerance 0.5 * 10^-decimals
    exponent: int = 0  # 10-exponent of scientific notation
    percent: bool = False
    context: str = ""  # its clause in running text, or its table cell's row and column names
    wider: str = ""  # the words before it in the sentence: used where its clause names no metric


def _quoted(mantissa: str, exponent: int, percent: bool, text: str) -> Quoted:
    mantissa = mantissa.replace(",", "").replace("−", "-")
    decimals = len(mantissa.split(".", 1)[1]) if "." in mantissa else 0
    return Quoted(text=text.strip(), value=float(mantissa) * 10.0**exponent, decimals=decimals,
                  exponent=exponent, percent=percent)


def quoted_numbers(tex: str, *, min_integer: int = 10, years: tuple[int, int] = (1900, 2100)) -> list[Quoted]:
    """Numbers quoted in LaTeX text that are claims about results.

    Left out: references, citations, labels, lengths, "Figure 3"-style numbering, identifiers
    with digits (CIFAR-10), years, and integers up to `min_integer` (seeds, run counts)."""
    text = without_citations(strip_comments(tex))  # the one reader: options like [{see [4]}] included
    for rx in _NOT_CLAIMS:
        text = rx.sub(" ", text)
    out: list[Quoted] = []

    def sci(m: re.Match[str]) -> str:
        out.append(_quoted(m.group(1), int(m.group(2).replace("−", "-")), False, m.group(0)))
        return " "

    text = _SCI_TIMES.sub(sci, text)
    text = _POW10.sub(lambda m: (out.append(_quoted("1", int(m.group(1).replace("−", "-")), False,
                                                    m.group(0))), " ")[1], text)
    for m in _NUMBER.finditer(text):
        if not (m.group("int") or m.group("frac")):
            continue
        mantissa = (m.group("int") or "0") + (m.group("frac") or "")
        if m.group(0).lstrip().startswith(("-", "−")):
            mantissa = "-" + mantissa
        q = _quoted(mantissa, int(m.group("exp") or 0), bool(m.group("pct")), m.group(0))
        is_integer = q.decimals == 0 and q.exponent == 0 and not q.percent
        if is_integer and (abs(q.value) <= min_integer or years[0] <= q.value <= years[1]):
            continue
        out.append(q)
    return out


# ---- where a number was quoted --------------------------------------------------------------
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\\$(])|\n\s*\n")


def _units(tex: str) -> list[tuple[str, str]]:
    """(text, context) pairs: each sentence of running text is its own context; each table cell
    has as context its row's first cell and its column's header cell."""
    text = strip_comments(tex)
    units: list[tuple[str, str]] = []

    def prose(chunk: str) -> None:
        units.extend((u, u) for u in _SENTENCE_END.split(chunk) if u.strip())

    pos = 0
    while (start := text.find("\\begin{tabular", pos)) >= 0:
        end = text.find("\\end{tabular", start)
        end = len(text) if end < 0 else end
        prose(text[pos:start])
        rows = [r.split("&") for r in text[start:end].split("\\\\") if r.strip()]
        header = rows[0] if rows else []
        for row in rows:
            for j, cell in enumerate(row):
                heading = header[j] if j < len(header) and row is not header else ""
                units.append((cell, f"{row[0] if j else ''} {heading} {cell}"))
        pos = end
    prose(text[pos:])
    return units


MAX_UNNAMED = 64  # metrics a run may log for its means to support a number naming none (ours: 6-18)
WINDOW_WORDS = 6  # words either side of a number in running text that name what it measures


def _window(text: str, start: int, end: int) -> str:
    """WINDOW_WORDS words before [start, end), and it: what "(95.3%)" restates is named before it."""
    return " ".join(text[:start].split()[-WINDOW_WORDS:] + [text[start:end]])


_CLAUSE_BREAK = re.compile(r",(?=\s)|[;:()]|\s(?:and|while|whereas|against|versus|vs\.?|compared|but|than)\s", re.I)


def _clause(text: str, start: int, end: int) -> str:
    """The clause of a sentence holding [start, end): "0.953" in "accuracy of 0.953, and 4,260 steps"."""
    left = max((m.end() for m in _CLAUSE_BREAK.finditer(text, 0, start)), default=0)
    right = next((m.start() for m in _CLAUSE_BREAK.finditer(text, end)), len(text))
    return text[left:right]


def quoted_claims(tex: str, *, min_integer: int = 10) -> list[Quoted]:
    """`quoted_numbers` of each sentence and table cell, each with its context: the words around
    it in a sentence ("accuracy of 0.953", "4,260 steps"), the row and column names of a cell."""
    out: list[Quoted] = []
    for unit, context in _units(tex):
        pos = 0
        for q in quoted_numbers(unit, min_integer=min_integer):
            if unit is context:  # running text: the number's own clause, not every metric of the sentence
                found = re.compile(r"(?<![\d.])" + re.escape(q.text)).search(unit, pos)
                if found:
                    pos = found.end()
                    out.append(replace(q, context=_clause(unit, found.start(), found.end()),
                                       wider=_window(unit, found.start(), found.end())))
                    continue
            out.append(replace(q, context=context, wider=context))
    return out


# ---- support ------------------------------------------------------------------------------
_RUN_NAME = re.compile(r"\brun[\s_~\\-]*(\d+)\b", re.I)


def context_words(context: str) -> frozenset[str]:
    words = {w for word in prose_words(context) for w in name_words(word)}
    return frozenset(w for w in words if len(w) >= 2)


def _related(a: str, b: str) -> bool:
    """`acc` and `accuracy`, `val` and `validation`: one a prefix of the other (3+ letters)."""
    if a == b:
        return True
    short, long_ = sorted((a, b), key=len)
    return len(short) >= 3 and long_.startswith(short)


def _naming(item: Logged, words: frozenset[str]) -> int:
    """How many of the item's name words the context names."""
    return sum(any(_related(w, k) for w in words) for k in item.words)


def _rounds_to(logged: float, quoted: float, places: int) -> bool:
    """`logged` written with `places` decimals (half-way cases either way) is `quoted`."""
    half = 0.5 * 10.0 ** -places
    return abs(logged - quoted) <= half * (1 + 1e-9) + 1e-12 * max(1.0, abs(quoted))


_PERCENT_NAME = re.compile(r"pct|percent|perc\b|%", re.I)


def value_matches(q: Quoted, item: Logged) -> bool:
    places = q.decimals - q.exponent
    if not q.percent:
        return _rounds_to(item.value, q.value, places)
    if _rounds_to(item.value, q.value / 100, places + 2):
        return True  # 95.3% of a logged fraction 0.953
    # a percentage logged as such (95.3% of a logged 95.3): above 1, or named a percentage
    logged_as_percent = abs(item.value) > 1 or bool(_PERCENT_NAME.search(item.name))
    return logged_as_percent and _rounds_to(item.value, q.value, places)


def candidates(q: Quoted, evidence: Evidence) -> list[Logged]:
    """The logged values a quoted number may be: those of the runs its context names, and of the
    metrics it names most fully; without such names, the metrics' means (and standard errors
    after a ±). Per-seed values and hyper-parameters need their name."""
    pool = evidence.values
    runs = {f"run_{n}" for n in _RUN_NAME.findall(q.context)}
    if runs & evidence.runs:  # the runs the sentence names, and the baseline it is compared with
        runs.add("run_0")
        pool = [v for v in pool if v.run in runs]
    for context in dict.fromkeys((q.context, q.wider)):
        words = context_words(context)
        naming = [(_naming(v, words), v) for v in pool]
        best = max((n for n, v in naming if v.kind == "summary"), default=0)
        named_parameters = [v for n, v in naming if n and v.kind == "parameter"]
        if best or named_parameters:
            # the metrics the context names most fully ("circle eval loss", not every loss), and any
            # hyper-parameter it names ("99% validation accuracy" of VAL_ACC_THRESHOLD = 0.99)
            return [v for n, v in naming if n == best and best and v.kind == "summary"] + named_parameters
    # no metric named: a headline mean, or the standard error written after a mean ("0.95 \pm 0.01");
    # not from a run that logged so many that any number would match one (name the metric then)
    roles = {"mean", "stderr"} if _after_pm(q) else {"mean"}
    unnamed = [v for v in pool if v.kind == "summary" and v.role in roles]
    per_run = Counter(v.run for v in unnamed if v.role == "mean")
    return [v for v in unnamed if per_run[v.run] <= MAX_UNNAMED]


def _after_pm(q: Quoted) -> bool:
    found = re.search(r"(?<![\d.])" + re.escape(q.text), q.context)
    before = q.context[:found.start()].rstrip(" ${}~") if found else ""
    return before.endswith(("\\pm", "±", "+/-", "+-"))


def supported(q: Quoted, evidence: Evidence) -> bool:
    return any(value_matches(q, v) for v in candidates(q, evidence))
