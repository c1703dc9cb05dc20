"""Numbers a paper quotes, numbers its experiment logged, and whether the first are supported
by the second (up to the rounding the writer applied: 0.953 for 0.95312, 95.3% for 0.953)."""
from __future__ import annotations

import bisect
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from scientist.latex.source import strip_comments

# Markup whose numbers are not claims: references, citations, labels, files, lengths.
_NOT_CLAIMS = [
    re.compile(r"\\(?:ref|eqref|autoref|cref|Cref|pageref|label|cite[a-zA-Z]*|includegraphics|input|"
               r"include|url|href|bibliography|bibliographystyle|begin|end|usepackage|vspace|hspace|"
               r"setlength|addtolength|rule|resizebox|scalebox)\*?\s*(?:\[[^\]]*\]\s*)*\{[^}]*\}"),
    re.compile(r"\[[^\]]*(?:width|height|scale|angle|trim)[^\]]*\]"),
    re.compile(r"-?\d+(?:\.\d+)?\s*(?:pt|mm|cm|em|ex|in|bp|sp)\b"),
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


def _quoted(mantissa: str, exponent: int, percent: bool, text: str) -> Quoted:
    mantissa = mantissa.replace(",", "").replace("−", "-")
    decimals = len(mantissa.split(".", 1)[1]) if "." in mantissa else 0
    return Quoted(text=text.strip(), value=float(mantissa) * 10.0**exponent, decimals=decimals,
                  exponent=exponent, percent=percent)


def quoted_numbers(tex: str, *, min_integer: int = 10, years: tuple[int, int] = (1900, 2100)) -> list[Quoted]:
    """Numbers quoted in LaTeX text that are claims about results.

    Left out: references, citations, labels, lengths, "Figure 3"-style numbering, identifiers
    with digits (CIFAR-10), years, and integers up to `min_integer` (seeds, run counts)."""
    text = strip_comments(tex)
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


# ---- evidence --------------------------------------------------------------------------
# Fields of harness records (experiments.json) that the model wrote: claims, not evidence.
_MODEL_WRITTEN_KEYS = {"description", "notes", "title", "abandon_reason", "error", "edit_error", "experiment"}


def _json_numbers(obj: Any) -> Iterable[float]:
    if isinstance(obj, bool):
        return
    if isinstance(obj, (int, float)):
        if math.isfinite(obj):
            yield float(obj)
    elif isinstance(obj, str):
        yield from text_numbers(obj)
    elif isinstance(obj, dict):
        for k, v in obj.items():
            if k not in _MODEL_WRITTEN_KEYS:
                yield from _json_numbers(v)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            yield from _json_numbers(v)


_LOG_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


def text_numbers(text: str) -> Iterable[float]:
    for tok in _LOG_NUMBER.findall(text):
        try:
            v = float(tok)
        except ValueError:
            continue
        if math.isfinite(v):
            yield v


class Evidence:
    """All numbers an experiment logged, sorted by magnitude for tolerance look-ups."""

    def __init__(self, values: Iterable[float]) -> None:
        self._sorted = sorted({abs(v) for v in values})

    def __len__(self) -> int:
        return len(self._sorted)

    @classmethod
    def from_files(cls, paths: Iterable[Path], *, max_bytes: int = 5_000_000) -> "Evidence":
        values: list[float] = []
        for path in paths:
            try:
                raw = path.read_text(errors="replace")[:max_bytes]
            except OSError:
                continue
            if path.suffix == ".json":
                try:
                    values.extend(_json_numbers(json.loads(raw)))
                    continue
                except json.JSONDecodeError:
                    pass
            values.extend(text_numbers(raw))
        return cls(values)

    def _any_in(self, lo: float, hi: float) -> bool:
        i = bisect.bisect_left(self._sorted, lo)
        return i < len(self._sorted) and self._sorted[i] <= hi

    def _supports_value(self, value: float, decimals: int) -> bool:
        """A logged number that rounds, or truncates, to `value` at `decimals` places."""
        v = abs(value)
        step = 10.0 ** -decimals
        eps = 1e-9 * max(1.0, v)
        return self._any_in(v - step / 2 - eps, v + step / 2 + eps) or self._any_in(v - eps, v + step - eps)

    def supports(self, q: Quoted) -> bool:
        places = q.decimals - q.exponent
        candidates = [(q.value, places)]
        # 95.3% of 0.953, a fraction 0.953 of a logged 95.3 (%), a bare 95.3 of a logged 0.953
        candidates.append((q.value / 100, places + 2))
        if not q.percent and abs(q.value) < 1:
            candidates.append((q.value * 100, max(places - 2, 0)))
        return any(self._supports_value(v, d) for v, d in candidates)


def evidence_files(code_dir: Path) -> list[Path]:
    """What an experiment left behind: run_*/ results and logs, plus the experiment's code
    (its hyper-parameters are legitimately quoted). Model-written notes are not evidence."""
    files: list[Path] = []
    if not code_dir.is_dir():
        return files
    for run in sorted(code_dir.glob("run_*")):
        if run.is_dir():
            files += [p for p in sorted(run.rglob("*"))
                      if p.is_file() and p.suffix in {".json", ".txt", ".log", ".out", ".csv"}]
    files += [p for p in sorted(code_dir.glob("*"))
              if p.is_file() and (p.suffix in {".log", ".out"} or p.name == "experiment.py")]
    return files
