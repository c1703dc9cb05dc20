"""Whether the harness's records support a claim, and the trace that says why.

A result is supported by a logged value of the run it names or implies and of the metric it
names, at the quoted precision (rounded, or truncated at the last digit written), as a
percentage only where the paper writes one. The run is read, most specific first, from the
number's own clause (or its table row, the row heading its group, its column), then the rest of
its sentence, the sentences before it in the paragraph, the caption, the subsection title. A
claim that names no run is supported by any run's value of the metric it names, and the trace
lists which.

A derived result ("a 61% reduction", "on average 36.97 s") is supported by the same
computation on logged values of the runs it names, or on numbers the same passage quotes:
relative change (with its direction where the words give one), ratio, difference, mean and
standard deviation over datasets or seeds. A setting is checked against the code that ran and
its command line; a threshold or a label is not a result: neither counts against the paper.
"""
from __future__ import annotations

import math
import re
import statistics
from collections import Counter, defaultdict
from itertools import permutations

from pydantic import BaseModel, Field

from benchmark.validity import kinds
from benchmark.validity.claims import Claim
from benchmark.validity.evidence import Evidence, Logged, name_words
from benchmark.validity.numbers import Quoted, quoted_numbers
from benchmark.validity.runs import NONE, Mention, RunNames

COUNTED = ("result", "derived")
MAX_UNNAMED = 64  # means a run may log for them to support a number that names no metric (ours: 6-30)  # the kinds that decide numbers_match
_PERCENT_NAME = re.compile(r"pct|percent|perc\b|%", re.I)
_LOWER_BETTER = re.compile(r"loss|error|err\b|kl|diverg|time|step|perplex|ppl|mse|mae|rmse|fid|nll|bpc|latenc|"
                           r"memory|cost|regret|distance", re.I)
_DOWN = re.compile(r"reduc|decreas|lower|drop|declin|fewer|less\b|fell|\bcut|shorter|smaller", re.I)
_UP = re.compile(r"increas|higher|\brise|\brose|more\b|grow|boost|longer|larger|bigger", re.I)
_BETTER = re.compile(r"improv|better|gain", re.I)
_SEED_WORDS = re.compile(r"\bseeds?\b|individual|single\s+run|each\s+run|per[\s-]run|best\s+run|worst\s+run", re.I)
_WORSE = re.compile(r"worse|degrad|deterior", re.I)


class ClaimTrace(BaseModel):
    """One quoted number: what it claims and what in the records supports it, or why nothing does."""
    text: str  # the number as written in the LaTeX
    kind: str  # result, derived, setting, threshold, label, count, reference
    supported: bool | None = None  # None: not a result, not checked
    run: str | None = None  # the supporting run(s), comma-separated
    metric: str | None = None
    value: float | None = None  # the logged (or computed) value that supports it
    how: str = ""  # how the run was read ("named: run_2", "no run named: unique to run_3", ...)
    why: str = ""  # why it is not supported, or what kind of non-result it is
    context: str = ""  # the clause, or "row | column" of the cell
    # a result's reading, kept for the consistency pass (`benchmark.validity.consistency`), not written out:
    scope: list[str] = Field(default_factory=list, exclude=True)  # the runs its words name or imply
    scope_from: str = Field(default="", exclude=True)  # where they were read: clause, row, column, caption, ...
    candidates: dict[str, list[str]] = Field(default_factory=dict, exclude=True)  # metric -> runs matching it

    @property
    def counts(self) -> bool:
        return self.kind in COUNTED


