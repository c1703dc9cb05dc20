"""`bench goodhart PAPER...` and `bench injection scan PATH`."""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

console = Console()
err_console = Console(stderr=True)

SCANNABLE = {".pdf", ".txt", ".md", ".markdown", ".tex"}


@click.command("goodhart")
@click.argument("papers", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--optimize-with", "optimize_with", required=True, help="Reviewer A: the model the revisions optimise against.")
@click.option("--judges", required=True,
              help="Held-out judges, comma-separated: MODEL or MODEL@VARIANT (harsh, methods, skim, or a file "
                   "with a system prompt), e.g. 'local/smollm2@harsh,gpt-4o'.")
@click.option("--rounds", default=1, show_default=True, type=click.IntRange(1, 20))
@click.option("--calibrator", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Calibrator file: adds a calibrated judge, which reviews each version with "
                   "--calibrated-judge (never A's reviews) and decides at the calibrator's fitted cut-off.")
@click.option("--calibrated-judge", default=None, metavar="MODEL[@VARIANT]",
              help="The reviewer of the calibrated judge: the configuration the calibrator was fit on.")
@click.option("--force-calibrator", is_flag=True,
              help="Use a calibrator fit on another reviewer configuration (marked as a transfer).")
@click.option("--samples", default=1, show_default=True, type=click.IntRange(1, 20),
              help="Reviews per version and judge (an ensemble); 2+ gives per-paper intervals.")
@click.option("--max-chunks", default=None, type=click.IntRange(1, 1000),
              help="Rewrite at most this many prose chunks per round (abstract, introduction, conclusion first).")
@click.option("--max-paper-chars", default=None, type=click.IntRange(1000),
              help="Cut each paper to this many characters (at a paragraph end) before revising and scoring; "
                   "recorded in the report. For small, slow models.")
@click.option("--review-max-tokens", default=2048, show_default=True, type=click.IntRange(256))
@click.option("--form", type=click.Choice(["full", "quick"]), default="full", show_default=True,
              help="Review form for A and every judge: the full NeurIPS form, or one weakness + Overall "
                   "(for small, slow models; the calibrated reviewer needs the full form).")
@click.option("--chunk-chars", default=2400, show_default=True, type=click.IntRange(200),
              help="Largest passage rewritten in one model call.")
@click.option("--temperature", default=0.1, show_default=True, type=float)
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--no-cache", is_flag=True, help="Do not read or write the response cache.")
def goodhart_command(papers, optimize_with, judges, rounds, calibrator, calibrated_judge, force_calibrator, samples,
                     max_chunks, max_paper_chars, review_max_tokens, form, chunk_chars, temperature, out_dir,
                     no_cache) -> None:
    """Revise PAPERS to raise reviewer A's score (presentation only, numbers unchanged), then check
    with held-out judges whether the gain is real. Writes report.json and report.md to --out."""
    from benchmark.goodhart.study import GoodhartConfig, parse_judge_spec, run_goodhart
    from benchmark.goodhart.report import build_report, rich_table, write_report
    from reviewer.llm import ModelClient, summarize

    try:
        specs = [parse_judge_spec(s) for s in judges.split(",") if s.strip()]
    except ValueError as err:
        raise click.BadParameter(str(err), param_hint="--judges") from None
    if calibrator is not None:
        if not calibrated_judge:
            raise click.UsageError("--calibrator needs --calibrated-judge MODEL: the reviewer it was fit on, "
                                   "which reviews each version itself")
        base = parse_judge_spec(calibrated_judge)
        specs.append(base.model_copy(update={
            "name": f"calibrated:{base.name}" + (" (forced transfer)" if force_calibrator else ""),
            "kind": "calibrated", "calibrator": calibrator, "force_calibrator": force_calibrator}))
    config = GoodhartConfig(optimize_with=optimize_with, judges=specs, rounds=rounds, samples=samples,
                            max_chunks=max_chunks, temperature=temperature, max_paper_chars=max_paper_chars,
                            review_max_tokens=review_max_tokens, form=form, chunk_chars=chunk_chars)
    if form == "quick" and calibrator is not None:
        raise click.UsageError("--calibrator needs --form full (the calibrator reads every form score)")
    clients: dict[str, ModelClient] = {}

    def client_for(model: str) -> ModelClient:
        if model not in clients:
            clients[model] = ModelClient(model, cache=not no_cache)
        return clients[model]

    from reviewer.cli_support import exit_codes, finish, run_log

    started = time.monotonic()
    from benchmark.goodhart.study import check_held_out, load_calibrator_for

    try:
        check_held_out(config)
        for judge in config.judges:
            if judge.kind == "calibrated":
                load_calibrator_for(judge, config)
    except ValueError as err:
        raise click.UsageError(str(err)) from None
    with exit_codes(), run_log(out_dir), console.status("Goodhart check ...") as status:
        run = run_goodhart(list(papers), config, client_for=client_for, out_dir=out_dir,
                           progress=lambda msg: status.update(f"Goodhart check: {msg}"))
    calls = [c for client in clients.values() for c in client.usage.calls]
    run.usage = {**summarize(calls), "elapsed_s": round(time.monotonic() - started, 1)}
    report = build_report(run)
    json_path, md_path = write_report(report, out_dir)
    console.print(rich_table(report))
    console.print(f"[bold]{report.overall.verdict}[/]: {report.overall.verdict_text}")
    for p in report.papers:
        if p.error:
            err_console.print(f"[red]{p.paper}: {p.error}[/]")
    console.print(f"Wrote {json_path} and {md_path}")
    finish(sum(bool(p.error) for p in report.papers), len(report.papers), "paper(s)", details=md_path,
           run_dir=out_dir)


@click.group("injection")
def injection_group() -> None:
    """Hidden instructions to reviewers in papers."""


def _targets(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.suffix.lower() in SCANNABLE and p.is_file())
    return [path]


@injection_group.command("scan")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--json", "json_out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the findings as JSON.")
def scan_command(path: Path, json_out: Path | None) -> None:
    """List suspected instructions to a reviewer in PATH (a paper or a folder of papers).

    Exit status: 1 something found; else 2 if a file could not be read; else 0 (clean).
    """
    from reviewer.injection.scan import scan_paper

    results: dict[str, list[dict]] = {}
    errors = 0
    table = Table(title=f"Prompt-injection scan: {path}")
    for col in ("file", "kind", "page", "position", "text", "detail"):
        table.add_column(col, overflow="fold")
    for target in _targets(path):
        try:
            findings = scan_paper(target)
        except Exception as err:  # unreadable file: report and keep scanning the rest
            err_console.print(f"[red]error:[/] {target}: {type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}")
            errors += 1
            continue
        results[str(target)] = [f.model_dump(mode="json") for f in findings]
        for f in findings:
            pos = "" if f.bbox is None else "({:.0f}, {:.0f}, {:.0f}, {:.0f})".format(*f.bbox)
            if f.char_span is not None:
                pos = f"chars {f.char_span[0]}-{f.char_span[1]}"
            snippet = " ".join(f.text.split())
            table.add_row(target.name, f.kind, "" if f.page is None else str(f.page), pos,
                          snippet[:160] + ("..." if len(snippet) > 160 else ""), f.detail[:120])
    n_found = sum(len(v) for v in results.values())
    if n_found:
        console.print(table)
    flagged = sum(1 for v in results.values() if v)
    console.print(f"{n_found} finding(s) in {flagged} of {len(results)} file(s) scanned"
                  + (f"; {errors} unreadable" if errors else ""))
    if json_out:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps({"path": str(path), "files": results}, indent=2), encoding="utf-8")
        console.print(f"Wrote {json_out}")
    sys.exit(1 if n_found else (2 if errors else 0))


def register(group: click.Group) -> None:
    group.add_command(goodhart_command)
    group.add_command(injection_group)
