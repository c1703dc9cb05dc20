"""Prompt-injection detector: false-positive rate on real papers, catch rate on injected variants.

    python -m benchmark.perf.injection_fpr [--data ../shared/data] [--json OUT] [--pdf-dir DIR]

* FPR: every ICLR 2022 text in DATA/iclr2022/papers (1,019 real submissions) is scanned; any
  finding counts as a false positive (they were written before LLM reviewers existed).
* Catch rate, text: every phrasing in `INJECTIONS` inserted at a paragraph break of a sample of
  those texts.
* Catch rate, PDF: every technique in `TECHNIQUES` on every PDF in DATA/ai_scientist_papers, each
  variant scanned on its own; caught = a finding of the expected kind on the injected page
  carrying at least 80% of the injected words. The clean PDFs are scanned too.
* Per variant: the three pdflatex workshop papers of `benchmark/perf/injection_papers.py`;
  false positives on the AI-Scientist run PDFs (DATA/ai_scientist_runs/*/*.pdf).
* `--pdf-dir`: PDF false-positive rate on another folder of real PDFs (e.g. /usr/share/doc).
* `--judge MODEL [--api-base URL]`: the LLM judge (`reviewer.injection.judge`) beside the patterns:
  per workshop variant, caught by the patterns, by the judge, by either (the judge reads the paper's
  extracted text, hidden text included, as the reviewer would without the scan); its false
  positives on `--judge-sample` ICLR texts (one call each); candidate passages per paper (the cost
  proxy). `--judge-only` skips the other measurements.
Takes a few minutes on two cores (without the judge).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import random
import re
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from reviewer.injection.scan import Finding, scan_pdf, scan_text
from reviewer.injection.variants import INJECTIONS, TECHNIQUES, make_variant


def workshop_variants() -> dict:
    """Detection per variant on the three pdflatex workshop papers; their clean twins' findings."""
    from benchmark.perf.injection_papers import build, papers, squash

    rows, clean_flagged = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for paper in papers():
            t = time.monotonic()
            findings = scan_pdf(build(paper, Path(tmp)))
            scan_s = time.monotonic() - t
            for v in paper.variants:
                hit = any(f.kind == v.kind and all(squash(p) in squash(f.text) for p in v.probes) for f in findings)
                rows.append({"paper": paper.name, "variant": v.name, "caught": hit, "scan_s": round(scan_s, 2)})
            if scan_pdf(build(paper, Path(tmp), injected=False)):
                clean_flagged.append(paper.name)
    return {"variants": len(rows), "caught": sum(r["caught"] for r in rows), "rows": rows,
            "clean_twins_flagged": clean_flagged}


def runs_pdf_fpr(data: Path) -> dict:
    pdfs = sorted((data / "ai_scientist_runs").glob("*/*.pdf"))
    t = time.monotonic()
    flagged = [p.name for p in pdfs if scan_pdf(p)]
    return {"pdfs": len(pdfs), "flagged": flagged, "seconds": round(time.monotonic() - t, 1)}


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    if n == 0:
        return (float("nan"), float("nan"))
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def _words(text: str) -> set[str]:
    return set(re.findall(r"\w+", text.lower()))


def caught(findings: list[Finding], kind: str, page: int | None, text: str) -> bool:
    hits = [f for f in findings if f.kind == kind and (page is None or f.page == page)]
    found = set().union(*(_words(f.text) for f in hits)) if hits else set()
    return len(_words(text) & found) >= 0.8 * len(_words(text))


def iclr_fpr(papers: list[Path]) -> dict:
    flagged = []
    for path in papers:
        findings = scan_text(path.read_text(encoding="utf-8", errors="replace"))
        if findings:
            flagged.append({"paper": path.name, "findings": [f.model_dump(mode="json") for f in findings]})
    k, n = len(flagged), len(papers)
    return {"papers": n, "flagged": k, "fpr": k / n if n else None, "fpr_ci95": wilson(k, n), "flagged_papers": flagged}


def text_catch_rate(papers: list[Path], n_papers: int, seed: int) -> dict:
    rng = random.Random(seed)
    sample = rng.sample(papers, min(n_papers, len(papers)))
    total, missed = 0, []
    for path in sample:
        text = path.read_text(encoding="utf-8", errors="replace")
        breaks = [m.end() for m in re.finditer(r"\n\n", text)] or [len(text)]
        for phrase in INJECTIONS:
            cut = rng.choice(breaks)
            findings = scan_text(text[:cut] + phrase + "\n\n" + text[cut:])
            total += 1
            if not caught(findings, "reviewer_directive", None, phrase):
                missed.append({"paper": path.name, "phrase": phrase})
    return {"variants": total, "caught": total - len(missed), "catch_rate": (total - len(missed)) / total,
            "catch_rate_ci95": wilson(total - len(missed), total), "missed": missed}


