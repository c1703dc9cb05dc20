"""`bench demo`: the whole loop offline, in a few minutes, and where each artefact is."""
from __future__ import annotations

import sys
from pathlib import Path

import click


def register(group: click.Group) -> None:
    @group.command("demo")
    @click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("runs/demo"),
                  show_default=True, help="folder for everything the demo makes")
    @click.option("--reviewer", default="local/smollm2", show_default=True,
                  help="the reviewer model (the embedded one runs offline)")
    @click.option("--force", is_flag=True, help="replace an existing, non-empty --out folder")
    def demo(out_dir: Path, reviewer: str, force: bool) -> None:
        """The whole loop offline: idea, sandboxed experiments, plots, LaTeX paper, review by the
        embedded model, validity checks and a one-row leaderboard.

        The scientist's replies are SCRIPTED (recorded for this demo, shipped in the package): they
        show the machinery working, they are not a model's result. The experiments, figures,
        compiled paper, review, validity checks and board are real.
        """
        from reviewer.cli_support import ExitCode, fail
        from benchmark.demo.responder import SCRIPTED_MODEL
        from benchmark.demo.run import DemoUnavailable, run_demo

        click.echo(f"bench demo: the scientist is '{SCRIPTED_MODEL}', SCRIPTED replies recorded for this demo "
                   f"(not a model); experiments, plots, LaTeX, the {reviewer} review, validity and board are real.",
                   err=True)
        try:
            result = run_demo(out_dir, reviewer=reviewer, force=force, on_event=lambda m: click.echo(m, err=True))
        except FileExistsError as err:
            fail(str(err))
        except DemoUnavailable as err:
            fail(str(err), ExitCode.INFRASTRUCTURE)
        click.echo("")
        for what, path in result.artefacts:
            click.echo(f"{what:55} {path}")
        if result.validity:
            click.echo(f"{'validity':55} {'VALID' if result.valid else 'not valid'}: {result.validity}")
        if result.board_html is not None:
            click.echo(f"{'leaderboard (one row, model: ' + SCRIPTED_MODEL + ')':55} {result.board_html}")
        if not result.finished:
            click.echo(f"the demo did not finish: {result.error or 'see the records above'}", err=True)
            sys.exit(1)
