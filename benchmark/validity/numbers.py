"""The numbers a stretch of LaTeX quotes, as written: value, precision, exponent, percent sign.

What each number claims is `claims` (its context), `kinds` (result, setting, threshold...) and
`support` (whether the harness's records back it)."""
from __future__ import annotations

import re
from dataclasses import dataclass

from scientist.latex.source import strip_comments, without_citations

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
