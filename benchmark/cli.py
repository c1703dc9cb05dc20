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
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="ai-scientist-bench")
def main() -> None:
    """Evaluate AI-scientist agents: reviewer, scientist pipeline, benchmark, Goodhart checks."""


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
