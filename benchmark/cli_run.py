"""`bench run MODEL` and `bench leaderboard`."""
from __future__ import annotations

import json
import re
import shlex
import sys
from pathlib import Path

import click


def _slug(model: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", model).strip("_") or "model"


@click.command("run")
@click.argument("model")
@click.option("--templates", "templates", multiple=True,
              help="Template(s) to run; repeat or comma-separate. Default: every template.")
@click.option("--ideas", "n_ideas", type=click.IntRange(1), default=2, show_default=True, help="Ideas per template and seed.")
@click.option("--seeds", type=click.IntRange(1), default=1, show_default=True, help="Independent repeats of each template.")
@click.option("--reviewer", "reviewer_model", default=None, help="Reviewer model (default: MODEL).")
@click.option("--calibrator", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Calibrator file, to record P(accept) for each paper.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Results folder (default: results/<model>). A rerun with the same folder continues.")
@click.option("--concurrency", type=click.IntRange(1), default=2, show_default=True, help="Ideas run at once.")
@click.option("--executor", type=click.Choice(["thread", "process", "ray"]), default="thread", show_default=True)
@click.option("--address", default=None, help="Ray cluster address (with --executor ray); default: a local instance.")
@click.option("--max-runs", type=click.IntRange(1), default=5, show_default=True, help="Experiment runs per idea.")
@click.option("--max-fixes", type=click.IntRange(0), default=4, show_default=True, help="Fix attempts per failing run.")
@click.option("--max-tokens", type=click.IntRange(1), default=None, help="Per model call (default: the client's).")
@click.option("--experiment-args", default="", help="Extra arguments of every experiment run, e.g. '--smoke --seeds 1'.")
@click.option("--pipeline-option", "pipeline_options", multiple=True, metavar="FIELD=VALUE",
              help="Any other PipelineConfig field, e.g. idea_reflections=0 or context_tokens=2048 "
                   "(VALUE is read as JSON when it parses, else as text); repeatable.")
@click.option("--no-novelty", is_flag=True, help="Skip the literature novelty check (novelty: unchecked).")
@click.option("--max-pages", type=click.IntRange(1), default=12, show_default=True, help="Validity: page limit.")
@click.option("--unsafe-no-sandbox", is_flag=True, help="Run generated code without the sandbox (never for untrusted models).")
def run_command(model: str, templates: tuple[str, ...], n_ideas: int, seeds: int, reviewer_model: str | None,
                calibrator: Path | None, out_dir: Path | None, concurrency: int, executor: str, address: str | None,
                max_runs: int, max_fixes: int, max_tokens: int | None, experiment_args: str, pipeline_options: tuple[str, ...], no_novelty: bool, max_pages: int,
                unsafe_no_sandbox: bool) -> None:
    """Run the scientist pipeline with MODEL on each template and record every idea.

    One row per idea (novelty, experiments, compiled, valid, review, cost, time, incidents) goes
    to OUT/results.sqlite as soon as the idea finishes; `bench leaderboard --results OUT` reads it.
    """
    from benchmark.runner import BenchConfig, run_benchmark
    from benchmark.validity.checks import ValidityConfig

    names = [t.strip() for spec in templates for t in spec.split(",") if t.strip()]
    if not names:
        from scientist.templates import list_templates

        names = list(list_templates())
    if address and executor != "ray":
        raise click.UsageError("--address needs --executor ray")
    overrides: dict = {"max_tokens": max_tokens} if max_tokens else {}
    if experiment_args:
        overrides["experiment_args"] = shlex.split(experiment_args)
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
        seeds=seeds, reviewer_model=reviewer_model, calibrator=calibrator, max_runs=max_runs,
        max_fixes=max_fixes, check_novelty=not no_novelty, unsafe_no_sandbox=unsafe_no_sandbox,
        concurrency=concurrency, executor=executor, address=address,  # type: ignore[arg-type]
        validity=ValidityConfig(max_pages=max_pages), pipeline_overrides=overrides,
    )
    try:
        summary = run_benchmark(bench, on_event=lambda msg: click.echo(msg, err=True))
    except (RuntimeError, ValueError) as err:  # e.g. Ray missing, an unknown --pipeline-option
        raise click.ClickException(str(err)) from err
    click.echo(str(summary.db_path))
    if summary.failed_runs or summary.errors:
        sys.exit(1)


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
        except ReviewImportError as err:
            raise click.ClickException(str(err)) from err
    rows = build_leaderboard(list(results), runs)
    if not rows:
        raise click.ClickException("no results found: nothing to put on the board")
    written = write_leaderboard(rows, out_dir, json_path)
    click.echo(to_markdown(rows))
    for kind, path in written.items():
        click.echo(f"{kind}: {path}", err=True)


def register(group: click.Group) -> None:
    group.add_command(run_command)
    group.add_command(leaderboard_command)
