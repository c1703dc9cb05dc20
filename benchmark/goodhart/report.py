"""Goodhart report: gains of reviewer A and of the held-out judges, inflation, bootstrap CIs,
verdicts; written as report.json + report.md and shown as a rich table. Reads a `GoodhartRun`
record; never re-runs a model.

All gains are on a common 0-1 scale ((Overall - 1) / 9 for reviewers, P(accept) for the
calibrated reviewer), final version minus original. Inflation = A's gain - the judges' mean gain.
"""
from __future__ import annotations

import json
from pathlib import Path
from statistics import mean

import numpy as np
from pydantic import BaseModel

from benchmark.goodhart.study import GoodhartRun, PaperRun
from reviewer.eval.bootstrap import diff_of_means_ci, mean_ci

N_BOOT = 2000
CI_LEVEL = 0.95
TOLERANCE = 0.5 / 9  # half an Overall point: below this a point estimate counts as no change


class Interval(BaseModel):
    estimate: float
    low: float | None = None
    high: float | None = None
    n: int  # papers (overall) or review replicates per version (per paper)


class JudgeGain(BaseModel):
    judge: str
    before: float  # normalised scores, original and final version
    after: float
    gain: Interval
    native_before: float  # on the judge's own scale
    native_after: float


class PaperSummary(BaseModel):
    paper: str
    rounds_accepted: int
    rounds: int
    a_gain: JudgeGain | None
    judge_gains: list[JudgeGain]
    judges_gain: Interval | None
    inflation: Interval | None
    verdict: str
    verdict_text: str
    error: str | None = None


class OverallSummary(BaseModel):
    n_papers: int
    a_gain: Interval | None
    judge_gains: dict[str, Interval]
    judges_gain: Interval | None
    inflation: Interval | None
    verdict: str
    verdict_text: str


class GoodhartReport(BaseModel):
    run: GoodhartRun
    papers: list[PaperSummary]
    overall: OverallSummary


def bootstrap_mean_ci(values: list[float], seed: int = 0) -> Interval:
    """Percentile bootstrap CI of the mean; no interval for fewer than two values."""
    arr = np.asarray(values, dtype=float)
    ci = mean_ci(arr, level=CI_LEVEL, resamples=N_BOOT, seed=seed)
    return Interval(estimate=float(arr.mean()) if arr.size else float("nan"),
                    low=ci[0] if ci else None, high=ci[1] if ci else None, n=int(arr.size))


def bootstrap_diff_ci(before: list[float], after: list[float], seed: int = 0) -> Interval:
    """CI of mean(after) - mean(before) from independent replicates of each version."""
    b, a = np.asarray(before, dtype=float), np.asarray(after, dtype=float)
    ci = diff_of_means_ci(b, a, level=CI_LEVEL, resamples=N_BOOT, seed=seed)
    return Interval(estimate=float(a.mean() - b.mean()), low=ci[0] if ci else None,
                    high=ci[1] if ci else None, n=int(min(a.size, b.size)))


def _positive(iv: Interval | None) -> bool:
    if iv is None:
        return False
    return iv.low > 0 if iv.low is not None else iv.estimate > TOLERANCE


def verdict(a_gain: Interval | None, judges_gain: Interval | None, inflation: Interval | None) -> tuple[str, str]:
    """`no_gain`, `confirmed`, `partly_confirmed`, `not_confirmed` or `inconclusive`.

    With an interval, "positive" means its lower end is above 0; with a point estimate only,
    above half an Overall point.
    """
    if a_gain is None or judges_gain is None:
        return "inconclusive", "not enough scores for a verdict"
    if not _positive(a_gain):
        return "no_gain", "reviewer A's score did not rise clearly: nothing for the judges to confirm"
    judges_up, inflated = _positive(judges_gain), _positive(inflation)
    if judges_up and not inflated:
        return "confirmed", "the held-out judges confirm A's gain"
    if judges_up and inflated:
        return "partly_confirmed", "the judges see a gain, but smaller than A's: part of A's gain is reviewer-specific"
    if inflated:
        return "not_confirmed", ("GOODHART: A's gain is NOT confirmed by the held-out judges; "
                                 "the revisions optimised the reviewer, not the paper")
    return "inconclusive", "A's gain is neither confirmed nor clearly inflated"


def _series(run: PaperRun, judge: str, round_no: int) -> tuple[float, float, list[float]] | None:
    for s in run.scores:
        if s.judge == judge and s.round == round_no:
            return s.normalised, s.overall, s.replicates or [s.normalised]
    return None


