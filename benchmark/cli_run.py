"""`bench run MODEL` and `bench leaderboard`."""
from __future__ import annotations

import json
import os
import re
import shlex
from pathlib import Path

import click

from scientist.cli import refine_calls_option


def _slug(model: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", model).strip("_") or "model"


@click.command("run")
@click.argument("model")
@click.option("--templates", "templates", multiple=True,
              help="Template(s) to run, each a name (bench template list) or a template folder's path "
                   "(this project's layout or the AI Scientist's); repeat or comma-separate. Default: every template.")
@click.option("--quick", is_flag=True,
              help="A first run in about 15 minutes on 2 cores (the README's first command): --smoke, 1 idea, "
                   "1 run, 1 fix, no idea reflections, no novelty search or citations, 2k-token prompts, and the "
                   "template's seed idea if the model writes none. Options given explicitly win.")
@click.option("--smoke", is_flag=True,
              help="Each template's smoke configuration (its bench_template.json smoke_args, e.g. '--smoke --seeds 1'): "
                   "runs in seconds, numbers meaningless; for trying the benchmark out.")
@click.option("--ideas", "n_ideas", type=click.IntRange(1), default=2, show_default=True, help="Ideas per template and seed.")
@click.option("--seeds", type=click.IntRange(1), default=1, show_default=True, help="Independent repeats of each template.")
@click.option("--reviewer", "reviewers", multiple=True, metavar="MODEL",
              help="Reviewer of every paper; repeat for a panel (the score is the panel mean). Default: "
                   "$BENCH_REVIEWER (comma-separated), else the embedded local/smollm2. Never MODEL itself "
                   "unless --self-review.")
@click.option("--self-review", is_flag=True,
              help="Review MODEL's papers with MODEL (marked SELF-REVIEW on the board; not comparable to others).")
@click.option("--force-calibrator", is_flag=True,
              help="Apply --calibrator to a reviewer it was not fit on (marked as a forced transfer).")
@click.option("--no-preflight", is_flag=True,
              help="Skip the checks made before starting (sandbox, pdflatex/bibtex, one call to each model).")
@click.option("--calibrator", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Calibrator file, to record P(accept) for each paper.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Results folder (default: results/<model>). A rerun with the same folder continues.")
@click.option("--concurrency", type=click.IntRange(1), default=2, show_default=True, help="Ideas run at once.")
@click.option("--executor", type=click.Choice(["thread", "process", "ray"]), default="thread", show_default=True)
@click.option("--address", default=None, help="Ray cluster address (with --executor ray); default: a local instance.")
@click.option("--gpus", "gpus_spec", default="auto", show_default=True, metavar="auto|none|0,2",
              help="NVIDIA GPUs for the sandboxed runs: each idea is pinned to one and sees no other, so up to "
                   "N ideas run at once on N GPUs. With --executor ray: auto (Ray assigns) or none.")
@click.option("--runs-per-gpu", type=click.IntRange(1), default=1, show_default=True,
              help="Ideas sharing one GPU at once (runs never share a GPU unless this is over 1).")
@click.option("--max-runs", type=click.IntRange(1), default=5, show_default=True, help="Experiment runs per idea.")
@click.option("--max-fixes", type=click.IntRange(0), default=4, show_default=True, help="Fix attempts per failing run.")
@click.option("--max-tokens", type=click.IntRange(1), default=None, help="Per model call (default: the client's).")
@click.option("--experiment-args", default="", help="Extra arguments of every experiment run, e.g. '--smoke --seeds 1'.")
@refine_calls_option
@click.option("--pipeline-option", "pipeline_options", multiple=True, metavar="FIELD=VALUE",
              help="Any other PipelineConfig field, e.g. idea_reflections=0 or context_tokens=2048 "
                   "(VALUE is read as JSON when it parses, else as text); repeatable.")
@click.option("--no-novelty", is_flag=True, help="Skip the literature novelty check (novelty: unchecked).")
@click.option("--max-pages", type=click.IntRange(1), default=12, show_default=True, help="Validity: page limit.")
@click.option("--unsafe-no-sandbox", is_flag=True, help="Run generated code without the sandbox (never for untrusted models).")
@click.option("--no-cache", is_flag=True, help="Do not read or write the model response cache (or BENCH_NO_CACHE=1).")
@click.option("--force-new", is_flag=True, help="OUT holds a run with other settings: move it to OUT/previous/ and start afresh.")
@click.option("--replay", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Recorded replies instead of a model: JSON {purpose: [reply, ...]} (demos, CI, fault tests).")
def run_command(model: str, templates: tuple[str, ...], n_ideas: int, seeds: int, reviewers: tuple[str, ...],
                self_review: bool, force_calibrator: bool, no_preflight: bool,
                calibrator: Path | None, out_dir: Path | None, concurrency: int, executor: str, address: str | None,
                max_runs: int, max_fixes: int, max_tokens: int | None, experiment_args: str, pipeline_options: tuple[str, ...], no_novelty: bool, max_pages: int,
                unsafe_no_sandbox: bool, smoke: bool = False, quick: bool = False, no_cache: bool = False, force_new: bool = False,
                replay: Path | None = None, gpus_spec: str = "auto", runs_per_gpu: int = 1,
                refine_calls: int | None = None) -> None:
    """Run the scientist pipeline with MODEL on each template and record every idea.

    One row per idea (novelty, experiments, compiled, valid, review, cost, time, incidents) goes
    to OUT/results.sqlite as soon as the idea finishes; `bench leaderboard --results OUT` reads it.
    """
    from benchmark.runner import BenchConfig, run_benchmark
    from benchmark.validity.checks import ValidityConfig

    from scientist.templates import TEMPLATES_ROOT, UnknownTemplateError, list_templates, template_dir

    names = [t.strip() for spec in templates for t in spec.split(",") if t.strip()]
    if not names:
        names = list(list_templates())
    try:  # a folder by its absolute path: workers (processes, Ray) may have another cwd
        names = [n if template_dir(n).parent == TEMPLATES_ROOT else str(template_dir(n)) for n in names]
    except UnknownTemplateError as err:
        raise click.BadParameter(str(err), param_hint="--templates") from None
    from scientist.templates import TemplateError
    from scientist.templates.check import require_usable

    try:  # a missing package (torch: the [templates] extra) is said before anything runs
        for name in names:
            require_usable(name)
    except TemplateError as err:
        raise click.ClickException(str(err)) from None
    if address and executor != "ray":
        raise click.UsageError("--address needs --executor ray")
    gpus = _gpus_option(gpus_spec, executor)
    if isinstance(gpus, tuple) and gpus and click.get_current_context().get_parameter_source("concurrency") \
            != click.core.ParameterSource.COMMANDLINE:
        concurrency = len(gpus) * runs_per_gpu  # N GPUs: N runs at once, each pinned to its own
    overrides: dict = {"max_tokens": max_tokens} if max_tokens else {}
    if quick:
        given = {p for p in ("n_ideas", "max_runs", "max_fixes") if click.get_current_context().get_parameter_source(p)
                 == click.core.ParameterSource.COMMANDLINE}
        n_ideas = n_ideas if "n_ideas" in given else 1
        max_runs = max_runs if "max_runs" in given else 1
        max_fixes = max_fixes if "max_fixes" in given else 1
        smoke, no_novelty = True, True
        overrides.update({"idea_reflections": 0, "writeup_fix_rounds": 1, "citation_rounds": 0,
                          "context_tokens": 2048, "seed_fallback": True, "max_tokens": max_tokens or 400})
    if smoke:
        overrides["smoke"] = True
    if experiment_args:
        overrides["experiment_args"] = shlex.split(experiment_args)
    if refine_calls is not None:  # not given: left out, so the recorded settings of earlier runs still match
        overrides["writeup_refine_calls"] = refine_calls
    for option in pipeline_options:
        key, sep, value = option.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"{option!r}: expected FIELD=VALUE", param_hint="--pipeline-option")
        try:
            overrides[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            overrides[key.strip()] = value
    bench = BenchConfig(
        model=model, templates=names, out_dir=out_dir or Path("results") / _slug(model), n_ideas=n_ideas,
        seeds=seeds, reviewers=list(reviewers), self_review=self_review, calibrator=calibrator,
        force_calibrator=force_calibrator, max_runs=max_runs,
        max_fixes=max_fixes, check_novelty=not no_novelty, unsafe_no_sandbox=unsafe_no_sandbox,
        concurrency=concurrency, executor=executor, address=address,  # type: ignore[arg-type]
        validity=ValidityConfig(max_pages=max_pages), pipeline_overrides=overrides,
        gpus=gpus, runs_per_gpu=runs_per_gpu,
    )
    from reviewer.cli_support import ExitCode, exit_codes, fail, finish, run_log
    from scientist.rundir import check_settings, run_lock

    from benchmark.panel import PanelError
    from benchmark.preflight import PreflightError, preflight, uncached_client

    client_for = None
    if replay is not None:  # recorded replies answer every call, the preflight's too
        from scientist.cli import replay_factory

        # a path, not live clients: the config crosses to worker processes and Ray nodes as plain data
        overrides["replay"] = str(replay.resolve())
        client_for = replay_factory(replay)
    try:
        panel = bench.panel()
    except PanelError as err:
        fail(str(err), ExitCode.BAD_INPUT)
    click.echo(panel.label(), err=True)
    if calibrator is not None:
        _check_calibrator(calibrator, panel.reviewers, overrides.get("reviewer_kwargs"), force_calibrator)
    from benchmark.runner import pipeline_config

    try:  # a bad --pipeline-option is bad input: said before anything is checked or started
        for name in names:
            pipeline_config(bench, name, 0)
    except (TypeError, ValueError) as err:
        fail(str(err), ExitCode.BAD_INPUT)
    if not no_preflight:
        try:
            checked = preflight(model, panel.reviewers, unsafe_no_sandbox=unsafe_no_sandbox,
                                client_for=client_for or uncached_client(overrides.get("litellm_kwargs")),
                                gpus=gpus if isinstance(gpus, tuple) else (), templates=names)
        except PreflightError as err:
            fail(f"preflight: {err}", ExitCode.INFRASTRUCTURE)
        click.echo(f"preflight: sandbox {checked.sandbox}; {', '.join(checked.tools)} found; "
                   f"{', '.join(checked.models)} answered", err=True)
        for line in checked.gpus:
            click.echo(f"preflight: {line}", err=True)
        for warning in checked.warnings:
            click.secho(f"WARNING: {warning}", err=True, fg="red", bold=True)

    if no_cache:
        os.environ["BENCH_NO_CACHE"] = "1"  # every client of the run, in threads or worker processes
    settings = {**bench.describe(), "templates": names,
                "pipeline_overrides": {k: v for k, v in overrides.items() if k not in ("client_factory", "replay")}}
    if replay is not None:
        settings["replay"] = str(replay.resolve())
    with exit_codes(), run_lock(bench.out_dir), run_log(bench.out_dir):
        check_settings(bench.out_dir, settings, force_new=force_new)
        try:
            summary = run_benchmark(bench, on_event=lambda msg: click.echo(msg, err=True))
        except (RuntimeError, ValueError) as err:  # e.g. Ray missing, an unknown --pipeline-option
            fail(str(err), ExitCode.INFRASTRUCTURE if "ray" in str(err).lower() else ExitCode.BAD_INPUT)
    click.echo(str(summary.db_path))
    board = _write_board(bench.out_dir)
    if board is not None:
        click.echo(f"leaderboard: {board}")
    n_failed = summary.errors + len(summary.failed_runs)
    if summary.infra_errors:  # not the model's failures: not on its row; a rerun retries them
        fail(f"{summary.infra_errors} idea(s) or run(s) stopped by an infrastructure error (shown apart on the "
             f"board, not counted against {model}); fix it and rerun with the same --out to retry them",
             ExitCode.INFRASTRUCTURE)
    finish(n_failed, summary.finished + n_failed, "idea(s) or run(s)", details=bench.out_dir / "bench.log",
           run_dir=bench.out_dir)


def _gpus_option(spec: str, executor: str) -> str | tuple[int, ...]:
    """--gpus as the runner takes it: GPU indexes found here (local executors), or auto/none (Ray)."""
    from scientist.sandbox.gpu import GpuSpecError, parse_spec, resolve

    try:
        parsed = parse_spec(spec)
        if executor == "ray":
            if not isinstance(parsed, str):
                raise GpuSpecError("--gpus with --executor ray: auto or none (Ray assigns each task its GPU)")
            return parsed
        return resolve(parsed)
    except GpuSpecError as err:
        raise click.BadParameter(str(err), param_hint="--gpus") from None


def _check_calibrator(path: Path, reviewers: list[str], reviewer_kwargs: dict | None, force: bool) -> None:
    """Refuse, before anything runs, a calibrator fit on another reviewer configuration."""
    from reviewer.cli_support import ExitCode, fail
    from reviewer.eval.calibration import CalibrationError, check_reviewer, load_calibrator, reviewer_label
    from reviewer.reviewer import ReviewerConfig

    try:
        calibrator = load_calibrator(path)
        for model in reviewers:
            if check_reviewer(calibrator, reviewer_label(ReviewerConfig(model=model, **(reviewer_kwargs or {}))), force=force):
                click.echo(f"warning: calibrator {path.name} forced onto reviewer {model} (marked as a transfer)", err=True)
    except CalibrationError as err:
        fail(f"--calibrator: {err}", ExitCode.BAD_INPUT)


def _write_board(out_dir: Path) -> Path | None:
    """OUT/leaderboard.html (and .md) of this results folder, so that a run ends with its board."""
    from benchmark.leaderboard.board import build_leaderboard, write_leaderboard

    rows = build_leaderboard([Path(out_dir)], [])
    if not rows:
        return None
    written = write_leaderboard(rows, Path(out_dir), None, results=[Path(out_dir)])
    return written.get("html")


@click.command("leaderboard")
@click.option("--results", "results", multiple=True, type=click.Path(exists=True, path_type=Path),
              help="Results folder(s) of `bench run` (or their parent, or results.sqlite files).")
@click.option("--import-reviews", "imports", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Review CSV of generated papers (one row per paper); repeatable.")
@click.option("--model", "models", multiple=True, help="Model name of each --import-reviews, in order (default: from the file name).")
@click.option("--template", "import_templates", multiple=True,
              help="Template of each --import-reviews, in order (default: 'imported').")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder for leaderboard.md and leaderboard.html.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the rows as JSON.")
def leaderboard_command(results: tuple[Path, ...], imports: tuple[Path, ...], models: tuple[str, ...],
                        import_templates: tuple[str, ...], out_dir: Path, json_path: Path | None) -> None:
    """Aggregate results per model × template into leaderboard.md and leaderboard.html."""
    from benchmark.leaderboard.imported import ReviewImportError, read_reviews
    from benchmark.leaderboard.board import build_leaderboard, to_markdown, write_leaderboard

    if not results and not imports:
        default = Path("results")
        if not default.is_dir():
            raise click.UsageError("give --results DIR and/or --import-reviews CSV")
        results = (default,)
    for name, given in (("--model", models), ("--template", import_templates)):
        if len(given) > 1 and len(given) != len(imports):
            raise click.UsageError(f"give one {name} per --import-reviews ({len(imports)}), or one for all")
    runs = []
    for i, path in enumerate(imports):
        model = models[i] if len(models) > 1 else (models[0] if models else None)
        template = import_templates[i] if len(import_templates) > 1 else (
            import_templates[0] if import_templates else "imported")
        try:
            runs.append(read_reviews(path, model=model, template=template))
        except ReviewImportError as err:  # bad input: exit 2, one line
            from reviewer.cli_support import fail

            fail(str(err))
    rows = build_leaderboard(list(results), runs)
    if not rows:
        from reviewer.cli_support import fail

        fail("no results found: nothing to put on the board")
    written = write_leaderboard(rows, out_dir, json_path, results=list(results))
    click.echo(to_markdown(rows))
    for kind, path in written.items():
        click.echo(f"{kind}: {path}", err=True)


def register(group: click.Group) -> None:
    from benchmark.validity.cli import validity_command

    group.add_command(run_command)
    group.add_command(leaderboard_command)
    group.add_command(validity_command)