# ---- matching one value --------------------------------------------------------------------
def _within(logged: float, quoted: float, places: int, approx: bool = False, percent: bool = False) -> bool:
    """`logged` written with `places` decimals is `quoted`: rounded (half-way either way) or
    truncated at the last digit written; an approximation ("around 1500") at its leading digits."""
    unit = 10.0 ** -places
    eps = 1e-9 * max(1.0, abs(quoted))
    if abs(logged - quoted) <= 0.5 * unit + eps:
        return True
    if abs(logged) >= abs(quoted) - eps and abs(logged) < abs(quoted) + unit - eps and logged * quoted > 0:
        return True  # truncated: 0.96248 written 0.9624 (never to zero: 0.953 is not "0")
    if approx:
        digits = f"{abs(quoted):.{max(places, 0)}f}".rstrip("0").rstrip(".") if places > 0 else str(int(abs(quoted)))
        significant = len(digits.replace(".", "").lstrip("0").rstrip("0")) or 1
        magnitude = math.floor(math.log10(abs(quoted))) if quoted else 0
        # "around 1500 steps" read off a curve: its last significant digit, or within 10% (not for percentages)
        spread = 0.0 if percent else 0.1 * abs(quoted)
        return abs(logged - quoted) <= max(0.5 * 10.0 ** (magnitude - significant + 1), spread) + eps
    return False


def value_matches(q: Quoted, item: Logged, approx: bool = False) -> bool:
    places = q.decimals - q.exponent
    if not q.percent:
        return _within(item.value, q.value, places, approx)
    if _within(item.value * 100, q.value, places, approx, percent=True):
        return True  # 95.3% of a logged fraction 0.953
    logged_as_percent = abs(item.value) > 1 or bool(_PERCENT_NAME.search(item.name))
    return logged_as_percent and _within(item.value, q.value, places, approx, percent=True)


def _number_matches(q: Quoted, value: float, approx: bool) -> bool:
    return value_matches(q, Logged(value, frozenset(), "", "summary", "computed"), approx)


# ---- which run, which metric ---------------------------------------------------------------
def _last_mention(names: RunNames, text: str, *, baseline_only: bool = True) -> Mention:
    """The runs named by the last sentence of `text` that names any. Across sentences a mention of
    the baseline alone is not inherited: it is mostly what the runs are compared against."""
    for sentence in reversed(re.split(r"(?<=[.!?:])\s+", text)):
        m = names.mention(sentence)
        if m and (baseline_only or m.how != "baseline"):
            if not baseline_only and len(m.runs - {"run_0"}) > 0:
                return Mention(m.runs - {"run_0"}, m.how)  # the baseline it was compared with is not inherited
            return m
    return NONE


_RUN_AFTER = re.compile(r"\s*\$?\s*(?:\\%|%)?\s*\(\s*(?:for\s+|in\s+|with\s+)?runs?[\s~_\\-]*(\d+)\s*\)", re.I)
_RUN_ORDER = re.compile(r"\bruns?[\s~_\\-]*(\d+)", re.I)


def _positional(claim: Claim, names: RunNames) -> tuple[Mention, str]:
    """Runs fixed by where the number stands: "0.193 (run~1)"; the k-th of a list of as many numbers
    as the passage names runs ("runs 1 and 2 reach 0.94 and 0.95"), or as there are runs; the number
    after "from" in "from 0.354 to 0.345" (the baseline's, where the clause names no run)."""
    if claim.where != "text":
        return NONE, ""
    if (m := _RUN_AFTER.match(claim.after)) and f"run_{m.group(1)}" in names.runs:
        return Mention(frozenset({f"run_{m.group(1)}"}), "explicit"), "parenthesis"
    k, n = claim.in_list
    if n >= 2:
        named = list(dict.fromkeys(f"run_{x}" for x in _RUN_ORDER.findall(f"{claim.before} {claim.sentence}")))
        named = [r for r in named if r in names.runs]
        if len(named) == n:
            return Mention(frozenset({named[k]}), "explicit"), "list order"
        ordered = sorted(names.runs, key=lambda r: int(re.sub(r"\D", "", r) or 0))
        if len(ordered) == n:
            return Mention(frozenset({ordered[k]}), "explicit"), "list order (one per run)"
    marked = kinds.marked(claim.sentence, claim)
    if "run_0" in names.runs and re.search(r"\bfrom\s+(?:an?\s+average\s+of\s+)?\$?\s*NUM\b[^.;]*?\bto\b", marked) \
            and not names.mention(claim.clause):
        return Mention(frozenset({"run_0"}), "from"), "from ... to"
    return NONE, ""