def pdf_catch_rate(pdfs: list[Path], page_index: int = 1) -> dict:
    rows, clean_flagged = [], []
    with tempfile.TemporaryDirectory() as tmp:
        k = 0
        for pdf in pdfs:
            if scan_pdf(pdf):
                clean_flagged.append(pdf.name)
            for technique, (_writer, kind) in TECHNIQUES.items():
                phrase = INJECTIONS[k % len(INJECTIONS)]
                k += 1
                target = make_variant(pdf, Path(tmp) / f"{pdf.stem}_{technique}.pdf", technique, phrase, page_index)
                findings = scan_pdf(target)
                rows.append({"paper": pdf.name, "technique": technique, "phrase": phrase,
                             "caught": caught(findings, kind, page_index + 1, phrase),
                             "findings": len(findings)})
    n, c = len(rows), sum(r["caught"] for r in rows)
    return {"variants": n, "caught": c, "catch_rate": c / n if n else None, "catch_rate_ci95": wilson(c, n),
            "clean_pdfs": len(pdfs), "clean_pdfs_flagged": clean_flagged,
            "missed": [r for r in rows if not r["caught"]], "by_technique": {
                t: sum(r["caught"] for r in rows if r["technique"] == t) for t in TECHNIQUES}}


def pdf_fpr(folder: Path, limit: int, seed: int) -> dict:
    import pymupdf

    files = sorted(folder.rglob("*.pdf"))
    random.Random(seed).shuffle(files)
    scanned, flagged = 0, []
    for path in files:
        if scanned >= limit:
            break
        try:
            with pymupdf.open(path) as doc:
                if doc.needs_pass or len(doc) > 40:
                    continue
            findings = scan_pdf(path)
        except Exception:  # damaged or unusual files are not part of the measurement
            continue
        scanned += 1
        if findings:
            flagged.append({"pdf": str(path), "findings": [f"{f.kind} p{f.page}: {f.text[:80]!r}" for f in findings]})
    return {"pdfs": scanned, "flagged": len(flagged), "fpr": len(flagged) / scanned if scanned else None,
            "fpr_ci95": wilson(len(flagged), scanned), "flagged_pdfs": flagged}


def _judge_all(texts: list[str], model: str, api_base: str | None) -> list[tuple[list[Finding], object]]:
    import asyncio

    from reviewer.injection.judge import ajudge_text
    from reviewer.llm import ModelClient

    client = ModelClient(model, api_base=api_base, max_tokens=400)

    async def run() -> list:
        return await asyncio.gather(*(ajudge_text(t, client) for t in texts))

    return asyncio.run(run())


def judge_workshop_variants(model: str, api_base: str | None) -> dict:
    """Per variant of the three workshop papers: caught by the patterns, by the judge, by either."""
    from benchmark.perf.injection_papers import build, papers, squash
    from reviewer.injection.judge import candidate_passages
    from reviewer.paper_text import load_paper_text

    rows, clean = [], []
    with tempfile.TemporaryDirectory() as tmp:
        built = [(paper, build(paper, Path(tmp)), build(paper, Path(tmp), injected=False)) for paper in papers()]
        texts = [load_paper_text(pdf) for _, pdf, _ in built] + [load_paper_text(twin) for _, _, twin in built]
        judged = _judge_all(texts, model, api_base)
        for k, (paper, pdf, _twin) in enumerate(built):
            findings = scan_pdf(pdf)
            judge_findings, verdict = judged[k]
            passages, _ = candidate_passages(texts[k])
            for v in paper.variants:
                by_patterns = any(f.kind == v.kind and all(squash(p) in squash(f.text) for p in v.probes)
                                  for f in findings)
                by_judge = any(all(squash(p) in squash(f.text) for p in v.probes) for f in judge_findings)
                # whether the judge was shown it at all (the pre-filter's recall, the judge's ceiling)
                shown = any(all(squash(p) in squash(c.text) for p in v.probes) for c in passages)
                rows.append({"paper": paper.name, "variant": v.name, "patterns": by_patterns, "shown": shown,
                             "judge": by_judge, "either": by_patterns or by_judge})
            clean.append({"paper": paper.name, "candidates": judged[len(built) + k][1].candidates,
                          "judge_flagged": len(judged[len(built) + k][1].flagged),
                          "judge_status": judged[len(built) + k][1].status})
        verdicts = [v for _, v in judged[:len(built)]]
    return {"variants": len(rows), "patterns": sum(r["patterns"] for r in rows), "shown": sum(r["shown"] for r in rows),
            "judge": sum(r["judge"] for r in rows),
            "either": sum(r["either"] for r in rows), "rows": rows, "clean_twins": clean,
            "injected": [{"paper": paper.name, "candidates": v.candidates, "sent": v.sent, "flagged": len(v.flagged),
                          "status": v.status, "detail": v.detail} for (paper, _, _), v in zip(built, verdicts)]}


