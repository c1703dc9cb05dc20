"""The scientist pipeline: ideas -> novelty -> experiments -> plots -> write-up -> review.

Each stage writes one record with a StageStatus to the run directory; a stage whose record
exists is finished and is not run again, so calling the same function on the same directory
resumes after a crash. A model's failure ends a stage with status "failed" and the stages that
need it "skipped"; it never raises.
"""
from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel

from scientist.stages import experiments as exp_stage
from scientist.stages import plots as plot_stage
from scientist.stages import review as review_stage
from scientist.stages import writeup as writeup_stage
from scientist.stages.ideas import extend_ideas
from scientist.stages.literature import LiteratureClient
from scientist.stages.novelty import check_novelty
from scientist.prompting import ContextBudget
from scientist.records import (
    IDEA_STAGES,
    CompiledPaper,
    ExperimentsRecord,
    Idea,
    IdeaOutcome,
    IdeasRecord,
    NoveltyResult,
    PlotResult,
    ReviewStageRecord,
    RunManifest,
    StageStatus,
    utc_now,
)
from scientist.failures import infra_error, infra_kind
from scientist.rundir import IdeaDir, RunDir, locked, read_model, write_json
from scientist.stage import UsageMeter, run_stage

R = TypeVar("R", bound=BaseModel)
EventHook = Callable[[str, str, StageStatus | None], None]  # (idea or "*", stage, None at start)