def attribution(claim: Claim, names: RunNames) -> tuple[Mention, str]:
    """The runs a claim is about and where that was read."""
    fixed, where = _positional(claim, names)
    if fixed:
        return fixed, where
    if claim.where == "table":
        levels = [("row", f"{claim.row} {claim.group}"), ("column", claim.column), ("caption", claim.caption),
                  ("section", claim.section)]
    else:
        # the clause that holds this number (the same words may stand earlier in the sentence)
        at = claim.sentence.rfind(claim.clause, 0, claim.at + len(claim.clause)) if claim.at >= 0 \
            else claim.sentence.find(claim.clause)
        # the words after its clause speak of something else ("..., while the baseline failed")
        levels = [("clause", claim.clause), ("sentence", claim.sentence[:at] if at > 0 else ""),
                  ("paragraph", claim.before), ("section", claim.section)]
    for where, text in levels:
        m = _last_mention(names, text, baseline_only=where != "paragraph") if where in ("paragraph", "sentence") \
            else names.mention(text)
        if m:
            read = _from_to(claim, m, where)
            return (_subject_clause(names, text, m) if where == "sentence" and read == m else read), where
    return NONE, ""


_CLAUSES = re.compile(r"[,;]\s*|\s+(?:while|whereas|but|yet)\s+", re.I)
_COMPARED = re.compile(r"^\s*(?:compared\s+(?:to|with)|relative\s+to|unlike|than|versus|vs\.?|over|against|"
                       r"as\s+opposed\s+to|in\s+contrast\s+to)\b", re.I)


def _subject_clause(names: RunNames, prefix: str, m: Mention) -> Mention:
    """Where the words before a number name the baseline and other runs ("The baseline required
    4720 steps, while negation reduced this to 1343"), the last clause naming a run other than the
    baseline (not a comparison: "compared to Run 1") is what the number is about."""
    if "run_0" not in m.runs or not m.runs - {"run_0"}:
        return m
    for part in reversed(_CLAUSES.split(prefix)):
        if _COMPARED.match(part):
            continue
        found = names.mention(part)
        if found and found.runs - {"run_0"}:
            return found
    return m


def _from_to(claim: Claim, m: Mention, where: str) -> Mention:
    """"from 0.989 to 0.862", where the passage names the baseline and another run: the number
    after "from" is the baseline's, the one after "to" the other run's."""
    if claim.where != "text" or where == "clause" or "run_0" not in m.runs or len(m.runs) < 2:
        return m
    marked = kinds.marked(claim.sentence, claim)
    if not re.search(r"\bfrom\s+\$?\s*(?:NUM|[\d.]+)[^.;]*?\bto\s+\$?\s*(?:NUM|[\d.]+)", marked):
        return m
    if re.search(r"\bfrom\s+\$?\s*NUM", marked):
        return Mention(frozenset({"run_0"}), m.how)
    if re.search(r"\bto\s+\$?\s*NUM", marked):
        return Mention(m.runs - {"run_0"}, m.how)
    return m


def _words(text: str) -> frozenset[str]:
    from scientist.latex.source import prose_words

    return frozenset(w for word in prose_words(text.replace("\\_", "_")) for w in name_words(word) if len(w) >= 2)


def _related(a: str, b: str) -> bool:
    if a == b:
        return True
    short, long_ = sorted((a, b), key=len)
    return len(short) >= 3 and long_.startswith(short)


def _naming(item: Logged, words: frozenset[str]) -> int:
    return sum(any(_related(w, k) for w in words) for k in item.words)


