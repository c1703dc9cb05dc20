"""`bench reviewer eval|calibrate` and `bench data fetch|export`."""
from __future__ import annotations

import asyncio
import json
from pathlib import Path

import click

from reviewer.cli_support import exit_code_for, fail, finish, infrastructure_error

from reviewer.eval.dataset import DatasetError

READ_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)
READ_DIR = click.Path(exists=True, file_okay=False, path_type=Path)


def _group(parent: click.Group, name: str, help_text: str) -> click.Group:
    existing = parent.commands.get(name)
    if isinstance(existing, click.Group):
        return existing
    group = click.Group(name, help=help_text)
    parent.add_command(group)
    return group


def register(group: click.Group) -> None:
    reviewer = _group(group, "reviewer", "Evaluate and calibrate LLM reviewers against human decisions.")
    reviewer.add_command(eval_command)
    reviewer.add_command(calibrate_command)
    data = _group(group, "data", "Build reviewer-evaluation datasets.")
    data.add_command(fetch_command)
    data.add_command(export_command)
    data.add_command(audit_command)


def _console():
    from rich.console import Console

    return Console(stderr=True)


# ---------------------------------------------------------------- eval
@click.command("eval")
@click.option("--ratings", required=True, type=READ_FILE, help="ratings.tsv of the dataset folder.")
@click.option("--reviews", "reviews", multiple=True, type=READ_FILE,
              help="Recorded reviews (llm_reviews CSV format); repeat for several configurations.")
@click.option("--papers", type=READ_DIR, default=None, help="Papers folder, to review live with --model.")
@click.option("--model", default=None, help="Model for live reviewing (e.g. gpt-4o, local/smollm2).")
@click.option("--api-base", default=None, help="Live mode: endpoint of an openai/<name> model served elsewhere.")
@click.option("--no-cache", is_flag=True,
              help="Do not read or write the caches (or BENCH_NO_CACHE=1): live replies, and the audit and text "
                   "baseline kept under the dataset's content hash.")
@click.option("--reflections", default=0, show_default=True, type=int)
@click.option("--fewshot", default=0, show_default=True, type=int)
@click.option("--ensemble", default=1, show_default=True, type=int)
@click.option("--concurrency", default=4, show_default=True, type=int)
@click.option("--limit", default=None, type=int, help="Review only the first N rated papers (live mode).")
@click.option("--prepare-workers", default=None, type=click.IntRange(min=0),
              help="Live mode: processes that prepare papers (injection scan, anonymization) as review slots need "
                   "them. Default: one per core when there are 16+ papers and 2+ cores; 0: one thread.")
@click.option("--out-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where live reviews are kept (one JSON per paper; rerunning resumes). Default runs/reviews/<config>.")
@click.option("--no-anonymize", is_flag=True,
              help="Live mode: review the paper texts as given (default: anonymized, see reviewer/anonymize.py).")
@click.option("--injection-judge", "injection_judge", default=None, metavar="MODEL",
              help="Live mode: also ask MODEL which passages that look addressed to the reviewer instruct it (one "
                   "bounded call per paper; flagged passages are removed and recorded). See reviewer/injection/judge.py.")
@click.option("--calibrator", type=READ_FILE, default=None,
              help="Calibrator JSON from `bench reviewer calibrate`. With it, the flat top-level keys of --json "
                   "(roc_auc, balanced_accuracy, ...) are the calibrated figures, and `primary_row` names their "
                   "entry under `rows`: '<configuration> (calibrated)', or 'stacked_calibrator (calibrated)' for a "
                   "stacked calibrator; `rows` holds every row.")
@click.option("--text-baseline/--no-text-baseline", default=True, show_default=True,
              help="Add the TF-IDF + logistic-regression rows (anonymized and raw text, cross-fitted) when the "
                   "dataset folder (or --papers) has the paper texts.")