@dataclass
class PipelineConfig:
    model: str
    template: str
    n_ideas: int = 1
    out_dir: Path = Path("runs/scientist")
    reviewer_model: str | None = None  # one reviewer (older configs); reviewer_models is the panel
    calibrator: Path | None = None
    # the reviewer panel; empty: reviewer_model, else $BENCH_REVIEWER, else the embedded model.
    # Never `model` itself unless self_review says so.
    reviewer_models: list[str] = field(default_factory=list)
    self_review: bool = False
    force_calibrator: bool = False  # apply the calibrator to a reviewer it was not fit on (marked)
    max_runs: int = 5
    max_fixes: int = 4
    idea_reflections: int = 2
    writeup_fix_rounds: int = 3
    # the write-up's section refinement pass: at most this many calls (0: none)
    writeup_refine_calls: int = writeup_stage.WriteupSettings.refine_calls
    sandbox_limits: Any = None  # SandboxLimits; None: the sandbox module's defaults
    unsafe_no_sandbox: bool = False
    litellm_kwargs: dict[str, Any] | None = None
    check_novelty: bool = True
    # beyond the agreed interface
    client_factory: Callable[[str], Any] | None = None  # model name -> ModelClient-like (tests: scripted)
    # recorded replies instead of a model (JSON {purpose: [reply, ...]}): a path, so that the config
    # stays plain data that crosses to a process or a Ray worker; each config replays from the start
    replay: Path | None = None
    max_tokens: int | None = None  # per model call; None: the client's default
    experiment_args: list[str] = field(default_factory=list)  # extra args of every experiment run
    smoke: bool = False  # add the template manifest's smoke arguments (bench_template.json) to every run
    plot_args: list[str] = field(default_factory=list)
    novelty_rounds: int = 5
    citation_rounds: int = 3
    literature: LiteratureClient | None = None  # injected literature client (tests, shared caches)
    literature_cache: Path | None = None
    reviewer_kwargs: dict[str, Any] | None = None  # extra ReviewerConfig fields
    skip_non_novel: bool = False  # the published pipeline drops ideas found not novel
    cache_dir: Path | None = None  # model response cache
    seed_fallback: bool = False  # no idea from the model: run the template's first seed idea instead
    context_tokens: int | None = None  # cut prompts to this window (slow local models); None: the model's own
    on_event: EventHook | None = None
    _clients: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)
    _replay_factory: Any = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.out_dir = Path(self.out_dir)
        if self.calibrator is not None:
            self.calibrator = Path(self.calibrator)
        if self.replay is not None:
            self.replay = Path(self.replay)

    def __getstate__(self) -> dict[str, Any]:
        """What crosses to a worker: settings only. Cached clients hold locks and open connections,
        and the event hook is the caller's console: both are rebuilt (or left out) where the task runs."""
        state = dict(self.__dict__)
        state["_clients"], state["_replay_factory"], state["on_event"] = {}, None, None
        return state

    def with_gpus(self, gpus: tuple[int, ...]) -> PipelineConfig:
        """A copy whose sandboxed runs see exactly GPUs `gpus` (nvidia-smi indexes; () for none)."""
        import dataclasses

        return dataclasses.replace(self, sandbox_limits=self.limits().model_copy(update={"gpus": tuple(gpus)}))

    # ---- shared resources --------------------------------------------------------------
    def client(self, model: str | None = None) -> Any:
        model = model or self.model
        if model not in self._clients:
            if self.client_factory is None and self.replay is not None and self._replay_factory is None:
                from scientist.cli import replay_factory

                self._replay_factory = replay_factory(self.replay)
            factory = self.client_factory or self._replay_factory
            if factory is not None:
                self._clients[model] = factory(model)
            else:
                from reviewer.llm import ModelClient

                self._clients[model] = ModelClient(model, cache_dir=self.cache_dir,
                                                   litellm_kwargs=self.litellm_kwargs)
            if self.context_tokens:
                self._clients[model] = ContextBudget(self._clients[model], self.context_tokens)
        return self._clients[model]

    def reviewers(self) -> list[str]:
        """The panel that reviews every paper of this run."""
        if self.self_review:
            return [self.model]
        if self.reviewer_models:
            return list(self.reviewer_models)
        return [self.reviewer_model] if self.reviewer_model else review_stage.default_reviewers()

    def reviewer_clients(self) -> list[Any]:
        return [self.client(m) for m in self.reviewers()]

    def literature_client(self) -> LiteratureClient:
        if self.literature is None:
            self.literature = LiteratureClient(cache_dir=self.literature_cache)
        return self.literature

    def limits(self) -> Any:
        if self.sandbox_limits is None:
            from scientist.sandbox import SandboxLimits

            self.sandbox_limits = SandboxLimits()
        return self.sandbox_limits

    # ---- manifest ----------------------------------------------------------------------
    def settings(self) -> dict[str, Any]:
        """What a rerun in the same folder must share (scientist.rundir.check_settings): the settings,
        less the folder itself and the GPUs, which belong to the machine, not to the run."""
        out = {k: v for k, v in self.to_dict().items() if k != "out_dir" and not (k == "replay" and v is None)}
        if out.get("writeup_refine_calls") == writeup_stage.WriteupSettings.refine_calls:
            del out["writeup_refine_calls"]  # at its default: a run started before the field existed continues
        if isinstance(out.get("sandbox_limits"), dict):
            out["sandbox_limits"] = {k: v for k, v in out["sandbox_limits"].items() if k != "gpus"}
        return out

    def to_dict(self) -> dict[str, Any]:
        """The JSON-serializable settings, enough to resume a run (`config_from_manifest`)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            if f.name.startswith("_") or f.name in ("client_factory", "literature", "on_event"):
                continue
            value = getattr(self, f.name)
            if isinstance(value, BaseModel):
                value = value.model_dump(mode="json")
            elif isinstance(value, Path):
                value = str(value)
            try:
                json.dumps(value)
            except TypeError:
                continue  # e.g. a mock_response that is an exception
            out[f.name] = value
        return out


def config_from_manifest(out_dir: Path, **overrides: Any) -> PipelineConfig:
    """The configuration a run directory was started with, for `--resume`."""
    manifest = read_model(RunDir(Path(out_dir)).manifest, RunManifest)
    if manifest is None:
        raise FileNotFoundError(f"{out_dir} has no manifest.json: not a scientist run directory")
    data = dict(manifest.config)
    data["out_dir"] = Path(out_dir)
    if data.get("sandbox_limits") is not None:
        from scientist.sandbox import SandboxLimits

        data["sandbox_limits"] = SandboxLimits(**data["sandbox_limits"])
    for key in ("calibrator", "literature_cache", "cache_dir", "replay"):
        if data.get(key):
            data[key] = Path(data[key])
    known = {f.name for f in fields(PipelineConfig) if f.init}
    data = {k: v for k, v in data.items() if k in known}
    data.update({k: v for k, v in overrides.items() if v is not None})
    return PipelineConfig(**data)


def _emit(cfg: PipelineConfig, idea: str, stage: str, status: StageStatus | None) -> None:
    if cfg.on_event is not None:
        cfg.on_event(idea, stage, status)


def load_template_source(name_or_path: str) -> Any:
    """A template by name (scientist/templates/<name>) or by folder path, in this project's
    layout or the AI Scientist's (scientist.templates.load_template)."""
    from scientist.templates import load_template

    return load_template(name_or_path)


