"""`bench scientist run|rerun`: the whole pipeline from the command line, with progress, cost
and time per stage; `--resume DIR` continues a run after a crash."""
from __future__ import annotations

import shlex
import sys
from pathlib import Path

import click

from scientist.records import IDEA_STAGES, StageStatus

# scientist.stages.writeup.WriteupSettings.refine_calls, written out (a test keeps the two equal):
# importing the write-up here would slow every `bench` command
REFINE_CALLS = 10


def refine_calls_option(command):  # type: ignore[no-untyped-def]
    """--refine-calls N of the commands that run the pipeline (None when not given: the default)."""
    return click.option(
        "--refine-calls", "refine_calls", type=click.IntRange(min=0), default=None,
        help=f"Model calls of the write-up's section refinement pass, at most one per section; 0: no "
             f"refinement [default: {REFINE_CALLS}]")(command)


def _printer(console):  # type: ignore[no-untyped-def]
    colors = {"ok": "green", "failed": "red", "skipped": "yellow", "abandoned": "magenta"}

    def on_event(idea: str, stage: str, status: StageStatus | None) -> None:
        who = "ideas" if idea == "*" else f"{idea} · {stage}"
        if status is None:
            console.print(f"[dim]… {who}[/dim]")
            return
        line = (f"[{colors.get(status.status, 'white')}]{status.status:9}[/] {who}  "
                f"{status.seconds:7.1f} s  ${status.cost_usd:.4f}  {status.tokens} tok")
        if status.error:
            line += f"  [dim]{status.error.splitlines()[0][:140]}[/dim]"
        console.print(line)

    return on_event


def replay_factory(path: Path):  # type: ignore[no-untyped-def]
    """Clients that answer each call with the next recorded reply for its purpose
    ('review[0]' takes from 'review'; the last review reply is reused)."""
    import json

    from reviewer.llm.scripted import ScriptedModelClient

    queues: dict[str, list[str]] = {k: list(v) for k, v in json.loads(path.read_text()).items()}

    def respond(_messages: list[dict[str, str]], purpose: str) -> str | BaseException:
        key = purpose.split("[")[0].strip()
        queue = queues.get(key) or []
        if not queue:
            from reviewer.llm.scripted import RecordedReplyMissing

            return RecordedReplyMissing(f"{path}: no recorded reply left for {purpose!r}")
        return queue.pop(0) if len(queue) > 1 or key not in ("review", "reflection") else queue[0]

    clients: dict[str, ScriptedModelClient] = {}

    def factory(model: str) -> ScriptedModelClient:
        if model not in clients:
            clients[model] = ScriptedModelClient(respond, model=model if "/" not in model else "gpt-4o")
        return clients[model]

    return factory


def _summary(console, outcomes) -> None:  # type: ignore[no-untyped-def]
    from rich.table import Table

    table = Table(title="scientist run")
    for col in ("idea", "novel", "runs ok", *IDEA_STAGES, "overall", "p(accept)", "cost $", "time s"):
        table.add_column(col)
    for o in outcomes:
        table.add_row(
            o.idea_name, {True: "yes", False: "no", None: "unchecked"}[o.novel], str(o.n_runs_ok),
            *[o.stages[s].status if s in o.stages else "-" for s in IDEA_STAGES],
            f"{o.overall:.1f}" if o.overall is not None else "-",
            f"{o.p_accept:.2f}" if o.p_accept is not None else "-",
            f"{o.cost_usd:.4f}", f"{o.wall_time_s:.0f}")
    console.print(table)