@click.option("--audit/--no-audit", "audit", default=True, show_default=True,
              help="Audit the paper texts for label leaks (bench data audit); rows of recorded reviews on a "
                   "dataset the audit calls leaky get a note.")
@click.option("--refit-resamples", default=0, show_default=True, type=click.IntRange(min=0),
              help="Text-baseline intervals from this many resamples, each cross-fitted afresh (slow: a fit per "
                   "resample). 0: the out-of-fold predictions are held fixed, and the rows say so.")
@click.option("--cross-fit", is_flag=True,
              help="Also add out-of-fold calibrated P(accept) per configuration (nested CV; slower).")
@click.option("--json", "json_out", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.option("--report", "report_dir", type=click.Path(file_okay=False, path_type=Path), default=None)
@click.option("--notes", "notes_file", type=READ_FILE, default=None,
              help="Markdown appended to the report (e.g. the output of `calibrate --compare`).")
@click.option("--resamples", default=1000, show_default=True, type=int, help="Bootstrap resamples for the CIs.")
@click.option("--seed", default=0, show_default=True, type=int)
def eval_command(ratings, reviews, papers, model, api_base, no_cache, reflections, fewshot, ensemble, concurrency, limit,
                 prepare_workers, out_dir,
                 no_anonymize, injection_judge, calibrator, text_baseline, audit, refit_resamples, cross_fit, json_out, report_dir, notes_file,
                 resamples, seed) -> None:
    """Score an LLM reviewer against the human decisions and ratings of RATINGS."""
    from reviewer.eval.calibration import CalibrationError, load_calibrator
    from reviewer.eval.dataset import load_dataset, read_reviews
    from reviewer.eval.evaluation import areview_dataset, cross_fitted_rows, evaluate_tables

    if bool(reviews) == bool(papers or model):
        fail("give either --reviews CSV (recorded reviews) or --papers DIR with --model M (live reviewing)")
    if (papers is None) != (model is None):
        fail("--papers and --model go together")
    try:
        dataset = load_dataset(ratings)
        if limit:
            dataset = dataset.subset(dataset.ids[:limit])
        if reviews:
            tables = [read_reviews(path) for path in reviews]
        else:
            from reviewer.reviewer import ReviewerConfig

            config = ReviewerConfig(model=model, reflections=reflections, fewshot=fewshot, ensemble=ensemble,
                                    injection_judge=injection_judge)
            out_dir = out_dir or Path("runs") / "reviews" / (config.label() + ("_raw" if no_anonymize else ""))
            from reviewer.cli_support import run_log
            from reviewer.llm import ModelClient

            client = ModelClient(model, api_base=api_base, cache=not no_cache, max_concurrency=concurrency)
            with run_log(out_dir):
                tables = [asyncio.run(areview_dataset(dataset, papers, config, out_dir, concurrency=concurrency,
                                                      anonymize=not no_anonymize, client=client,
                                                      prepare_workers=prepare_workers))]
            click.echo(f"reviews kept in {out_dir}", err=True)
            n_failed = sum(not (Path(out_dir) / "records" / f"{pid}.json").is_file() for pid in dataset.ids)
            if n_failed == len(dataset.ids):  # nothing to score: say so, counted, instead of a numpy error
                finish(n_failed, len(dataset.ids), "paper(s)", details=Path(out_dir) / "errors.txt", run_dir=out_dir)
        cal = load_calibrator(calibrator) if calibrator else None
        result = evaluate_tables(dataset, tables, calibrator=cal, n_resamples=resamples, seed=seed,
                                 dataset_name=ratings.parent.name)
        if cross_fit:
            cross_fitted_rows(dataset, result, tables, n_resamples=resamples, seed=seed)
        if text_baseline or audit:
            from reviewer.eval.evaluation import add_text_rows

            with _console().status("auditing the paper texts and fitting the text baseline ..."):
                add_text_rows(result, dataset, papers or ratings.parent / "papers", text_baseline=text_baseline,
                              audit=audit, recorded=bool(reviews) or no_anonymize, n_resamples=resamples, seed=seed,
                              refit_resamples=refit_resamples, cache=not no_cache)
    except (DatasetError, CalibrationError, FileNotFoundError) as err:
        fail(str(err))
    except OSError as err:  # e.g. the disk filled up under --out-dir
        fail(f"{infrastructure_error(err) or err} while writing under {out_dir or 'the output folder'}",
             exit_code_for(err))
    _print_eval(result)
    if json_out:
        result.write_json(json_out)
        click.echo(f"wrote {json_out}", err=True)
    if report_dir:
        from reviewer.eval.report import write_report

        extra = notes_file.read_text(encoding="utf-8") if notes_file else ""
        md, page = write_report(result, report_dir, extra_markdown=extra)
        click.echo(f"wrote {md} and {page}", err=True)
    if not reviews:
        finish(n_failed, len(dataset.ids), "paper(s)", details=Path(out_dir) / "errors.txt", run_dir=out_dir)


def _print_eval(result) -> None:
    from rich.table import Table

    from reviewer.eval.report import table_rows

    header, body = table_rows(result)
    table = Table(title=f"{result.dataset}: {result.n_papers} papers, {result.n_accepted} accepted "
                        f"(95% bootstrap CIs, {result.n_resamples} resamples)")
    for h in header:
        table.add_column(h, overflow="fold")
    from rich.markup import escape

    for cells in body:
        table.add_row(*(escape(c) for c in cells))  # "[leaky texts]" is text, not markup
    from rich.console import Console

    console = Console(width=max(160, len(header) * 16))
    console.print(table)
    for row in result.rows:
        for note in row.notes:
            console.print(f"[dim]{escape(row.label)}: {escape(note)}[/dim]", highlight=False)
    from reviewer.eval.report import leak_text

    if leak := leak_text(result):
        console.print(f"[bold yellow]{escape(leak)}[/]", highlight=False)


# ---------------------------------------------------------------- calibrate
@click.command("calibrate")
@click.option("--ratings", required=True, type=READ_FILE)
@click.option("--reviews", "reviews", required=True, multiple=True, type=READ_FILE,
              help="Review CSV(s); several are stacked as one calibrator's features.")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="Calibrator JSON.")