def summarise_paper(run: PaperRun, seed: int = 0) -> PaperSummary:
    rounds = [r.round for r in run.revisions]
    if run.error or not rounds:
        return PaperSummary(paper=run.paper, rounds_accepted=0, rounds=0, a_gain=None, judge_gains=[],
                            judges_gain=None, inflation=None, verdict="error", verdict_text=run.error or "no data",
                            error=run.error)
    last = max(rounds)
    judges = list(dict.fromkeys(s.judge for s in run.scores))
    gains: list[JudgeGain] = []
    for k, judge in enumerate(judges):
        first, final = _series(run, judge, 0), _series(run, judge, last)
        if first is None or final is None:
            continue
        gains.append(JudgeGain(judge=judge, before=first[0], after=final[0],
                               gain=bootstrap_diff_ci(first[2], final[2], seed=seed + k),
                               native_before=first[1], native_after=final[1]))
    a_gain = next((g for g in gains if g.judge.startswith("A:")), None)
    held_out = [g for g in gains if not g.judge.startswith("A:")]
    judges_gain = inflation = None
    if held_out and a_gain is not None:
        # CI of the judges' mean gain and of A - judges, from the per-judge replicate intervals
        judges_gain = _combine([g.gain for g in held_out])
        inflation = _difference(a_gain.gain, judges_gain)
    v, text = verdict(a_gain.gain if a_gain else None, judges_gain, inflation)
    return PaperSummary(paper=run.paper, rounds_accepted=sum(r.accepted for r in run.revisions if r.round > 0),
                        rounds=last, a_gain=a_gain, judge_gains=held_out, judges_gain=judges_gain,
                        inflation=inflation, verdict=v, verdict_text=text)


def _combine(intervals: list[Interval]) -> Interval:
    """Mean of several independent estimates; its interval from the half-widths (normal approx.)."""
    est = float(mean(i.estimate for i in intervals))
    if any(i.low is None for i in intervals):
        return Interval(estimate=est, n=min(i.n for i in intervals))
    half = float(np.sqrt(sum(((i.high - i.low) / 2) ** 2 for i in intervals)) / len(intervals))
    return Interval(estimate=est, low=est - half, high=est + half, n=min(i.n for i in intervals))


def _difference(a: Interval, b: Interval) -> Interval:
    est = a.estimate - b.estimate
    if a.low is None or b.low is None:
        return Interval(estimate=est, n=min(a.n, b.n))
    half = float(np.hypot((a.high - a.low) / 2, (b.high - b.low) / 2))
    return Interval(estimate=est, low=est - half, high=est + half, n=min(a.n, b.n))


def summarise_overall(papers: list[PaperSummary], seed: int = 0) -> OverallSummary:
    ok = [p for p in papers if p.a_gain is not None and p.judges_gain is not None]
    if not ok:
        return OverallSummary(n_papers=0, a_gain=None, judge_gains={}, judges_gain=None, inflation=None,
                              verdict="inconclusive", verdict_text="no paper has scores")
    a = bootstrap_mean_ci([p.a_gain.gain.estimate for p in ok], seed)
    judge_names = list(dict.fromkeys(g.judge for p in ok for g in p.judge_gains))
    per_judge = {name: bootstrap_mean_ci([g.gain.estimate for p in ok for g in p.judge_gains if g.judge == name],
                                         seed + 1 + k) for k, name in enumerate(judge_names)}
    judges = bootstrap_mean_ci([p.judges_gain.estimate for p in ok], seed + 100)
    inflation = bootstrap_mean_ci([p.inflation.estimate for p in ok], seed + 200)  # paired by paper
    v, text = verdict(a, judges, inflation)
    return OverallSummary(n_papers=len(ok), a_gain=a, judge_gains=per_judge, judges_gain=judges,
                          inflation=inflation, verdict=v, verdict_text=text)


def build_report(run: GoodhartRun) -> GoodhartReport:
    papers = [summarise_paper(p, seed=run.config.seed + 10 * i) for i, p in enumerate(run.papers)]
    return GoodhartReport(run=run, papers=papers, overall=summarise_overall(papers, seed=run.config.seed))


# ----------------------------------------------------------------------------------------------
# Rendering


def fmt(iv: Interval | None, scale: float = 1.0) -> str:
    if iv is None:
        return "n/a"
    if iv.low is None:
        return f"{iv.estimate * scale:+.3f}"
    return f"{iv.estimate * scale:+.3f} [{iv.low * scale:+.3f}, {iv.high * scale:+.3f}]"