# how a paper names a dataset whose key abbreviates an operation ("x_plus_y": "addition")
_DATASET_WORDS = {"plus": ("addition", "add", "sum"), "minus": ("subtraction", "subtract"),
                  "div": ("division", "divide"), "mul": ("multiplication", "multiply", "product"),
                  "times": ("multiplication", "multiply", "product"), "perm": ("permutation",)}


def datasets_named(evidence: Evidence, text: str) -> set[str]:
    """The datasets of the records that `text` names, by key or by their words."""
    words = _words(text)
    words |= {part for w in words for part, names in _DATASET_WORDS.items() if any(_related(w, n) for n in names)}
    low = text.lower().replace("\\_", "_")
    named = set()
    for d in evidence.datasets:
        parts = [p for p in name_words(d) if len(p) >= 3]
        if re.search(r"(?<![a-z0-9])" + re.escape(d.lower()) + r"(?![a-z0-9])", low) or (parts and all(any(_related(p, w) for w in words) for p in parts)):
            named.add(d)
    return named


def _metric_contexts(claim: Claim) -> list[str]:
    if claim.where == "table":
        return [f"{claim.column} {claim.row} {claim.group}", claim.caption]
    # the words before the number name what it measures more often than those after it
    marked = kinds.marked(claim.sentence, claim)
    before_number = marked.split("NUM", 1)[0]
    after = re.split(r"[,;:.]|\s(?:and|while|whereas|but)\s", claim.after, maxsplit=1)[0]  # "(0.9998) for validation"
    return [claim.clause, " ".join(before_number.split()[-3:]) + " " + after,
            " ".join(before_number.split()[-8:]) + " " + after, before_number, claim.window,
            claim.sentence, claim.section]


def _after_pm(claim: Claim) -> bool:
    text = claim.clause
    found = re.search(r"(?<![\d.])" + re.escape(claim.text), text)
    before = text[:found.start()].rstrip(" ${}~") if found else ""
    return before.endswith(("\\pm", "±", "+/-", "+-"))


def _spread_roles(item: Logged) -> bool:
    return item.role in ("stderr", "std") or "std" in item.name.lower().split("/")[-1]


def metric_pool(claim: Claim, evidence: Evidence) -> tuple[list[Logged], str]:
    """The logged values the claim's words point to: the metric it names most fully (per-seed
    values too), or, naming none, every metric's mean; after a ±, the spreads."""
    spread = _after_pm(claim)
    # one seed's value only where the text speaks of seeds or single runs
    seeds = bool(_SEED_WORDS.search(f"{claim.sentence} {claim.row} {claim.column} {claim.caption}"))
    pool = [v for v in evidence.results()
            if (v.role == "seed" and seeds and not spread) or (v.role != "seed" and _spread_roles(v) == spread)]
    strong = f"{claim.clause} {claim.sentence}" if claim.where == "text" else f"{claim.row} {claim.group} {claim.column}"
    datasets = datasets_named(evidence, strong)
    if not datasets and claim.where == "text":
        # the dataset a paragraph is about is often named once, at its start ("On the permutation task, ...")
        for sentence in reversed(re.split(r"(?<=[.!?])\s+", claim.before)):
            if datasets := datasets_named(evidence, sentence):
                break
    if datasets and any(v.dataset in datasets for v in pool):
        pool = [v for v in pool if v.dataset in datasets or not v.dataset]
    for context in _metric_contexts(claim):
        words = _words(context)
        scored = [(_naming(v, words), v) for v in pool]
        best = max((n for n, _ in scored), default=0)
        if best:
            return [v for n, v in scored if n == best], "named"
    # naming no metric, a number is checked against every mean: not those of a run that logged so
    # many that any number would match one (name the metric then)
    unnamed = [v for v in pool if v.role != "seed"]
    per_run = Counter(v.run for v in unnamed)
    return [v for v in unnamed if per_run[v.run] <= MAX_UNNAMED], "unnamed"


