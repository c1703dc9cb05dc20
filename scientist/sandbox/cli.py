"""`bench sandbox run`: run one command in the experiment sandbox and write the result as JSON."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from scientist.sandbox import SandboxLimits, SandboxUnavailable, run_in_sandbox, safe_io


@click.group("sandbox")
def sandbox_group() -> None:
    """The sandbox for model-written experiment code."""


@sandbox_group.command("run", context_settings={"ignore_unknown_options": True})
@click.option("--workdir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Run directory: the only writable place, and the working directory inside (created if missing). "
                   "Run as root, its entries are handed to the sandbox's own user (bench-sandbox).")
@click.option("--time-limit", "wall_time_s", type=click.FloatRange(min=0, min_open=True),
              default=SandboxLimits().wall_time_s, show_default=True, help="Wall-clock seconds.")
@click.option("--cpu-time", "cpu_time_s", type=click.FloatRange(min=0, min_open=True), default=None,
              help="CPU seconds per process (default: no limit).")
@click.option("--memory-mb", type=click.IntRange(min=1), default=SandboxLimits().memory_mb, show_default=True)
@click.option("--disk-mb", type=click.IntRange(min=1), default=SandboxLimits().disk_mb, show_default=True)
@click.option("--pids", type=click.IntRange(min=1), default=SandboxLimits().pids, show_default=True,
              help="Processes and threads of the whole run.")
@click.option("--inodes", type=click.IntRange(min=1), default=None,
              help="Files and directories the run may create (default: max(4096, 64 per MB of --disk-mb)).")
@click.option("--open-files", type=click.IntRange(min=1), default=SandboxLimits().open_files, show_default=True)
@click.option("--allow-network", is_flag=True, help="Keep the host network (default: none).")
@click.option("--ro-bind", "readonly_binds", multiple=True, type=click.Path(exists=True, path_type=Path),
              help="Host path made visible read-only at the same path (repeatable).")
@click.option("--env", "env_pairs", multiple=True, metavar="NAME=VALUE",
              help="Extra environment variable (repeatable).")
@click.option("--report", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the result JSON here (default: standard output).")
@click.option("--unsafe-no-sandbox", is_flag=True,
              help="Run WITHOUT isolation where bubblewrap is unavailable; recorded as an incident.")
@click.option("--gpus", "gpus_spec", default="none", show_default=True, metavar="auto|none|0,2",
              help="NVIDIA GPUs the command sees, and no other (auto: the first one found).")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
def run_command(workdir: Path, wall_time_s: float, cpu_time_s: float | None, memory_mb: int, disk_mb: int,
                pids: int, inodes: int | None, open_files: int, allow_network: bool, readonly_binds: tuple[Path, ...],
                env_pairs: tuple[str, ...], report: Path | None, unsafe_no_sandbox: bool,
                command: tuple[str, ...], gpus_spec: str = "none") -> None:
    """Run COMMAND (after `--`) in the sandbox. Exit status: 0 ok, 1 not ok, 3 refused (no sandbox here)."""
    env = {}
    for pair in env_pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"expected NAME=VALUE, got {pair!r}", param_hint="--env")
        env[name] = value
    from scientist.sandbox.gpu import GpuSpecError, runs_gpus

    try:
        gpus = runs_gpus(gpus_spec)
    except GpuSpecError as err:
        raise click.BadParameter(str(err), param_hint="--gpus") from None
    limits = SandboxLimits(wall_time_s=wall_time_s, cpu_time_s=cpu_time_s, memory_mb=memory_mb, disk_mb=disk_mb,
                           pids=pids, inodes=inodes, open_files=open_files, network=allow_network, gpus=gpus)
    try:
        result = run_in_sandbox(list(command), workdir, limits=limits, readonly_binds=readonly_binds, env=env,
                                unsafe_no_sandbox=unsafe_no_sandbox)
    except SandboxUnavailable as err:  # infrastructure missing: exit 3
        click.echo(f"error: {err}", err=True)
        sys.exit(3)
    text = result.model_dump_json(indent=2)
    if report is None:
        click.echo(text)
    else:
        _write_report(report, workdir, text + "\n")
    status = "ok" if result.ok else "FAILED"
    code = "killed" if result.exit_code is None else f"exit {result.exit_code}"
    click.echo(f"sandbox: {status} ({code}, {result.wall_time_s:.1f} s, peak {result.peak_memory_mb} MB)", err=True)
    for inc in result.incidents:
        click.echo(f"  incident {inc.kind}: {inc.detail}" + (f" (x{inc.count})" if inc.count > 1 else ""), err=True)
    for warning in result.warnings:
        click.echo(f"  warning: {warning}", err=True)
    sys.exit(0 if result.ok else 1)


def _write_report(report: Path, workdir: Path, text: str) -> None:
    """Inside the run directory the run could have planted a link at the name: walk and replace, never follow."""
    report, workdir = Path(os.path.abspath(report)), Path(os.path.abspath(workdir))
    if report.is_relative_to(workdir):
        safe_io.write_text(report, text, root=workdir)
    else:
        report.parent.mkdir(parents=True, exist_ok=True)
        safe_io.write_text(report, text)


def register(group: click.Group) -> None:
    group.add_command(sandbox_group)