def _load_template(cfg: PipelineConfig) -> Any:
    return load_template_source(cfg.template)


def update_manifest(cfg: PipelineConfig, **changes: Any) -> RunManifest:
    """Read-modify-write of OUT/manifest.json, serialized: ideas finishing at once (threads or
    processes) must not overwrite each other's outcome."""
    with locked(RunDir(cfg.out_dir).manifest):
        return _update_manifest_locked(cfg, **changes)


def _update_manifest_locked(cfg: PipelineConfig, **changes: Any) -> RunManifest:
    rd = RunDir(cfg.out_dir)
    manifest = read_model(rd.manifest, RunManifest) or RunManifest(
        model=cfg.model, template=cfg.template, n_ideas=cfg.n_ideas)
    manifest.config = cfg.to_dict()
    manifest.n_ideas = cfg.n_ideas
    for key, value in changes.items():
        if key == "outcome":
            manifest.outcomes[value.idea_name] = {
                "stages": {k: v.status for k, v in value.stages.items()},
                "novel": value.novel, "n_runs_ok": value.n_runs_ok, "paper_compiled": value.paper_compiled,
                "overall": value.overall, "p_accept": value.p_accept, "cost_usd": value.cost_usd,
                "wall_time_s": value.wall_time_s,
            }
        else:
            setattr(manifest, key, value)
    ideas_cost = manifest.ideas_stage.cost_usd if manifest.ideas_stage else 0.0
    manifest.cost_usd = round(ideas_cost + sum(o.get("cost_usd", 0.0) for o in manifest.outcomes.values()), 6)
    manifest.updated_at = utc_now()
    write_json(rd.manifest, manifest)
    return manifest


# ---- stage 1: ideas --------------------------------------------------------------------
def generate_ideas(cfg: PipelineConfig) -> list[Idea]:
    """N ideas in OUT/ideas.json; generation continues where an interrupted one stopped."""
    rd = RunDir(cfg.out_dir)
    record = read_model(rd.ideas, IdeasRecord)
    retry = record is not None and record.stage is not None and record.stage.status == "failed" \
        and infra_kind(record.stage.error) is not None  # the infrastructure failed, not the model: retry
    if record is not None and record.stage is not None and record.requested >= cfg.n_ideas and not retry:
        return record.ideas
    update_manifest(cfg)
    template = _load_template(cfg)
    client = cfg.client()
    if record is None:
        record = IdeasRecord(template=cfg.template, model=cfg.model, requested=cfg.n_ideas)
    record.requested, record.stage = cfg.n_ideas, None
    _emit(cfg, "*", "ideas", None)
    meter = UsageMeter([client])
    code = (Path(template.path) / "experiment.py").read_text()
    extend_ideas(record, client, template.system_prompt, template.task_description, code,
                 list(template.seed_ideas or []) + list(getattr(template, "previous_ideas", None) or []),
                 cfg.idea_reflections, max_tokens=cfg.max_tokens,
                 save=lambda r: write_json(rd.ideas, r))
    if record.ideas:
        error = f"{len(record.failures)} of {record.requested} idea(s) failed" if record.failures else None
        record.stage = meter.status("ok", error)
    else:
        why = record.failures[-1].error if record.failures else "none requested"
        if cfg.seed_fallback and template.seed_ideas:
            # the later stages are still measured, on an idea the model did not write
            record.ideas.append(Idea.from_seed(template.seed_ideas[0]))
            why += f" (running the template's seed idea {record.ideas[0].name!r} instead)"
        record.stage = meter.status("failed", f"no idea: {why}")
    write_json(rd.ideas, record)
    update_manifest(cfg, ideas_stage=record.stage)
    _emit(cfg, "*", "ideas", record.stage)
    return record.ideas