@click.option("--features", default="overall,scores,summary", show_default=True,
              help="Candidate feature sets (overall, scores, summary, all), chosen among by inner CV.")
@click.option("--links", default="logistic,isotonic", show_default=True)
@click.option("--folds", default=5, show_default=True, type=int)
@click.option("--repeats", default=1, show_default=True, type=int, help="Outer CV repeats (different splits).")
@click.option("--resamples", default=1000, show_default=True, type=int)
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--json", "json_out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the out-of-fold metrics here.")
@click.option("--compare", "compare_out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also run the feature/configuration comparison study and write it (Markdown) here.")
def calibrate_command(ratings, reviews, out, features, links, folds, repeats, resamples, seed, json_out,
                      compare_out) -> None:
    """Fit P(accept) from review scores; print nested cross-validated (out-of-fold) metrics."""
    from reviewer.eval.calibration import FEATURE_SETS, LINKS, CalibrationError, fit_with_report
    from reviewer.eval.dataset import load_dataset, read_reviews

    feature_sets = tuple(f.strip() for f in features.split(",") if f.strip())
    link_list = tuple(x.strip() for x in links.split(",") if x.strip())
    if unknown := [f for f in feature_sets if f not in FEATURE_SETS] + [x for x in link_list if x not in LINKS]:
        fail(f"unknown feature set or link: {unknown} (feature sets: {list(FEATURE_SETS)}, links: {list(LINKS)})")
    try:
        dataset = load_dataset(ratings)
        tables = [read_reviews(path) for path in reviews]
        ids = [i for i in dataset.ids if all(i in t.frame.index for t in tables)]
        if len(ids) < len(dataset):
            click.echo(f"warning: {len(dataset) - len(ids)} paper(s) lack a review in some file; fitting on {len(ids)}",
                       err=True)
        frame = dataset.frame().loc[ids]
        with _console().status(f"nested {folds}-fold cross-validation x {repeats} on {len(ids)} papers ..."):
            cal, cv = fit_with_report(tables, ids, frame["accept"].to_numpy(int),
                                      mean_rating=frame["mean_rating"].to_numpy(float), feature_sets=feature_sets,
                                      links=link_list, folds=folds, repeats=repeats, seed=seed, n_resamples=resamples)
    except (DatasetError, CalibrationError) as err:
        fail(str(err))
    cal.save(out)
    _print_oof(cv.summary(), title=f"out-of-fold metrics ({len(tables)} configuration(s), nested CV)")
    click.echo(f"final calibrator (fit on all {len(ids)} papers): {cal.describe() if len(cal.columns) <= 12 else cal.link + ', ' + str(len(cal.columns)) + ' features, cut-off ' + format(cal.threshold, '.3f')}")
    click.echo(f"wrote {out}", err=True)
    if json_out:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(cv.summary(), indent=2), encoding="utf-8")
    if compare_out:
        from reviewer.eval.calibration_study import run_study

        with _console().status("comparison study (nested CV per candidate) ..."):
            markdown = run_study(dataset, tables, folds=folds, repeats=repeats, seed=seed)
        compare_out.parent.mkdir(parents=True, exist_ok=True)
        compare_out.write_text(markdown, encoding="utf-8")
        click.echo(markdown)