def candidate_counts(papers: list[Path]) -> dict:
    """Candidate passages per ICLR text, all of them (no model call): what a judge call would carry."""
    from reviewer.injection.judge import MAX_PASSAGES, candidate_passages

    counts = sorted(candidate_passages(p.read_text(encoding="utf-8", errors="replace"))[1] for p in papers)
    n = len(counts)
    return {"papers": n, "mean": sum(counts) / n, "p50": counts[n // 2], "p95": counts[int(0.95 * n)],
            "max": counts[-1], "none": sum(c == 0 for c in counts), "over_cap": sum(c > MAX_PASSAGES for c in counts),
            "cap": MAX_PASSAGES}


def judge_iclr_fpr(papers: list[Path], model: str, api_base: str | None, n: int, seed: int) -> dict:
    """The judge's false positives on a sample of ICLR texts (any passage flagged counts)."""
    sample = random.Random(seed).sample(papers, min(n, len(papers)))
    t = time.monotonic()
    judged = _judge_all([p.read_text(encoding="utf-8", errors="replace") for p in sample], model, api_base)
    per_paper = [{"paper": p.name, "candidates": v.candidates, "sent": v.sent, "flagged": len(v.flagged),
                  "status": v.status, "passages": [f.text[:200] for f in findings]}
                 for p, (findings, v) in zip(sample, judged)]
    # a paper with no candidate passage makes no call and cannot be flagged: it counts as answered
    answered = [r for r in per_paper if r["status"] != "unavailable"]
    k = sum(r["flagged"] > 0 for r in answered)
    counts = [r["candidates"] for r in per_paper]
    return {"papers": len(sample), "answered": len(answered), "unavailable": len(per_paper) - len(answered),
            "no_call": sum(r["status"] == "no_candidates" for r in per_paper),
            "called": sum(r["status"] == "ok" for r in per_paper), "flagged": k,
            "fpr": k / len(answered) if answered else None, "fpr_ci95": wilson(k, len(answered)),
            "candidates_mean": sum(counts) / len(counts) if counts else None, "candidates_max": max(counts, default=0),
            "seconds": round(time.monotonic() - t, 1), "per_paper": per_paper}


def report_judge(result: dict, papers: list[Path], args: argparse.Namespace) -> None:
    result["judge_workshop"] = judge_workshop_variants(args.judge, args.api_base)
    r = result["judge_workshop"]
    print(f"Judge {args.judge} on the workshop variants: patterns {r['patterns']}/{r['variants']}, shown to the "
          f"judge {r['shown']}/{r['variants']}, judge "
          f"{r['judge']}/{r['variants']}, either {r['either']}/{r['variants']}", flush=True)
    for row in r["rows"]:
        print(f"  {row['paper']:26s} {row['variant']:24s} patterns {'yes' if row['patterns'] else 'no ':3s} "
              f"shown {'yes' if row['shown'] else 'no ':3s} judge {'yes' if row['judge'] else 'no ':3s} "
              f"either {'yes' if row['either'] else 'NO'}")
    for row in r["injected"]:
        print(f"  {row['paper']}: {row['candidates']} candidate passage(s), {row['sent']} sent, {row['flagged']} "
              f"flagged ({row['status']}{': ' + row['detail'][:120] if row['detail'] else ''})")
    for row in r["clean_twins"]:
        print(f"  clean twin {row['paper']}: {row['candidates']} candidate(s), {row['judge_flagged']} flagged "
              f"({row['judge_status']})")
    result["judge_iclr"] = judge_iclr_fpr(papers, args.judge, args.api_base, args.judge_sample, args.seed)
    r = result["judge_iclr"]
    fpr = "n/a" if r["fpr"] is None else f"{r['fpr']:.3f} (95% CI {r['fpr_ci95'][0]:.3f}-{r['fpr_ci95'][1]:.3f})"
    print(f"Judge false positives on {r['papers']} ICLR texts: {r['flagged']}/{r['answered']} answered = {fpr} "
          f"({r['flagged']} of the {r['called']} judged by a call); unavailable {r['unavailable']}; no candidate "
          f"(no call) {r['no_call']}; candidates per paper mean "
          f"{r['candidates_mean']:.2f}, max {r['candidates_max']} ({r['seconds']} s)", flush=True)
    for row in r["per_paper"]:
        for passage in row["passages"]:
            print(f"  flagged {row['paper']}: {' '.join(passage.split())[:160]}")
    result["judge_candidates_iclr"] = candidate_counts(papers)
    r = result["judge_candidates_iclr"]
    print(f"Candidate passages on all {r['papers']} ICLR texts (no call): mean {r['mean']:.2f}, median {r['p50']}, "
          f"p95 {r['p95']}, max {r['max']}; none {r['none']}; over the cap of {r['cap']}: {r['over_cap']}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path,
                        default=Path(os.environ.get("BENCH_SHARED_DATA") or REPO.parent / "shared" / "data"))
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--text-variant-papers", type=int, default=50)
    parser.add_argument("--pdf-dir", type=Path, default=None)
    parser.add_argument("--pdf-limit", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--judge", default=None, metavar="MODEL", help="also measure this LLM judge")
    parser.add_argument("--api-base", default=None, help="endpoint of the judge model")
    parser.add_argument("--judge-sample", type=int, default=50, help="ICLR texts the judge reads (a call each)")
    parser.add_argument("--judge-only", action="store_true", help="only the judge's measurements")
    args = parser.parse_args()

    papers = sorted((args.data / "iclr2022" / "papers").glob("*.txt"))
    pdfs = sorted((args.data / "ai_scientist_papers").glob("*.pdf"))
    if not papers:
        sys.exit(f"no ICLR texts under {args.data / 'iclr2022' / 'papers'}")
    result: dict = {}
    started = time.monotonic()
    if args.judge:
        report_judge(result, papers, args)
    if args.judge_only:
        _write(result, started, args.json)
        return
    result["workshop_papers"] = workshop_variants()
    r = result["workshop_papers"]
    print(f"Workshop papers: {r['caught']}/{r['variants']} variants caught; clean twins flagged: "
          f"{r['clean_twins_flagged']}", flush=True)
    for row in r["rows"]:
        print(f"  {row['paper']:26s} {row['variant']:24s} {'caught' if row['caught'] else 'MISSED'}")
    result["runs_pdf_fpr"] = runs_pdf_fpr(args.data)
    r = result["runs_pdf_fpr"]
    print(f"AI-Scientist run PDFs flagged: {len(r['flagged'])}/{r['pdfs']} ({r['seconds']} s) {r['flagged']}", flush=True)
    t_iclr = time.monotonic()
    result["iclr_text_fpr"] = iclr_fpr(papers)
    result["iclr_text_fpr"]["seconds"] = round(time.monotonic() - t_iclr, 1)
    r = result["iclr_text_fpr"]
    print(f"FPR on {r['papers']} ICLR 2022 texts ({r['seconds']} s): {r['flagged']}/{r['papers']} = {r['fpr']:.4f} "
          f"(95% CI {r['fpr_ci95'][0]:.4f}-{r['fpr_ci95'][1]:.4f})", flush=True)
    for item in r["flagged_papers"]:
        for f in item["findings"]:
            print(f"  flagged {item['paper']}: {f['detail']} | {' '.join(f['text'].split())[:160]}")
    result["text_variants"] = text_catch_rate(papers, args.text_variant_papers, args.seed)
    r = result["text_variants"]
    print(f"Text variants caught: {r['caught']}/{r['variants']} = {r['catch_rate']:.4f} "
          f"(95% CI {r['catch_rate_ci95'][0]:.4f}-{r['catch_rate_ci95'][1]:.4f})", flush=True)
    if pdfs:
        result["pdf_variants"] = pdf_catch_rate(pdfs)
        r = result["pdf_variants"]
        print(f"PDF variants caught: {r['caught']}/{r['variants']} = {r['catch_rate']:.4f} "
              f"({len(TECHNIQUES)} techniques x {len(pdfs)} papers); clean PDFs flagged: "
              f"{len(r['clean_pdfs_flagged'])}/{r['clean_pdfs']}", flush=True)
        for miss in r["missed"]:
            print(f"  missed {miss['paper']} {miss['technique']}: {miss['phrase']}")
    if args.pdf_dir:
        result["pdf_fpr"] = pdf_fpr(args.pdf_dir, args.pdf_limit, args.seed)
        r = result["pdf_fpr"]
        print(f"FPR on {r['pdfs']} PDFs under {args.pdf_dir}: {r['flagged']}/{r['pdfs']}", flush=True)
        for item in r["flagged_pdfs"]:
            print(f"  flagged {item['pdf']}: {item['findings'][:3]}")
    _write(result, started, args.json)


def _write(result: dict, started: float, path: Path | None) -> None:
    result["elapsed_s"] = round(time.monotonic() - started, 1)
    if path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(result, indent=2), encoding="utf-8")
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