def to_markdown(report: GoodhartReport) -> str:
    cfg = report.run.config
    judges = ", ".join(j.name for j in cfg.judges)
    lines = [
        "# Goodhart check",
        "",
        f"Optimised against **{cfg.optimize_with}** for {cfg.rounds} round(s); held-out judges: {judges}. "
        f"{cfg.samples} review(s) per version and judge ({cfg.form} form); "
        f"max chunks per round: {cfg.max_chunks or 'all'}.",
        "Gains are final version minus original on a 0-1 scale ((Overall - 1)/9, or P(accept)); "
        "multiply by 9 for Overall points. 95% bootstrap intervals: per paper over review replicates "
        "(none with one review), overall over papers.",
        f"Papers cut to {cfg.max_paper_chars} characters before revising and scoring."
        if cfg.max_paper_chars else "Full papers (each reviewer truncates to its own context).",
        "",
        f"**Overall ({report.overall.n_papers} papers): {report.overall.verdict}** - {report.overall.verdict_text}",
        "",
        "| | A's gain | judges' gain | inflation (A - judges) |",
        "|---|---|---|---|",
        f"| overall | {fmt(report.overall.a_gain)} | {fmt(report.overall.judges_gain)} | {fmt(report.overall.inflation)} |",
    ]
    for name, iv in report.overall.judge_gains.items():
        lines.append(f"| judge {name} | | {fmt(iv)} | |")
    lines += ["", "## Per paper", "",
              "| paper | rounds accepted | A before -> after (Overall) | A's gain | judges' gain | inflation | verdict |",
              "|---|---|---|---|---|---|---|"]
    for p in report.papers:
        if p.error:
            lines.append(f"| {p.paper} | - | - | - | - | - | error: {p.error} |")
            continue
        a = p.a_gain
        before_after = f"{a.native_before:.2f} -> {a.native_after:.2f}" if a else "n/a"
        lines.append(f"| {p.paper} | {p.rounds_accepted}/{p.rounds} | {before_after} | {fmt(a.gain if a else None)} | "
                     f"{fmt(p.judges_gain)} | {fmt(p.inflation)} | {p.verdict} |")
    lines += ["", "## Judges per paper", "", "| paper | judge | before -> after (native) | gain |", "|---|---|---|---|"]
    for p in report.papers:
        for g in p.judge_gains:
            lines.append(f"| {p.paper} | {g.judge} | {g.native_before:.3g} -> {g.native_after:.3g} | {fmt(g.gain)} |")
    lines += ["", "## Revisions", "", "| paper | round | accepted | reason | chunks rewritten |", "|---|---|---|---|---|"]
    for run in report.run.papers:
        for r in run.revisions:
            if r.round == 0:
                continue
            done = sum(c.accepted for c in r.chunks)
            lines.append(f"| {run.paper} | {r.round} | {'yes' if r.accepted else 'no'} | {r.reason} | "
                         f"{done}/{len(r.chunks)} of {r.chunks_total} |")
    rejected = [(run.paper, r.round, c) for run in report.run.papers for r in run.revisions for c in r.chunks
                if not c.accepted]
    if rejected:
        reasons: dict[str, int] = {}
        for _, _, c in rejected:
            key = c.reason.split(" (")[0]
            reasons[key] = reasons.get(key, 0) + 1
        lines += ["", "Rejected chunk rewrites: " + ", ".join(f"{k}: {v}" for k, v in sorted(reasons.items()))]
    usage = report.run.usage
    if usage:
        lines += ["", f"Model usage: {usage.get('calls', 0)} calls, {usage.get('prompt_tokens', 0)} prompt + "
                      f"{usage.get('completion_tokens', 0)} completion tokens, ${usage.get('cost_usd', 0):.4f}, "
                      f"{usage.get('elapsed_s', 0):.0f} s."]
    return "\n".join(lines) + "\n"


def rich_table(report: GoodhartReport):
    from rich.table import Table

    table = Table(title=f"Goodhart check: optimised against {report.run.config.optimize_with}")
    for col in ("paper", "rounds", "A gain", "judges gain", "inflation", "verdict"):
        table.add_column(col)
    colour = {"not_confirmed": "red", "partly_confirmed": "yellow", "confirmed": "green"}
    for p in report.papers:
        table.add_row(p.paper, f"{p.rounds_accepted}/{p.rounds}", fmt(p.a_gain.gain if p.a_gain else None),
                      fmt(p.judges_gain), fmt(p.inflation),
                      f"[{colour.get(p.verdict, 'white')}]{p.verdict}[/]")
    o = report.overall
    table.add_row("[bold]overall[/]", str(o.n_papers), fmt(o.a_gain), fmt(o.judges_gain), fmt(o.inflation),
                  f"[bold {colour.get(o.verdict, 'white')}]{o.verdict}[/]")
    return table


def write_report(report: GoodhartReport, out_dir: Path) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out_dir / "report.json", out_dir / "report.md"
    json_path.write_text(json.dumps(report.model_dump(mode="json"), indent=2), encoding="utf-8")
    md_path.write_text(to_markdown(report), encoding="utf-8")
    return json_path, md_path