# ---- derived values ------------------------------------------------------------------------
def _direction(claim: Claim, metric: str) -> int | None:
    """+1 if the words say the value went up, -1 down, None if they do not say."""
    text = claim.clause if claim.where == "text" else f"{claim.column} {claim.caption}"
    lower_better = bool(_LOWER_BETTER.search(metric))
    if _BETTER.search(text):
        return -1 if lower_better else 1
    if _WORSE.search(text):
        return 1 if lower_better else -1
    if _DOWN.search(text):
        return -1
    if _UP.search(text):
        return 1
    return None


def _change_fits(claim: Claim, a: float, b: float, metric: str) -> bool:
    """The claim is the change from a to b: relative (percent, or "x times"), or the difference."""
    if a == 0 or a == b:
        return False
    direction = _direction(claim, metric)
    if direction is not None and (b - a) * direction < 0:
        return False
    approx = kinds.approximate(claim)
    q = claim.quoted
    if q.percent:
        return _number_matches(q, abs(b - a) / abs(a) * 100, approx) and not _number_matches(q, 0, False)
    # a plain number is a change only as a ratio ("2.3x", "3 times") or a difference ("by 0.05")
    marked = kinds.marked(claim.window, claim)
    if re.search(r"NUM\s*\$?\s*(?:x\b|×|\\times(?!\s*10)|times|-?fold)", marked):
        ratio = max(abs(a), abs(b)) / min(abs(a), abs(b)) if min(abs(a), abs(b)) > 0 else math.inf
        return _number_matches(q, ratio, approx)
    if re.search(r"\bby\s+(?:about\s+|around\s+|roughly\s+)?\$?\s*NUM|differen\w*\s+(?:of\s+)?\$?\s*NUM|gap\s+of\s+NUM",
                 marked):
        return _number_matches(q, abs(b - a), approx)
    return False


def _quoted_pairs(claim: Claim) -> list[tuple[float, float]]:
    """Numbers the same passage (its sentence and the one before) quotes: "from 0.354 to 0.345",
    "4200 ... 1443 steps"."""
    previous = re.split(r"(?<=[.!?])\s+", claim.before.strip())[-1] if claim.before.strip() else ""
    passage = f"{previous} {claim.sentence}" if claim.where == "text" else ""
    values = [q.value for q in quoted_numbers(passage) if q.text != claim.text and not q.percent]  # not "1." of a list
    return [(a, b) for i, a in enumerate(values) for b in values[i + 1:]]


def derived_support(claim: Claim, evidence: Evidence, runs: frozenset[str]) -> tuple[str, float, str] | None:
    """(what, value, runs) of a computation on the records or the quoted numbers that gives the claim."""
    q = claim.quoted
    approx = kinds.approximate(claim)
    metric_words = " ".join(_metric_contexts(claim))
    pool, _ = metric_pool(claim, evidence)
    means = [v for v in pool if v.role == "mean"]
    if kinds.change_words(claim):
        quoted_pairs = _quoted_pairs(claim)
        for a, b in quoted_pairs:
            for x, y in ((a, b), (b, a)):
                if _change_fits(claim, x, y, metric_words):
                    return f"change from the quoted {x:g} to {y:g}", (y - x) / x * 100 if q.percent else y - x, "quoted"
    if kinds.change_words(claim) and not quoted_pairs:  # a change of the numbers just quoted is checked on them
        by_metric: dict[str, dict[str, float]] = defaultdict(dict)
        for v in means:
            by_metric[v.name][v.run] = v.value
        for name, values in by_metric.items():
            for r1, r2 in permutations(values, 2):
                # both runs among those named (and the baseline); naming only the baseline, or no run,
                # a change against the baseline
                if runs and not ({r1, r2} & runs and ({r1, r2} <= runs | {"run_0"} or runs <= {"run_0"})):
                    continue
                if not runs and "run_0" not in (r1, r2) and "run_0" in evidence.runs:
                    continue
                if _change_fits(claim, values[r1], values[r2], f"{name} {metric_words}"):
                    return f"change of {name} from {r1} to {r2}", values[r2], f"{r1},{r2}"
    if kinds.aggregate_words(claim):
        by_run: dict[tuple[str, str], list[float]] = defaultdict(list)
        for v in means:
            by_run[(v.run, v.metric)].append(v.value)
        for (run, metric), values in by_run.items():
            if (runs and run not in runs) or len(values) < 2:
                continue
            places = max(q.decimals - q.exponent, 0)
            rounded = [round(v, places) for v in values]  # the mean of the values as a table rounds them
            for what, value in (("mean", statistics.fmean(values)), ("mean of the rounded values", statistics.fmean(rounded)),
                                ("std", statistics.stdev(values)), ("population std", statistics.pstdev(values))):
                if _number_matches(q, value, approx):
                    return f"{what} of {metric} over {len(values)} datasets", value, run
    if _after_pm(claim):  # a spread over seeds the log did not summarise
        seeds: dict[tuple[str, str], list[float]] = defaultdict(list)
        for v in evidence.results():
            if v.role == "seed" and (not runs or v.run in runs):
                seeds[(v.run, v.name)].append(v.value)
        words = _words(" ".join(_metric_contexts(claim)[:1]))
        for (run, name), values in seeds.items():
            if len(values) < 2 or not any(_related(w, k) for w in words for k in name_words(name)):
                continue
            sd = statistics.stdev(values)
            for what, value in (("std", sd), ("stderr", sd / math.sqrt(len(values)))):
                if _number_matches(q, value, approx):
                    return f"{what} of {name} over {len(values)} seeds", value, run
    return None


