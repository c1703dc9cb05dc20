"""The one command-line entry point, `bench`.

Each area of the suite owns a module that adds its commands to the group through a
`register(group)` function; this file only assembles them, so a change to one area's commands
never touches another's.
"""
from __future__ import annotations

import importlib
import os

import click

# Modules that contribute commands, in the order their commands appear in `bench --help`.
COMMAND_MODULES = (
    "reviewer.cli",  # bench review
    "reviewer.eval.cli",  # bench reviewer eval|calibrate, bench data fetch|export
    "benchmark.goodhart.cli",  # bench goodhart, bench injection scan
    "scientist.sandbox.cli",  # bench sandbox run
    "scientist.templates.cli",  # bench template baseline|list
    "scientist.cli",  # bench scientist run
    "benchmark.cli_run",  # bench run, bench leaderboard
    "benchmark.demo.cli",  # bench demo
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]}, epilog=(
    "Exit codes: 0 all done; 1 finished with failures (counted in the last line); "
    "2 bad input or configuration; 3 infrastructure missing (sandbox, pdflatex, model endpoint, disk)."))
@click.version_option(package_name="ai-scientist-bench")
@click.option("-v", "--verbose", count=True, help="More log output (-v: progress notes, -vv: debug).")
@click.option("-q", "--quiet", is_flag=True, help="Only errors on the terminal (the run's bench.log keeps all).")
def main(verbose: int, quiet: bool) -> None:
    """Evaluate AI-scientist agents: reviewer, scientist pipeline, benchmark, Goodhart checks."""
    from reviewer.cli_support import setup_logging

    setup_logging(verbose, quiet)


def _register_all(group: click.Group) -> None:
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as err:
            if err.name != name:  # a real missing dependency inside the module: surface it
                raise
            continue
        module.register(group)


os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
_register_all(main)

if __name__ == "__main__":
    main()
