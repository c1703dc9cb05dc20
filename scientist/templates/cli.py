"""`bench template list` and `bench template baseline NAME`."""
from __future__ import annotations

import re
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

        table = Table("name", "topic", "seed ideas")
        for name in list_templates():
            t = load_template(name)
            tex = (t.latex_dir / "template.tex").read_text()
            m = re.search(r"^%% BEGIN SECTION: Title\n(.*?)^%% END SECTION: Title", tex, re.M | re.S)
            topic = m.group(1).strip() if m else ""
            table.add_row(name, topic, str(len(t.seed_ideas)))
        Console().print(table)

    @template.command("baseline")
    @click.argument("name")
    @click.option("--out", "out_dir", type=click.Path(path_type=Path), default=None,
                  help="folder for the template copy and run_0 [default: runs/baselines/NAME]")
    @click.option("--large", is_flag=True, help="the template's GPU configuration (larger model, more steps)")
    @click.option("--smoke", is_flag=True, help="tiny configuration to check the template runs; not a baseline")
    @click.option("--seeds", type=int, default=None, help="number of seeds [default: the template's]")
    @click.option("--time-limit", "wall_time_s", type=float, default=None,
                  help="wall-clock limit of experiment.py in seconds [default: 600, 7200 with --large]")
    @click.option("--memory-mb", type=int, default=4096, show_default=True, help="memory limit of the run")
    @click.option("--force", is_flag=True, help="replace an existing, non-empty output folder")
    @click.option("--unsafe-no-sandbox", is_flag=True,
                  help="run without isolation (the code can read and write your files): only for trusted code")
    def baseline_cmd(name: str, out_dir: Path | None, large: bool, smoke: bool, seeds: int | None,
                     wall_time_s: float | None, memory_mb: int, force: bool, unsafe_no_sandbox: bool) -> None:
        """Copy template NAME, run its experiment.py as run_0 in the sandbox, then plot.py."""
        from scientist.sandbox import SandboxUnavailable
        from scientist.templates import UnknownTemplateError
        from scientist.templates.baseline import run_baseline

        console = Console()
        if unsafe_no_sandbox:
            console.print("[bold red]UNSAFE:[/] running without the sandbox")
        elif large:
            # The sandbox gives the program a minimal /dev, without GPU device files.
            console.print("note: the sandbox exposes no GPU, so the large configuration runs on the CPU")
        try:
            res = run_baseline(name, out_dir, large=large, smoke=smoke, seeds=seeds, wall_time_s=wall_time_s,
                               memory_mb=memory_mb, unsafe_no_sandbox=unsafe_no_sandbox, force=force)
        except (UnknownTemplateError, FileExistsError) as err:
            raise click.UsageError(str(err)) from None
        except SandboxUnavailable as err:
            raise click.ClickException(f"sandbox unavailable: {err} (--unsafe-no-sandbox runs without it)") from None

        exp = res.experiment
        if res.final_info:
            table = Table("metric", "mean", "stderr", "per seed", title=f"{name}: run_0/final_info.json")
            for metric, entry in res.final_info.items():
                per_seed = entry.get("final_info_dict", []) if isinstance(entry, dict) else []
                table.add_row(metric, _fmt(entry.get("means")), _fmt(entry.get("stderrs")),
                              ", ".join(_fmt(v) for v in per_seed))
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