def _print_oof(summary: dict, title: str) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    table.add_column("metric")
    table.add_column("value")
    table.add_column("95% CI")
    for key, value in summary.items():
        if key in ("ci", "chosen"):
            continue
        ci = summary.get("ci", {}).get(key)
        table.add_row(key, str(value), f"[{ci[0]:.3f}, {ci[1]:.3f}]" if ci and None not in ci else "")
    table.add_row("chosen per outer fold", json.dumps(summary.get("chosen", {})), "")
    Console().print(table)


# ---------------------------------------------------------------- data
@click.command("fetch")
@click.argument("venue", type=click.Choice(["iclr"]))
@click.option("--year", required=True, type=int)
@click.option("--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--limit", default=None, type=int, help="Only the first N submissions (by number).")
@click.option("--no-pdf", is_flag=True, help="Ratings and decisions only; no PDFs or text.")
@click.option("--delay", default=1.0, show_default=True, type=float, help="Seconds between requests.")
@click.option("--deadline", default=None,
              help="The venue's submission deadline (e.g. 2021-10-05T23:59:59-12:00). Each paper's PDF is the "
                   "revision current at the earlier of this and its first review (default: the first review).")
@click.option("--no-audit", is_flag=True, help="Skip the label-leak audit of the fetched texts at the end.")
@click.option("--username", envvar="OPENREVIEW_USERNAME", default=None)
@click.option("--password", envvar="OPENREVIEW_PASSWORD", default=None)
def fetch_command(venue, year, out, limit, no_pdf, delay, deadline, no_audit, username, password) -> None:
    """Build a dataset folder (ratings.tsv, papers/, pdfs/, versions.jsonl) from OpenReview with the
    submission-time version of each paper (never the camera-ready one), then audit it for label
    leaks; rerun to resume."""
    from reviewer.eval.openreview import FetchError, fetch_iclr, make_client, parse_deadline

    try:
        parse_deadline(deadline)  # a bad date is an error before any request
        client = make_client(year, username=username, password=password)
        summary = fetch_iclr(client, year, out, limit=limit, pdfs=not no_pdf, delay_s=delay, deadline=deadline,
                             audit=not no_audit)
    except FetchError as err:
        fail(str(err))
    click.echo(json.dumps(summary, indent=2))
    if "audit" in summary and summary["audit"].get("line"):
        click.echo(summary["audit"]["line"], err=True)


