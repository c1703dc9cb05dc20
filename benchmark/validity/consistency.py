"""One method, one value: quotes of the same metric for the same unnamed method must agree on a run.

Where a paper says only "our method" (or names its method by words several runs share), a number
is supported by any of those runs, so the baseline's value is caught but another method run's
value is not. A paper reports one method, though: every quote of the same metric (dataset
included) for that same method, in the text and in the tables, comes from one run. So the quotes
are grouped by metric, by the set of runs they could be about, and by their subject (the row of a
table whose runs only its caption names is its own subject: a variant of an ablation); within a
group the runs that support every quote are kept (a quote that names no run joins the groups of its
metric when only method runs match it: it is the method's number too); where no run supports them all, the quotes that
disagree with the run most of them agree on are unsupported, and where no run has a majority, all
of them are: the paper quotes one method's metric from different runs, and the trace says which.
"""
from __future__ import annotations

from collections import Counter, defaultdict

from benchmark.validity.claims import Claim
from benchmark.validity.evidence import Evidence
from benchmark.validity.support import ClaimTrace, datasets_named


def _subject(claim: Claim, t: ClaimTrace, evidence: Evidence) -> str:
    """What the quote is about besides its metric: "" for the paper's method (running text, or a
    cell whose row or column names the runs); the row label of a cell whose runs were read from the
    caption or section only, whose row may name a variant ("eta_e = eta_l" of an ablation)."""
    if claim.where != "table" or t.scope_from in ("row", "column"):
        return ""
    row = " ".join(claim.row.split())
    if not row or datasets_named(evidence, row):
        return ""
    return row.lower()


def _one_metric(t: ClaimTrace) -> str | None:
    """The metric of a supported result that only one metric's logged values match."""
    return next(iter(t.candidates)) if t.kind == "result" and t.supported and len(t.candidates) == 1 else None


def _key(claim: Claim, t: ClaimTrace, evidence: Evidence) -> tuple | None:
    """The group of a supported result read as one of several method runs, with one metric."""
    metric = _one_metric(t)
    if metric is None or len(set(t.scope) - {"run_0"}) < 2:
        return None  # several metrics, or named one run (or the baseline, or none): nothing to make consistent
    return metric, tuple(t.scope), _subject(claim, t, evidence)


def _unnamed_method_quote(claim: Claim, t: ClaimTrace, evidence: Evidence) -> bool:
    """A supported result that names no run, with one metric, matching method runs only."""
    metric = _one_metric(t)
    return (metric is not None and not t.scope and "run_0" not in t.candidates[metric]
            and not _subject(claim, t, evidence))


def _variants_side_by_side(pairs: list[tuple[Claim, ClaimTrace]], members: list[int]) -> bool:
    """Two different values of the metric in one sentence ("our method reaches 0.95 with tuning and
    0.93 without") are two variants compared, not one method quoted twice."""
    seen: dict[str, str] = {}
    for i in members:
        claim, t = pairs[i]
        if claim.where != "text":
            continue
        if seen.setdefault(claim.sentence, t.text) != t.text:
            return True
    return False


def _unsupport(t: ClaimTrace, why: str) -> ClaimTrace:
    return t.model_copy(update={"supported": False, "why": why})


def consistent(pairs: list[tuple[Claim, ClaimTrace]], evidence: Evidence) -> list[tuple[Claim, ClaimTrace]]:
    """The traces, with quotes that disagree with the other quotes of their group unsupported."""
    groups: dict[tuple, list[int]] = defaultdict(list)
    unnamed: list[int] = []
    for i, (claim, t) in enumerate(pairs):
        key = _key(claim, t, evidence)
        if key is not None:
            groups[key].append(i)
        elif _unnamed_method_quote(claim, t, evidence):
            unnamed.append(i)
    for i in unnamed:  # a number that names no run but is a method run's value speaks of the method
        (metric, runs), = pairs[i][1].candidates.items()
        for (m, scope, subject), members in groups.items():
            if m == metric and not subject and set(runs) <= set(scope):
                members.append(i)
    out = list(pairs)
    for (metric, scope, subject), members in groups.items():
        if len(members) < 2:
            continue
        runs = [set(pairs[i][1].candidates[metric]) for i in members]
        if set.intersection(*runs) or _variants_side_by_side(pairs, members):
            continue
        votes = Counter(r for rs in runs for r in rs)
        (top, n), *rest = votes.most_common()
        majority = n > len(members) / 2 and not (rest and rest[0][1] == n)
        where = f"{subject!r} " if subject else ""
        for i, rs in zip(members, runs):
            claim, t = pairs[i]
            if majority and top in rs:
                out[i] = (claim, t.model_copy(update={"run": top, "how": f"{t.how}; as {n} of {len(members)} "
                                                                          f"quotes of {metric}: {top}"}))
                continue
            if majority:
                why = (f"{', '.join(sorted(rs))}'s {metric}, but {n} of the {len(members)} quotes of {metric} for "
                       f"the same method {where}({', '.join(scope)}) are {top}'s")
            else:
                seen = ", ".join(f"{pairs[j][1].text} ({'/'.join(sorted(r))})" for j, r in zip(members, runs))
                why = f"the quotes of {metric} for the same method {where}come from different runs: {seen}"
            out[i] = (claim, _unsupport(t, why))
    return out