# ---- settings ------------------------------------------------------------------------------
def setting_support(claim: Claim, evidence: Evidence) -> Logged | None:
    """A constant of the code that ran (or a command-line value) equal to the claim, preferring one
    whose name the claim's words name."""
    params = evidence.parameters()
    matching = [p for p in params if value_matches(claim.quoted, p)]
    if not matching:
        return None
    words = _words(f"{claim.clause} {claim.window}")
    return max(matching, key=lambda p: _naming(p, words))


def _names_a_run(claim: Claim, names: RunNames, evidence: Evidence) -> bool:
    """A number alone in parentheses right after a run's name ("the combined strategy (15%)")
    is part of that name, not a measurement: unless the words before it name a metric."""
    if claim.where != "text" or claim.clause.strip() != claim.text:
        return False
    found = re.search(r"(?<![\d.])" + re.escape(claim.text), claim.sentence)
    if not found or not claim.sentence[:found.start()].rstrip().endswith("("):
        return False
    before = " ".join(claim.sentence[:found.start()].rstrip()[:-1].split()[-4:])
    mention = names.mention(before)
    # only a setting of the code that ran can name a run: "(0.999)" after a name is still a result
    return bool(mention) and mention.how in ("name", "explicit") and not kinds.names_metric(before, evidence) \
        and setting_support(claim, evidence) is not None