# ---- stages 2-5, one idea ----------------------------------------------------------------
def _resumable(cfg: PipelineConfig, idea: Idea, stage: str, path: Path, model: type[R],
               blank: Callable[[], R], body: Callable[[], R], judge: Callable[[R], tuple[str, str | None]],
               clients: list[Any], skip: str | None = None) -> R:
    existing = read_model(path, model)
    if existing is not None and getattr(existing, "stage", None) is not None:
        return existing
    _emit(cfg, idea.name, stage, None)
    if skip is not None:
        record = blank()
        record.stage = StageStatus(status="skipped", error=skip)  # type: ignore[attr-defined]
    else:
        record = run_stage(body, clients, lambda _err: blank(), judge)
    write_json(path, record)
    _emit(cfg, idea.name, stage, record.stage)  # type: ignore[attr-defined]
    return record


def _novelty_judge(r: NoveltyResult) -> tuple[str, str | None]:
    return ("ok", None) if r.status != "unchecked" else ("skipped", r.reason or "novelty unchecked")


def run_idea(cfg: PipelineConfig, idea: Idea) -> IdeaOutcome:
    """Novelty, experiments, plots, write-up and review of one idea, in OUT/<idea.name>/."""
    retry_infra_failures(cfg.out_dir, idea.name)
    d = RunDir(cfg.out_dir).idea(idea.name)
    d.root.mkdir(parents=True, exist_ok=True)
    write_json(d.idea, idea)
    template = _load_template(cfg)
    tpath = Path(template.path)
    client = cfg.client()
    run_args = [*template.run_args(cfg.smoke), *cfg.experiment_args]  # the manifest's, then the user's
    cmd = ["python", *exp_stage.experiment_command(run_args)]

    novelty = _resumable(
        cfg, idea, "novelty", d.novelty, NoveltyResult,
        blank=lambda: NoveltyResult(idea_name=idea.name, status="unchecked", reason="novelty check disabled"),
        body=lambda: check_novelty(idea, client, cfg.literature_client(), cfg.novelty_rounds, cfg.max_tokens),
        judge=_novelty_judge, clients=[client],
        skip=None if cfg.check_novelty else "novelty check disabled")

    skip = "idea found not novel" if cfg.skip_non_novel and novelty.novel is False else None
    settings = exp_stage.ExperimentSettings(
        max_runs=cfg.max_runs, max_fixes=cfg.max_fixes, limits=cfg.limits(),
        unsafe_no_sandbox=cfg.unsafe_no_sandbox, extra_args=run_args, max_tokens=cfg.max_tokens)
    experiments = _resumable(
        cfg, idea, "experiments", d.experiments, ExperimentsRecord,
        blank=lambda: ExperimentsRecord(command=cmd),
        body=lambda: exp_stage.perform_experiments(idea, d, tpath, RunDir(cfg.out_dir).baseline, client,
                                                   template.system_prompt, settings),
        judge=exp_stage.judge, clients=[client], skip=skip)

    exp_status = experiments.stage.status if experiments.stage else "failed"
    skip = None if exp_status == "ok" else (
        "idea abandoned" if exp_status == "abandoned" else f"experiments {exp_status}")
    plots = _resumable(
        cfg, idea, "plots", d.plots, PlotResult, blank=PlotResult,
        body=lambda: plot_stage.make_plots(idea, d, experiments, client, template.system_prompt,
                                           plot_stage.PlotSettings(cfg.max_fixes, cfg.limits(), cfg.unsafe_no_sandbox,
                                                                   list(cfg.plot_args), cfg.max_tokens)),
        judge=plot_stage.judge, clients=[client], skip=skip)

    writeup = _resumable(
        cfg, idea, "writeup", d.writeup, CompiledPaper, blank=CompiledPaper,
        body=lambda: writeup_stage.perform_writeup(
            idea, d, tpath, experiments, plots, client, template.system_prompt,
            cfg.literature_client(),
            writeup_stage.WriteupSettings(cfg.writeup_fix_rounds, cfg.citation_rounds, cfg.max_tokens,
                                          refine_calls=cfg.writeup_refine_calls)),
        judge=writeup_stage.judge, clients=[client], skip=skip)

    panel = cfg.reviewers()
    review = _resumable(
        cfg, idea, "review", d.review, ReviewStageRecord,
        blank=lambda: ReviewStageRecord(reviewer_model=" + ".join(panel), panel=panel, self_review=cfg.self_review),
        body=lambda: review_stage.review_panel(Path(writeup.pdf_path or ""), idea.name, cfg.client, panel,
                                               cfg.calibrator, cfg.reviewer_kwargs, cfg.force_calibrator,
                                               cfg.self_review),
        judge=review_stage.judge, clients=cfg.reviewer_clients(),
        skip=None if writeup.compiled else "no compiled paper")

    outcome = build_outcome(idea, d, novelty, experiments, plots, writeup, review)
    write_json(d.outcome, outcome)
    update_manifest(cfg, outcome=outcome)
    return outcome


