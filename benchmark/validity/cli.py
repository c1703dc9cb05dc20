"""`bench validity PAPER_DIR [--code DIR ...] [--json OUT]`: the validity checks on any paper
folder, ours or another AI-scientist system's (the AI Scientist's idea folders included)."""
from __future__ import annotations

import json
from pathlib import Path

import click


@click.command("validity")
@click.argument("paper_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--code", "code_dirs", multiple=True, type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Folder whose run_*/final_info*.json are the evidence for the paper's numbers (the AI "
                   "Scientist's idea-folder layout); repeatable. An idea folder of `bench run` "
                   "(OUT/<template>/seed_<k>/<idea>) is read through its harness records instead.")
@click.option("--template-tex", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="The template the paper was filled from, to find its unfilled text.")
@click.option("--max-pages", type=click.IntRange(1), default=12, show_default=True)
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help='Write {"valid": bool, "checks": [{"name", "passed", "reason", ...}]} to this file; '
                   'numbers_match adds "quoted", "unsupported", "results" and "claims" (per number: text, '
                   'kind, supported, run, metric, value, how, why).')
def validity_command(paper_dir: Path, code_dirs: tuple[Path, ...], template_tex: Path | None, max_pages: int,
                     json_path: Path | None) -> None:
    """Check one paper folder (its .tex, .bib, figures and PDF); exit 1 when it is not valid."""
    import sys

    from benchmark.validity.checks import ValidityConfig, check_paper
    from benchmark.validity.evidence import RESULTS_DIR

    results_dirs = [d / RESULTS_DIR for d in (paper_dir.parent, *code_dirs) if (d / RESULTS_DIR).is_dir()]
    folders = [d for d in code_dirs if not (d / RESULTS_DIR).is_dir()]
    report = check_paper(paper_dir, code_dirs=folders, results_dir=results_dirs[0] if results_dirs else None,
                         template_tex=template_tex, config=ValidityConfig(max_pages=max_pages))
    for c in report.checks:
        click.echo(f"{'pass' if c.passed else 'FAIL'}  {c.name:<18} {c.reason}")
    click.echo("valid" if report.valid else "not valid")
    if json_path is not None:
        data = {"valid": report.valid, "checks": [c.model_dump(exclude_none=True) for c in report.checks]}
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    sys.exit(0 if report.valid else 1)


def register(group: click.Group) -> None:
    group.add_command(validity_command)
