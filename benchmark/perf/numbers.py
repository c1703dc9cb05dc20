"""How often `numbers_match` accepts forged numbers, and how it does on hand-labelled numbers.

    python -m benchmark.perf.numbers [--runs DIR] [--idea-dir OUT/<idea> ...] [--seed 0] [--every] [--json OUT]

Forgeries: every Results number that the check traces to one logged value of a run (a direct
result) is replaced, one at a time and in place (its sentence, table row and column kept), by
- the same metric from another run (the baseline's value quoted as the method's, or any other
  run's), at the same precision;
- another metric of the same run (same dataset where the log has datasets), at the same precision;
- an invented value: the true value times a factor drawn uniformly from [0.7, 1.3], at the same
  precision (derived results, such as "a 61% reduction", are forged this way too, reported apart).
A forgery is written only where it differs from the true value as written. One forgery of each
kind is drawn per number; `--every` forges every distinct other run's value and every other
metric's value of each number instead (a figure that no draw decides). Accepted: the check
still calls the number supported (or no longer a result). Targets: another run <= 10%,
another metric <= 10%, invented <= 3%.

Papers: the AI-Scientist idea folders under --runs (default: the shared data's
ai_scientist_runs, with their own run notes and run_N.py snapshots) and any idea folder of ours
(`bench run` / `bench demo` output: OUT/.../<idea> with paper/ and results/).

Labels: `numbers_labels.tsv` beside the runs lists, per paper, numbers the old check called
unsupported with a hand label (TRUE: invented or mis-stated; others: not a result, or backed by
the logs). Labels name the number as written, not its position, so each (paper, number, label)
group of n rows is matched to the check's verdicts on that number's occurrences: flagged =
min(n, occurrences flagged). Targets: >= 90% of TRUE flagged, <= 10% of the others; no paper
without a TRUE number fails numbers_match.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import random
from collections import Counter, defaultdict
from pathlib import Path

from benchmark.validity.claims import Claim, with_quoted
from benchmark.validity.evidence import Evidence, RunLog, read_idea_folder, read_results_dir
from benchmark.validity.consistency import consistent
from benchmark.validity.support import ClaimTrace, trace, traced_one_by_one, value_matches

KINDS = ("another run", "another metric", "invented")
# "another run", split: the baseline's value quoted as a method run's (or the reverse), and one
# method run's value quoted as another's (where a paper says only "our method", it does not say which)
TARGETS = {"another run": 0.10, "another metric": 0.10, "invented": 0.03}


def written(value: float, like: Claim) -> str | None:
    """`value` written the way the claim writes its number (decimals, percent, thousands)."""
    q = like.quoted
    if q.exponent:
        return None  # scientific notation: settings, not results, in practice
    if q.percent:
        value = value * 100 if abs(value) <= 1 and not abs(q.value) > 100 else value
    text = f"{value:,.{q.decimals}f}" if "," in q.text else f"{value:.{q.decimals}f}"
    if text.lstrip("-").replace(",", "").replace(".", "").strip("0") == "" and value != 0:
        return None  # rounds to zero at this precision
    return text + ("\\%" if q.percent else "")


def _same_as_written(text: str, claim: Claim) -> bool:
    return text.replace("\\%", "").replace(",", "") == claim.text.replace("\\%", "").replace(",", "").replace("%", "")


def forgeries(claim: Claim, t: ClaimTrace, evidence: Evidence, rng: random.Random,
              every: bool = False) -> list[tuple[str, str]]:
    """(kind, forged writing) of the claim's number: one per kind where one exists, drawn at random;
    with `every`, one per distinct other run's (and other metric's) value."""
    if t.kind == "derived" and t.supported and t.value is not None and claim.quoted.exponent == 0:
        # a relative change or aggregate: its true value times 0.7-1.3 (reported apart)
        for _ in range(20):
            value = claim.quoted.value * rng.uniform(0.7, 1.3)
            w = f"{value:.{claim.quoted.decimals}f}" + ("\\%" if claim.quoted.percent else "")
            if not _same_as_written(w, claim):
                return [("invented derived", w)]
        return []
    if t.kind != "result" or not t.supported or not t.run or "," in t.run or t.metric is None:
        return []
    item = next((v for v in evidence.results() if v.run == t.run and v.name == t.metric and v.value == t.value), None)
    if item is None:
        return []
    out: list[tuple[str, str]] = []
    others = [v for v in evidence.results() if v.name == item.name and v.run != item.run and v.role == item.role
              and v.seed == item.seed]
    metrics = [v for v in evidence.results() if v.run == item.run and v.metric != item.metric and v.role == "mean"
               and (v.dataset == item.dataset or not item.dataset)]
    def forged(w: str | None) -> bool:
        # a different writing, and not one the true value also rounds or truncates to
        return bool(w) and not _same_as_written(w, claim) and not value_matches(with_quoted(claim, w).quoted, item)

    for kind, pool in (("another run", others), ("another metric", metrics)):
        texts = list({w: (w, v) for w, v in ((written(v.value, claim), v) for v in pool) if forged(w)}.values())
        chosen = texts if every or not texts else [rng.choice(texts)]
        for w, v in chosen:
            out.append((kind, w))
            if kind == "another run":
                out.append(("baseline swap" if "run_0" in (v.run, item.run) else "method swap", w))
    for _ in range(20):
        w = written(item.value * rng.uniform(0.7, 1.3), claim)
        if forged(w):
            out.append(("invented", w))
            break
    return out


SPLIT = ("baseline swap", "method swap")
EXTRA = ("invented derived",)


def forged_trace(raw: list[tuple[Claim, ClaimTrace]], i: int, text: str, evidence: Evidence, names) -> ClaimTrace:
    """The trace of claim `i` written as `text`, read with every other number of the paper as it
    stands (the consistency of quotes of one method's metric is a whole-paper rule)."""
    claim = with_quoted(raw[i][0], text)
    pairs = list(raw)
    pairs[i] = (claim, trace(claim, evidence, names))
    return consistent(pairs, evidence)[i][1]


def paper_figures(tex: str, evidence: Evidence, notes: str, rng: random.Random, every: bool = False) -> dict:
    raw, names = traced_one_by_one(tex, evidence, notes=notes)  # before the consistency pass
    pairs = consistent(raw, evidence)
    counts: dict[str, list[int]] = {k: [0, 0] for k in (*KINDS, *SPLIT, *EXTRA)}
    examples: dict[str, list[str]] = defaultdict(list)
    for i, (claim, t) in enumerate(pairs):
        for kind, text in forgeries(claim, t, evidence, rng, every):
            forged = forged_trace(raw, i, text, evidence, names)
            accepted = not (forged.counts and forged.supported is False)
            if kind in SPLIT:
                counts[kind][0] += 1
                counts[kind][1] += accepted
                continue
            counts[kind][0] += 1
            counts[kind][1] += accepted
            if accepted and len(examples[kind]) < 3:
                examples[kind].append(f"{t.text} -> {text} ({forged.how}; {forged.metric})")
    traces = [t for _, t in pairs]
    results = [t for t in traces if t.counts]
    return {"claims": len(traces), "results": len(results),
            "unsupported_results": sum(t.supported is False for t in results),
            "kinds": dict(Counter(t.kind for t in traces)), "forgeries": counts, "accepted_examples": dict(examples),
            "traces": traces}


def label_figures(labels: Path, traces: dict[str, list[ClaimTrace]]) -> dict:
    groups: dict[tuple[str, str, str], int] = Counter()
    with labels.open(newline="") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            groups[(row["idea"], row["quoted"], row["category"])] += 1
    flagged_by_label: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for (idea, text, label), n in groups.items():
        flagged = sum(1 for t in traces.get(idea, []) if t.text == text and t.counts and t.supported is False)
        flagged_by_label[label][0] += n
        flagged_by_label[label][1] += min(n, flagged)
    true_n, true_f = flagged_by_label.get("TRUE", [0, 0])
    other_n = sum(v[0] for k, v in flagged_by_label.items() if k != "TRUE")
    other_f = sum(v[1] for k, v in flagged_by_label.items() if k != "TRUE")
    ideas_true = {idea for (idea, _, label) in groups if label == "TRUE"}
    failing_without_true = [idea for idea, ts in traces.items()
                            if idea not in ideas_true and any(t.counts and t.supported is False for t in ts)]
    return {"by_label": {k: {"n": v[0], "flagged": v[1]} for k, v in sorted(flagged_by_label.items())},
            "true_flagged": true_f / true_n if true_n else None, "true_n": true_n,
            "others_flagged": other_f / other_n if other_n else None, "others_n": other_n,
            "papers_without_true_failing": failing_without_true}


def _folder_paper(folder: Path) -> tuple[str, Evidence, str] | None:
    tex = folder / "latex" / "template.tex"
    if not tex.is_file():
        return None
    notes = folder / "notes.txt"
    return tex.read_text(errors="replace"), Evidence(read_idea_folder(folder)), \
        notes.read_text(errors="replace") if notes.is_file() else ""


def _idea_dir_paper(idea: Path) -> tuple[str, Evidence, str] | None:
    tex = idea / "paper" / "template.tex"
    if not tex.is_file() or not (idea / "results").is_dir():
        return None
    runs: list[RunLog] = read_results_dir(idea / "results")
    notes = idea / "notes.txt"
    return tex.read_text(errors="replace"), Evidence(runs), notes.read_text(errors="replace") if notes.is_file() else ""


def default_runs() -> Path:
    shared = os.environ.get("BENCH_SHARED_DATA")
    return Path(shared) / "ai_scientist_runs" if shared else Path("../shared/data/ai_scientist_runs")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=Path, default=default_runs(),
                        help="folder of AI-Scientist idea folders (and numbers_labels.tsv)")
    parser.add_argument("--idea-dir", type=Path, action="append", default=[],
                        help="an idea folder of ours (OUT/.../<idea> with paper/ and results/); repeatable")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--every", action="store_true",
                        help="forge every other run's and every other metric's value of each number, not one drawn")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    papers: dict[str, tuple[str, Evidence, str]] = {}
    if args.runs.is_dir():
        for folder in sorted(p for p in args.runs.iterdir() if p.is_dir()):
            if (paper := _folder_paper(folder)) is not None:
                papers[folder.name] = paper
    for idea in args.idea_dir:
        if (paper := _idea_dir_paper(idea)) is not None:
            papers[f"ours:{idea.name}"] = paper
    if not papers:
        raise SystemExit(f"no paper with logs under {args.runs} or --idea-dir: nothing to measure")
    rng = random.Random(args.seed)
    figures = {name: paper_figures(tex, ev, notes, rng, args.every) for name, (tex, ev, notes) in papers.items()}
    total = {k: [sum(f["forgeries"][k][0] for f in figures.values()), sum(f["forgeries"][k][1] for f in figures.values())]
             for k in (*KINDS, *SPLIT, *EXTRA)}
    print(f"{'paper':<34} {'results':>7} {'unsupp.':>7}  " + "  ".join(f"{k + ' acc.':>20}" for k in KINDS))
    for name, f in figures.items():
        cells = "  ".join(f"{f['forgeries'][k][1]:>8} of {f['forgeries'][k][0]:<8}  " for k in KINDS)
        print(f"{name:<34} {f['results']:>7} {f['unsupported_results']:>7}  {cells}")
    ok = True
    for k in KINDS:
        n, acc = total[k]
        share = acc / n if n else 0.0
        ok &= share <= TARGETS[k]
        print(f"forged '{k}': {acc} of {n} accepted ({share:.1%}; target <= {TARGETS[k]:.0%})")
        if k == "another run":
            for part in SPLIT:
                n2, acc2 = total[part]
                print(f"    of which {part}: {acc2} of {n2} accepted ({acc2 / n2 if n2 else 0:.1%})")
        for name, f in figures.items():
            for e in f["accepted_examples"].get(k, [])[:1]:
                print(f"    e.g. {name}: {e}")
    out = {"papers": {n: {k: v for k, v in f.items() if k != "traces"} for n, f in figures.items()},
           "forgeries": {k: {"n": total[k][0], "accepted": total[k][1]} for k in (*KINDS, *SPLIT, *EXTRA)}}
    n, acc = total["invented derived"]
    print(f"forged derived results (relative changes, aggregates) x0.7-1.3: {acc} of {n} accepted"
          f"{f' ({acc / n:.1%})' if n else ''}")
    labels = args.runs / "numbers_labels.tsv"
    if labels.is_file():
        lab = label_figures(labels, {n: f["traces"] for n, f in figures.items()})
        out["labels"] = lab
        print(f"labels: TRUE flagged {lab['true_flagged']:.1%} of {lab['true_n']} (target >= 90%); others flagged "
              f"{lab['others_flagged']:.1%} of {lab['others_n']} (target <= 10%)")
        for label, v in lab["by_label"].items():
            print(f"    {label:<8} {v['flagged']:>3} of {v['n']:<3} flagged")
        print(f"papers without a TRUE number failing numbers_match: {lab['papers_without_true_failing'] or 'none'}")
        ok &= (lab["true_flagged"] or 0) >= 0.9 and (lab["others_flagged"] or 0) <= 0.1 \
            and not lab["papers_without_true_failing"]
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
