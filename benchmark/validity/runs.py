"""Which run a stretch of text is about.

Runs are named four ways, and all of them count:
- explicitly: "Run 2", "run_2", "Runs 2 and 5";
- by the names the paper gives them: "Adaptive Weighting (Run 2)", "Run 3 (combined)";
- by the names in the run notes the model wrote while experimenting (`## Run 2: Negation
  Augmentation`, with the first sentence of its description, less weight);
- "baseline" is run_0; "our method", "ours", "proposed" is some run other than the baseline.

A name is matched by its distinctive words: words that few runs' names share weigh more (an
inverse run frequency), words of the title more than words of the description, and words that
name a metric or a dataset not at all (they say what was measured, not which run).
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from benchmark.validity.evidence import name_words

_EXPLICIT = re.compile(r"\bruns?[\s~_\\-]*(\d+)((?:\s*(?:,|and|&|or|to|-{1,3})\s*(?:runs?[\s~_\\-]*)?\d+\b)*)", re.I)
_MORE_RUNS = re.compile(r"\d+")
_BASELINE = re.compile(r"\bbaselines?\b", re.I)
_GENERIC = re.compile(r"\b(?:ours|our\s+(?:\w+[\s-]+){0,4}?(?:method|approach|model|strategy|technique|system|"
                      r"adapter|network|architecture|variant)|proposed|full\s+(?:method|model)|"
                      r"final\s+(?:model|method|configuration|version|variant))\b", re.I)
# "Adaptive Weighting (Run 2)": the words before a parenthesised run name the run
_PAPER_ALIAS = re.compile(r"(?P<name>[A-Za-z][\w\s\-/]{2,80}?)\s*\(\s*runs?[\s~_\\-]*(?P<n>\d+)\s*\)", re.I)
_NOTES_RUN = re.compile(r"^\s*#*\s*Run\s+(?P<n>\d+)\s*[:.\-]\s*(?P<title>[^\n]*)\n(?P<body>(?:(?!\s*#*\s*Run\s+\d+\s*[:.\-]).*\n?){0,40})",
                        re.I | re.M)
_STOP = set("""a an the of with and or for to in on by at from as is are was were be been being it its this that these
those which who whom whose what when where while whereas than then there here into onto over under up down out off
also still just only even very more most less least much many some any each every all both either neither no not nor
but if so such same other others another can could may might must shall should will would do does did done has have
had having we our ours us they their them he she his her you your i me my see seen given made make makes try tried
based using use used via per about after before again against between through during without within across toward
towards since until upon further first second third last next new final best good well better worse high low higher
lower run runs result results experiment experiments model models method methods approach implemented
implementation implement description notes note compared compare comparison performance
improve improved improvement improvements change changes changed show shows showed shown""".split())
_SUFFIXES = ("ations", "ation", "ings", "ing", "ed", "es", "s", "al", "ly", "er", "ive")


def stem(word: str) -> str:
    """A crude stem, so that "combined" and "combination" meet."""
    w = word.lower()
    for suffix in _SUFFIXES:
        if w.endswith(suffix) and len(w) - len(suffix) >= 4:
            return w[: -len(suffix)]
    return w


def text_words(text: str) -> set[str]:
    """Stems of the words of a stretch of LaTeX or notes, and the numbers in it ("30" of "30%")."""
    text = _EXPLICIT.sub(" ", re.sub(r"\\[a-zA-Z]+", " ", text))
    words = {stem(w) for w in re.findall(r"[A-Za-z][a-z]+|[A-Z]{2,}", text) if w.lower() not in _STOP}
    words -= {stem(w) for w in _STOP}
    # whole numbers name settings ("Combined (30%)"); measured values are not names
    numbers = set(re.findall(r"(?<![\w.])\d{1,4}(?![\w.])", text))
    return words | numbers


@dataclass(frozen=True)
class Mention:
    runs: frozenset[str]
    how: str  # "explicit", "name", "baseline", "ours"; "" for none

    def __bool__(self) -> bool:
        return bool(self.runs)


NONE = Mention(frozenset(), "")


@dataclass
class RunNames:
    runs: frozenset[str]
    names: dict[str, dict[str, float]] = field(default_factory=dict)  # run -> stem -> weight (title 2, description 1)
    excluded: set[str] = field(default_factory=set)  # metric and dataset words: say what, not which run
    ours: frozenset[str] = frozenset()  # the runs the paper itself calls its own ("our ... (Run 3)")
    title: set[str] = field(default_factory=set)  # the paper's title words: its method's name is "ours"

    def add(self, run: str, text: str, weight: float) -> None:
        if run not in self.runs:
            return
        words = self.names.setdefault(run, {})
        for w in text_words(text) - self.excluded:
            words[w] = max(words.get(w, 0.0), weight)

    def _idf(self, word: str) -> float:
        df = sum(word in words for words in self.names.values())
        return math.log((len(self.runs) + 1) / (df + 0.5)) if df else 0.0

    def by_name(self, text: str) -> tuple[set[str], set[str]]:
        """The runs whose names `text` matches best, and the words it matched them on."""
        words = text_words(text) - self.excluded
        scores = {run: sum(weight * self._idf(w) for w, weight in names.items() if w in words)
                  for run, names in self.names.items()}
        best = max(scores.values(), default=0.0)
        if best <= 0:
            return set(), set()
        runs = {r for r, s in scores.items() if s >= best - 1e-9}
        return runs, {w for r in runs for w in self.names[r] if w in words and self._idf(w) > 0}

    def mention(self, text: str) -> Mention:
        """The runs `text` names, the most specific way it names any."""
        explicit = set()
        for m in _EXPLICIT.finditer(text):
            explicit |= {f"run_{n}" for n in [m.group(1), *_MORE_RUNS.findall(m.group(2) or "")]}
        explicit &= set(self.runs)
        baseline = {"run_0"} & set(self.runs) if _BASELINE.search(text) else set()
        if explicit:
            return Mention(frozenset(explicit | baseline), "explicit")
        named, named_words = self.by_name(text)
        # "ours" is the one run the paper calls its own; where it calls several its own, any but the baseline
        ours = (self.ours if len(self.ours) == 1 else frozenset()) or frozenset(r for r in self.runs if r != "run_0") \
            or self.runs
        # a name made of the paper's title words is its method, unless the text is about the baseline
        generic = bool(_GENERIC.search(text)) or bool(self.title and named_words and named_words <= self.title
                                                      and not baseline)
        if named and not (self.title and named_words <= self.title):
            # a caption that names a run and "our method" both speaks of all of them
            return Mention(frozenset(named | baseline | (ours if generic else set())), "name")
        if generic:
            return Mention(ours | frozenset(baseline), "ours")
        if baseline:
            return Mention(frozenset(baseline), "baseline")
        return NONE


def run_names(runs: frozenset[str], *, notes: str = "", paper: str = "", title: str = "",
              excluded: set[str] = frozenset()) -> RunNames:
    """The names of an idea's runs, from its run notes and from the paper's own "(Run N)" asides.
    A name made only of words of the paper's title is the paper's method: "ours"."""
    names = RunNames(runs=runs, excluded=set(excluded) | {"baseline", "basel"},
                     title={w for w in text_words(title) if not w.isdigit()} - set(excluded))
    for m in _NOTES_RUN.finditer(notes or ""):
        run = f"run_{m.group('n')}"
        names.add(run, m.group("title"), 2.0)
        body = re.sub(r"^\s*Results?:.*$", "", m.group("body"), flags=re.M)  # logged numbers are not names
        described = re.sub(r"^\s*Description:\s*", "", body.strip())
        first = re.split(r"(?<=[.!?])\s", described, maxsplit=1)[0] if described else ""
        names.add(run, first, 1.0)
    for m in _PAPER_ALIAS.finditer(re.sub(r"\\[a-zA-Z]+\*?(?:\{[^}]*\})?|[{}$~]", " ", paper or "")):
        # the words since the last comma or clause word before "(Run N)"
        name = re.split(r",|;|:|\band\b|\bwith\b(?=\s+our)|\bcomparing\b|\bcompare\b|\bbetween\b|\bthe\b",
                        m.group("name"))[-1]
        names.add(f"run_{m.group('n')}", name, 2.0)
        if re.search(r"\b(?:our|ours|proposed)\b", m.group("name"), re.I):
            names.ours = names.ours | {f"run_{m.group('n')}"}
    return names


def excluded_words(metric_words: set[str], datasets: set[str]) -> set[str]:
    """Stems of metric and dataset names, which a run's name should not be matched on."""
    out = {stem(w) for w in metric_words}
    for d in datasets:
        out |= {stem(w) for w in name_words(d)}
    return out