@click.command("audit")
@click.argument("data_dir", type=READ_DIR)
@click.option("--anonymized", is_flag=True,
              help="Audit the texts as a reviewer sees them after reviewer/anonymize.py (the report then shows "
                   "raw and anonymized side by side).")
@click.option("--json", "json_out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the audit (n, marker_auc, marker_auc_ci, length_auc, markers, verdict, ...).")
@click.option("--report", "report_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Write audit.md and a self-contained audit.html here.")
@click.option("--text-baseline/--no-text-baseline", default=True, show_default=True,
              help="Also fit the cross-fitted TF-IDF + LR baseline (seconds to a minute).")
@click.option("--fail-on-leak", is_flag=True, help="Exit 1 when the verdict is leaky (for CI).")
@click.option("--resamples", default=1000, show_default=True, type=int, help="Bootstrap resamples for the CIs.")
@click.option("--seed", default=0, show_default=True, type=int)
def audit_command(data_dir, anonymized, json_out, report_dir, text_baseline, fail_on_leak, resamples, seed) -> None:
    """Measure whether the paper texts of DATA_DIR (ratings.tsv + papers/) give the decision away:
    version markers, length, a marker-only classifier, a verdict. A measurement: exit 0 either way
    unless --fail-on-leak."""
    from reviewer.eval.audit import audit_dataset

    try:
        with _console().status(f"auditing {data_dir} ..."):
            result = audit_dataset(data_dir, anonymized=anonymized, n_resamples=resamples, seed=seed,
                                   text_baseline=text_baseline)
            raw = None
            if anonymized and report_dir:
                raw = audit_dataset(data_dir, anonymized=False, n_resamples=resamples, seed=seed,
                                    text_baseline=text_baseline)
    except DatasetError as err:
        fail(str(err))
    _print_audit(result)
    if json_out:
        from reviewer.atomic_file import write_text_atomic

        data = result.model_dump(mode="json")
        if raw is not None:
            data["raw"] = raw.model_dump(mode="json", exclude={"text_top_terms"})
        from reviewer.eval.text_rows_cache import json_safe

        # strict JSON: an interval that does not exist (a marker found in no paper) is null, not NaN
        write_text_atomic(json_out, json.dumps(json_safe(data), indent=2, allow_nan=False))
        click.echo(f"wrote {json_out}", err=True)
    if report_dir:
        from reviewer.eval.audit_report import write_audit_report

        md, page = write_audit_report([r for r in (raw, result) if r is not None], report_dir)
        click.echo(f"wrote {md} and {page}", err=True)
    if fail_on_leak and result.leaky:
        raise SystemExit(1)


def _print_audit(result) -> None:
    from rich.console import Console
    from rich.table import Table

    from rich.markup import escape

    from reviewer.eval.audit_report import marker_table, summary_table

    console = Console(width=160)
    for header, rows, title in (summary_table([result]) + ("summary",), marker_table([result]) + ("version markers",)):
        table = Table(title=title)
        for h in header:
            table.add_column(h, overflow="fold")
        for cells in rows:
            table.add_row(*(escape(c) for c in cells))
        console.print(table)
    colour = "red" if result.leaky else "green"
    console.print(f"[bold {colour}]verdict: {escape(result.verdict_line())}[/]", highlight=False)


@click.command("export")
@click.option("--data", "data_dir", required=True, type=READ_DIR, help="Dataset folder (ratings.tsv, papers/).")
@click.option("--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--no-text", is_flag=True, help="Leave the paper text out.")
def export_command(data_dir, out, no_text) -> None:
    """Save the folder as a Hugging Face `datasets` dataset (load_from_disk)."""
    from reviewer.eval.dataset import export_hf

    try:
        n = export_hf(data_dir, out, with_text=not no_text)
    except DatasetError as err:
        fail(str(err))
    click.echo(f"wrote {n} papers to {out}")