def register(group: click.Group) -> None:
    @group.group("scientist")
    def scientist() -> None:
        """The AI-scientist pipeline: ideas, sandboxed experiments, plots, write-up, review."""

    @scientist.command("run")
    @click.option("--model", help="model that does the science (e.g. gpt-4o, local/smollm2)")
    @click.option("--template", metavar="NAME|PATH",
                  help="experiment template: a name (bench template list) or a template folder, in this "
                       "project's layout or the AI Scientist's")
    @click.option("--smoke", is_flag=True, help="the template's smoke configuration (bench_template.json smoke_args)")
    @click.option("--ideas", "n_ideas", type=int, default=1, show_default=True, help="number of ideas")
    @click.option("--out", "out_dir", type=click.Path(path_type=Path), help="run directory")
    @click.option("--resume", "resume", type=click.Path(path_type=Path, exists=True, file_okay=False),
                  help="continue the run in this directory with its saved settings")
    @click.option("--reviewer-model", help="model of the reviewer (default: $BENCH_REVIEWER, else local/smollm2; "
                                          "never --model itself unless given here)")
    @click.option("--calibrator", type=click.Path(path_type=Path, exists=True), help="calibrator for p(accept)")
    @click.option("--max-runs", type=int, default=5, show_default=True)
    @click.option("--max-fixes", type=int, default=4, show_default=True, help="fixes allowed per run")
    @click.option("--reflections", type=int, default=2, show_default=True, help="idea reflection rounds")
    @click.option("--fix-rounds", type=int, default=3, show_default=True, help="LaTeX compile-fix rounds")
    @click.option("--citation-rounds", type=int, default=3, show_default=True)
    @refine_calls_option
    @click.option("--time-limit", type=float, default=None, help="seconds per sandboxed run")
    @click.option("--memory-mb", type=int, default=None, help="memory per sandboxed run")
    @click.option("--experiment-args", default="",
                  help="extra arguments of every experiment run, e.g. \"--smoke --seeds 1\" (shown to the model)")
    @click.option("--max-tokens", type=int, default=None, help="tokens per model reply")
    @click.option("--context-tokens", type=int, default=None,
                  help="cut prompts to this many tokens (faster on slow local models)")
    @click.option("--no-novelty", is_flag=True, help="skip the literature novelty check")
    @click.option("--seed-fallback", is_flag=True,
                  help="if the model writes no valid idea, run the template's first seed idea (marked source=seed)")
    @click.option("--unsafe-no-sandbox", is_flag=True, help="run experiments WITHOUT isolation")
    @click.option("--replay", type=click.Path(path_type=Path, exists=True, dir_okay=False),
                  help="recorded replies instead of a model: JSON {purpose: [reply, ...]} (demos, CI)")
    @click.option("--force-new", is_flag=True,
                  help="--out holds a run with other settings: move it to OUT/previous/ and start afresh")
    @click.option("--no-cache", is_flag=True, help="do not read or write the model response cache (or BENCH_NO_CACHE=1)")
    @click.option("--gpus", "gpus_spec", default=None, metavar="auto|none|0,2",
                  help="NVIDIA GPUs the sandboxed runs see [default: auto, the first GPU found]")
    def run(model, template, n_ideas, out_dir, resume, reviewer_model, calibrator, max_runs, max_fixes,  # type: ignore[no-untyped-def]
            reflections, fix_rounds, citation_rounds, time_limit, memory_mb, experiment_args, max_tokens,
            context_tokens, no_novelty, seed_fallback, unsafe_no_sandbox, replay, smoke=False,
            force_new=False, no_cache=False, gpus_spec=None, refine_calls=None):
        """Run the whole pipeline (or resume one) and print each stage's status, cost and time."""
        from rich.console import Console

        from scientist.pipeline import (
            PipelineConfig,
            config_from_manifest,
            run_pipeline,
        )

        console = Console(stderr=True, width=None if sys.stderr.isatty() else 160)
        if resume:
            cfg = config_from_manifest(resume)
            console.print(f"resuming {resume} ({cfg.model} on {cfg.template}, {cfg.n_ideas} idea(s))")
        else:
            if not (model and template and out_dir):
                raise click.UsageError("--model, --template and --out are required (or --resume DIR)")
            from scientist.sandbox import SandboxLimits

            from scientist.templates import TEMPLATES_ROOT, UnknownTemplateError, template_dir

            try:  # a folder by its absolute path, so that --resume works from anywhere
                folder = template_dir(template)
            except UnknownTemplateError as err:
                raise click.BadParameter(str(err), param_hint="--template") from None
            template = template if folder.parent == TEMPLATES_ROOT else str(folder)
            from scientist.templates import TemplateError
            from scientist.templates.check import require_usable

            try:
                require_usable(template)
            except TemplateError as err:
                raise click.ClickException(str(err)) from None
            limit_args = {k: v for k, v in (("wall_time_s", time_limit), ("memory_mb", memory_mb)) if v}
            cfg = PipelineConfig(
                model=model, template=template, n_ideas=n_ideas, out_dir=out_dir, reviewer_model=reviewer_model,
                calibrator=calibrator, max_runs=max_runs, max_fixes=max_fixes, idea_reflections=reflections,
                writeup_fix_rounds=fix_rounds, citation_rounds=citation_rounds,
                sandbox_limits=SandboxLimits(**limit_args), unsafe_no_sandbox=unsafe_no_sandbox,
                check_novelty=not no_novelty, experiment_args=shlex.split(experiment_args), max_tokens=max_tokens,
                context_tokens=context_tokens, seed_fallback=seed_fallback, smoke=smoke,
                **({} if refine_calls is None else {"writeup_refine_calls": refine_calls}))
        from scientist.sandbox.gpu import GpuSpecError, expects_cuda, runs_gpus

        try:  # the machine's GPUs, not the run's: a resumed run takes this machine's too
            cfg = cfg.with_gpus(runs_gpus(gpus_spec or "auto"))
        except GpuSpecError as err:
            raise click.BadParameter(str(err), param_hint="--gpus") from None
        if cfg.limits().gpus:
            console.print(f"GPU(s) {', '.join(map(str, cfg.limits().gpus))}: the sandboxed runs see only these")
        else:
            from scientist.templates import template_dir

            if expects_cuda(template_dir(cfg.template)):
                console.print("[bold red]WARNING: this template asks for CUDA but its runs get no GPU: they "
                              "train on the CPU[/bold red]")
        if replay is not None:
            cfg.client_factory = replay_factory(replay)
            console.print(f"[yellow]replaying recorded replies from {replay}; model name {cfg.model!r} "
                          "is used for cost accounting only[/yellow]")
        if cfg.unsafe_no_sandbox:
            console.print("[bold red]WARNING: experiments run WITHOUT a sandbox[/bold red]")
        cfg.on_event = _printer(console)
        if no_cache:
            import os

            os.environ["BENCH_NO_CACHE"] = "1"
        from reviewer.cli_support import exit_codes, finish, run_log
        from scientist.rundir import check_settings, run_lock

        with exit_codes(), run_lock(cfg.out_dir), run_log(cfg.out_dir):
            check_settings(cfg.out_dir, cfg.settings(), force_new=force_new)
            outcomes = run_pipeline(cfg)
        _summary(console, outcomes)
        console.print(f"run directory: {cfg.out_dir}")
        ok = sum(not any(st.status == "failed" for st in o.stages.values()) for o in outcomes)
        finish(max(cfg.n_ideas, len(outcomes)) - ok, max(cfg.n_ideas, len(outcomes)), "idea(s)",
               details=cfg.out_dir / "bench.log", run_dir=cfg.out_dir)

    @scientist.command("rerun")
    @click.argument("run_dir", type=click.Path(path_type=Path, exists=True, file_okay=False))
    @click.option("--idea", "idea_name", required=True, help="idea directory name")
    @click.option("--stage", type=click.Choice(IDEA_STAGES), required=True,
                  help="re-run this stage and every later one")
    def rerun(run_dir, idea_name, stage):  # type: ignore[no-untyped-def]
        """Re-run one idea from a stage on, with the run's saved settings."""
        from rich.console import Console

        from scientist.pipeline import config_from_manifest, reset_stage, run_idea
        from scientist.records import Idea
        from scientist.rundir import RunDir, read_model

        console = Console(stderr=True)
        cfg = config_from_manifest(run_dir)
        idea = read_model(RunDir(run_dir).idea(idea_name).idea, Idea)
        if idea is None:
            raise click.UsageError(f"no idea {idea_name!r} in {run_dir}")
        from reviewer.cli_support import exit_codes, finish
        from scientist.rundir import run_lock

        with exit_codes(), run_lock(run_dir):
            reset_stage(run_dir, idea_name, stage)
            cfg.on_event = _printer(console)
            outcome = run_idea(cfg, idea)
        _summary(console, [outcome])
        finish(int(any(st.status == "failed" for st in outcome.stages.values())), 1, "idea(s)")
