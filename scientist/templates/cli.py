"""`bench template list`, `bench template check PATH` and `bench template baseline NAME|PATH`."""
from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table


def _fmt(v: object) -> str:
    return f"{v:.4g}" if isinstance(v, (int, float)) else str(v)


def register(group: click.Group) -> None:
    @group.group("template")
    def template() -> None:
        """Experiment templates: the testbeds the scientist pipeline edits and runs."""

    @template.command("list")
    def list_cmd() -> None:
        """List the templates."""
        from scientist.templates import list_templates, load_template

        from scientist.latex.template import section_body

        table = Table("name", "topic", "seed ideas")
        for name in list_templates():
            t = load_template(name)
            topic = section_body((t.latex_dir / "template.tex").read_text(), "Title") or ""
            table.add_row(name, " ".join(topic.split()), str(len(t.seed_ideas)))
        Console().print(table)

    @template.command("check")
    @click.argument("path", type=click.Path(path_type=Path))
    def check_cmd(path: Path) -> None:
        """Check that the template folder PATH is usable here: one line per problem (file, key,
        missing module and its pip name); exit 0 when usable, 2 when not."""
        from scientist.templates.check import check_template

        report = check_template(path)
        for problem in report.problems:
            click.echo(problem.line(), err=problem.severity == "error")
        layout = {"bench": "this project's layout", "ai_scientist": "the AI Scientist's layout"}.get(
            report.layout or "", "layout unknown")
        if report.usable:
            warnings = len(report.problems)
            click.echo(f"{path}: usable ({layout}){f', {warnings} warning(s)' if warnings else ''}")
            return
        errors = sum(p.severity == "error" for p in report.problems)
        click.echo(f"{path}: NOT usable: {errors} error(s)", err=True)
        sys.exit(2)

    @template.command("baseline")
    @click.argument("name", metavar="NAME|PATH")
    @click.option("--out", "out_dir", type=click.Path(path_type=Path), default=None,
                  help="folder for the template copy and run_0 [default: runs/baselines/NAME]")
    @click.option("--large", is_flag=True, help="the template's GPU configuration (larger model, more steps)")
    @click.option("--smoke", is_flag=True,
                  help="the template's smoke configuration (bench_template.json smoke_args): checks it runs; not a baseline")
    @click.option("--seeds", type=int, default=None, help="number of seeds [default: the template's]")
    @click.option("--time-limit", "wall_time_s", type=float, default=None,
                  help="wall-clock limit of experiment.py in seconds [default: 600, 7200 with --large]")
    @click.option("--memory-mb", type=int, default=4096, show_default=True, help="memory limit of the run")
    @click.option("--force", is_flag=True, help="replace an existing, non-empty output folder")
    @click.option("--unsafe-no-sandbox", is_flag=True,
                  help="run without isolation (the code can read and write your files): only for trusted code")
    @click.option("--gpus", "gpus_spec", default="auto", show_default=True, metavar="auto|none|0,2",
                  help="NVIDIA GPUs the run sees (auto: the first one found; none: CPU only)")
    def baseline_cmd(name: str, out_dir: Path | None, large: bool, smoke: bool, seeds: int | None,
                     wall_time_s: float | None, memory_mb: int, force: bool, unsafe_no_sandbox: bool,
                     gpus_spec: str = "auto") -> None:
        """Copy template NAME (or the template folder PATH), run its experiment.py as run_0 in the
        sandbox, then plot.py."""
        from scientist.sandbox import SandboxUnavailable
        from scientist.templates import TemplateError, UnknownTemplateError
        from scientist.templates.final_info import read_metrics
        from scientist.templates.baseline import run_baseline

        from scientist.sandbox.gpu import GpuSpecError, expects_cuda, runs_gpus

        console = Console()
        try:
            gpus = runs_gpus(gpus_spec)
        except GpuSpecError as err:
            raise click.BadParameter(str(err), param_hint="--gpus") from None
        if unsafe_no_sandbox:
            console.print("[bold red]UNSAFE:[/] running without the sandbox")
        from scientist.templates import template_dir
        from scientist.templates.check import require_usable

        try:
            require_usable(name)
            if gpus:
                console.print(f"GPU(s) {', '.join(map(str, gpus))}: the run sees only these")
            elif large or expects_cuda(template_dir(name)):
                console.print("[bold red]WARNING:[/] this template asks for CUDA but the run gets no GPU "
                              f"(--gpus {gpus_spec}): it trains on the CPU")
            res = run_baseline(name, out_dir, large=large, smoke=smoke, seeds=seeds, wall_time_s=wall_time_s,
                               memory_mb=memory_mb, unsafe_no_sandbox=unsafe_no_sandbox, force=force, gpus=gpus)
        except (UnknownTemplateError, TemplateError, FileExistsError) as err:
            raise click.UsageError(str(err)) from None
        except SandboxUnavailable as err:  # infrastructure missing: exit 3
            from reviewer.cli_support import ExitCode, fail

            fail(f"sandbox unavailable: {err} (--unsafe-no-sandbox runs without it)", ExitCode.INFRASTRUCTURE)

        exp = res.experiment
        if res.final_info and not res.final_info_error:
            table = Table("metric", "mean", "stderr", "per seed", title=f"{name}: run_0/final_info.json")
            for metric, m in read_metrics(res.final_info).metrics.items():
                table.add_row(metric, _fmt(m.mean), _fmt(m.stderr) if m.stderr is not None else "-",
                              ", ".join(_fmt(v) for v in m.per_seed))
            console.print(table)
        console.print(f"experiment.py: {'ok' if exp.ok else 'FAILED'} in {exp.wall_time_s:.1f} s wall"
                      f"{' (timed out)' if exp.timed_out else ''}{'' if exp.sandboxed else ' (NOT sandboxed)'}")
        if res.plot is not None:
            console.print(f"plot.py: {'ok' if res.plot.ok else 'FAILED'} in {res.plot.wall_time_s:.1f} s; "
                          f"figures: {', '.join(res.figures) or 'none'}")
        console.print(f"output: {res.out_dir} (record: baseline.json)")
        if not res.ok:
            tail = (exp.stderr_tail or exp.stdout_tail).strip()[-2000:]
            detail = res.final_info_error or (f"exit code {exp.exit_code}" if not exp.timed_out else "time-out")
            kinds = sorted({str(i.get("kind")) for i in exp.incidents if i.get("kind") != "unsafe_no_sandbox"})
            msg = f"baseline failed: {detail}" + (f"; incidents: {', '.join(kinds)}" if kinds else "")
            raise click.ClickException(msg + (f"\n{tail}" if tail else ""))
        if res.plot is not None and not res.plot.ok:
            tail = (res.plot.stderr_tail or res.plot.stdout_tail).strip()[-2000:]
            raise click.ClickException(f"plot.py failed (exit code {res.plot.exit_code})\n{tail}")