# ---- one claim -----------------------------------------------------------------------------
def trace(claim: Claim, evidence: Evidence, names: RunNames) -> ClaimTrace:
    kind, why = kinds.classify(claim, evidence)
    context = claim.clause.strip() if claim.where == "text" else f"{claim.row} | {claim.column}".strip()
    base = dict(text=claim.text, context=" ".join(context.split())[:200])
    if kind in ("label", "threshold", "count", "reference"):
        return ClaimTrace(kind=kind, supported=None, why=why, **base)
    if kind == "setting":
        p = setting_support(claim, evidence)
        if p is None:
            return ClaimTrace(kind=kind, supported=False, why=f"{why}; no constant of the code that ran equals it", **base)
        return ClaimTrace(kind=kind, supported=True, run=p.run, metric=p.name, value=p.value,
                          why=f"{why}: {p.name} = {p.value:g} in the code of {p.run}", **base)
    if _names_a_run(claim, names, evidence):
        return ClaimTrace(kind="label", supported=None, why="part of a run's name", **base)
    mention, where = attribution(claim, names)
    runs = mention.runs
    how = f"{mention.how} in its {where}: {', '.join(sorted(runs))}" if runs else "no run named"
    pool, named = metric_pool(claim, evidence)
    approx = kinds.approximate(claim)
    matches = [v for v in pool if value_matches(claim.quoted, v, approx)]
    own = [v for v in matches if not runs or v.run in runs]
    if own:
        best = own[0]
        found_runs = sorted({v.run for v in own})
        if not runs:
            how = f"no run named: {'unique to ' if len(found_runs) == 1 else 'the same in '}{', '.join(found_runs)}"
        candidates: dict[str, set[str]] = defaultdict(set)
        for v in own:
            candidates[v.name].add(v.run)
        return ClaimTrace(kind="result", supported=True, run=",".join(found_runs), metric=best.name,
                          value=best.value, how=how, scope=sorted(runs), scope_from=where,
                          candidates={k: sorted(v) for k, v in candidates.items()}, **base)
    derived = derived_support(claim, evidence, runs)
    if derived is not None:
        what, value, run = derived
        return ClaimTrace(kind="derived", supported=True, run=run, metric=what, value=value, how=how, **base)
    if matches:
        other = matches[0]
        why = (f"{other.run}'s {other.name} is {other.value:.6g}, but the text names "
               f"{', '.join(sorted(runs))} ({where})")
    else:
        named_pool = [v for v in pool if not runs or v.run in runs]
        closest = min(named_pool, key=lambda v: abs(v.value - claim.quoted.value), default=None)
        scope = f"{'the metric it names' if named == 'named' else 'any metric'} of {', '.join(sorted(runs)) or 'any run'}"
        why = f"no logged value of {scope} matches" + (
            f" (closest: {closest.run} {closest.name} = {closest.value:.6g})" if closest else "")
    return ClaimTrace(kind="derived" if kinds.change_words(claim) and claim.quoted.percent else "result",
                      supported=False, how=how, why=why, **base)


def paper_title(tex: str) -> str:
    from scientist.latex.source import _balanced, strip_comments

    m = re.search(r"\\title\s*(?:\[[^\]]*\])?\s*\{", strip_comments(tex))
    return _balanced(strip_comments(tex), m.end())[0] if m else ""


def trace_results(tex: str, evidence: Evidence, *, notes: str = "", min_integer: int = 10) -> list[ClaimTrace]:
    """Every number the paper's Results sections quote, traced to the records."""
    return [t for _, t in traced_claims(tex, evidence, notes=notes, min_integer=min_integer)[0]]


def traced_claims(tex: str, evidence: Evidence, *, notes: str = "", min_integer: int = 10
                  ) -> tuple[list[tuple[Claim, ClaimTrace]], RunNames]:
    """(claim, trace) for every number of the Results sections, and the run names read."""
    from benchmark.validity.consistency import consistent

    pairs, names = traced_one_by_one(tex, evidence, notes=notes, min_integer=min_integer)
    return consistent(pairs, evidence), names


def traced_one_by_one(tex: str, evidence: Evidence, *, notes: str = "", min_integer: int = 10
                      ) -> tuple[list[tuple[Claim, ClaimTrace]], RunNames]:
    """`traced_claims` before the whole-paper consistency pass: each number traced on its own."""
    from benchmark.validity.claims import claims
    from benchmark.validity.runs import excluded_words, run_names
    from scientist.latex import source as latex

    notes_title = re.search(r"^#\s*Title:\s*(.+)$", notes or "", re.M)
    names = run_names(evidence.runs, notes=notes, paper=latex.document_body(latex.strip_comments(tex)),
                      title=paper_title(tex) or (notes_title.group(1) if notes_title else ""),
                      excluded=excluded_words(set(evidence.vocabulary), set(evidence.datasets)))
    return [(c, trace(c, evidence, names)) for s in latex.find_sections(tex, r"result")
            for c in claims(s.body, min_integer=min_integer)], names