def _incidents(experiments: ExperimentsRecord, plots: PlotResult, review: ReviewStageRecord) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for run in experiments.runs:  # not the baseline: the template's own code, not the model's
        for a in run.attempts:
            found += [{**i, "stage": "experiments", "run": run.index, "attempt": a.attempt} for i in a.incidents]
    for a in plots.attempts:
        found += [{**i, "stage": "plots", "attempt": a.attempt} for i in a.incidents]
    # text in the model's paper aimed at its reviewer: stripped before the review, and an incident
    found += [{"kind": "prompt_injection", "stage": "review", "finding": f.get("kind"), "page": f.get("page"),
               "detail": str(f.get("text", ""))[:300]} for f in review.prompt_injection]
    return found


def retry_infra_failures(out_dir: Path, idea_name: str) -> list[str]:
    """Forget the first stage of an idea that failed for the infrastructure (and every later
    stage), so that this run retries it: such a failure is not the model's result."""
    d = RunDir(Path(out_dir)).idea(idea_name)
    for name in IDEA_STAGES:
        try:
            data = json.loads(d.stage_file(name).read_text())
        except (OSError, ValueError):
            continue
        stage = (data or {}).get("stage") or {}
        if stage.get("status") == "failed" and infra_kind(stage.get("error")):
            return reset_stage(out_dir, idea_name, name)
    return []


def _infra_error(stages: dict[str, StageStatus]) -> str | None:
    for name in IDEA_STAGES:
        status = stages.get(name)
        if status is not None and status.status == "failed" and (found := infra_error(status.error)):
            return f"{name}: {found}"
    return None


def build_outcome(idea: Idea, d: IdeaDir, novelty: NoveltyResult, experiments: ExperimentsRecord,
                  plots: PlotResult, writeup: CompiledPaper, review: ReviewStageRecord) -> IdeaOutcome:
    records = dict(zip(IDEA_STAGES, (novelty, experiments, plots, writeup, review), strict=True))
    stages = {name: rec.stage for name, rec in records.items() if rec.stage is not None}
    return IdeaOutcome(
        idea_name=idea.name, title=idea.title, novel=novelty.novel,
        experiments_passed=experiments.n_runs_ok > 0 and "experiments" in stages
        and stages["experiments"].status == "ok",
        n_runs_ok=experiments.n_runs_ok, paper_compiled=writeup.compiled,
        pdf_path=writeup.pdf_path, tex_path=writeup.tex_path if writeup.compiled or writeup.draft.sections else None,
        idea_dir=str(d.root), review=review.review, overall=review.overall, p_accept=review.p_accept,
        stages=stages, incidents=_incidents(experiments, plots, review), infra_error=_infra_error(stages),
        cost_usd=round(sum(s.cost_usd for s in stages.values()), 6),
        wall_time_s=round(sum(s.seconds for s in stages.values()), 3),
    )


def run_pipeline(cfg: PipelineConfig) -> list[IdeaOutcome]:
    """Ideas, then every stage of every idea; resumes whatever a previous call left unfinished."""
    update_manifest(cfg, finished=False)
    outcomes = [run_idea(cfg, idea) for idea in generate_ideas(cfg)]
    update_manifest(cfg, finished=True)
    return outcomes


def reset_stage(out_dir: Path, idea_name: str, stage: str) -> list[str]:
    """Forget `stage` and every later stage of one idea, so that the next run re-runs them."""
    if stage not in IDEA_STAGES:
        raise ValueError(f"unknown stage {stage!r}; one of {', '.join(IDEA_STAGES)}")
    d = RunDir(Path(out_dir)).idea(idea_name)
    removed = []
    for name in IDEA_STAGES[IDEA_STAGES.index(stage):]:
        path = d.stage_file(name)
        if path.exists():
            path.unlink()
            removed.append(name)
    d.outcome.unlink(missing_ok=True)
    if stage in ("novelty", "experiments"):
        shutil.rmtree(d.code, ignore_errors=True)
    return removed
