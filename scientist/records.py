"""The pipeline's data: every record a stage writes to the run directory, as pydantic models.

A stage reads the records of the stages before it and writes its own, so any stage can be
resumed, re-run or tested alone; reports read these files and never re-run work.
"""
from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

StageName = Literal["ideas", "novelty", "experiments", "plots", "writeup", "review"]
IDEA_STAGES: tuple[str, ...] = ("novelty", "experiments", "plots", "writeup", "review")


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def slugify(text: str, max_len: int = 48) -> str:
    """A lowercase directory-safe name: letters, digits and underscores."""
    slug = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")[:max_len].strip("_")
    return slug or "idea"


# ---- stage bookkeeping ------------------------------------------------------------------
class StageStatus(BaseModel):
    """How one stage ended. Written inside that stage's record; a stage with a status is finished."""

    status: Literal["ok", "failed", "skipped", "abandoned"]
    error: str | None = None
    seconds: float = 0.0
    tokens: int = 0
    cost_usd: float = 0.0
    model_calls: int = 0
    finished_at: str = Field(default_factory=utc_now)


# ---- ideas ------------------------------------------------------------------------------
class IdeaProposal(BaseModel):
    """What the model writes for one idea (the schema it is asked to follow)."""

    name: str = Field(description="short lowercase identifier, e.g. adaptive_weight_decay")
    title: str = Field(description="the title a paper about this idea would have")
    experiment: str = Field(description="the experiment plan: what to change in experiment.py and what to compare")
    interestingness: int = Field(ge=1, le=10)
    feasibility: int = Field(ge=1, le=10)
    novelty: int = Field(ge=1, le=10)


class IdeaReflection(IdeaProposal):
    """A reflection round's reply: the (possibly unchanged) idea, and whether it is final."""

    done: bool = Field(description="true when the idea needs no further improvement")


class Idea(IdeaProposal):
    """An idea as the pipeline keeps it: a unique directory-safe name, and where it came from."""

    source: Literal["model", "seed"] = "model"  # seed: the template's, used when the model gave none

    @classmethod
    def from_seed(cls, seed: dict[str, Any]) -> Idea:
        """A template's seed idea (the published {"Name", "Title", ...} keys)."""
        get = lambda k: seed.get(k, seed.get(k.lower()))  # noqa: E731
        return cls(name=slugify(str(get("Name"))), title=str(get("Title")), experiment=str(get("Experiment")),
                   interestingness=int(get("Interestingness")), feasibility=int(get("Feasibility")),
                   novelty=int(get("Novelty")), source="seed")

    @field_validator("name")
    @classmethod
    def _safe_name(cls, value: str) -> str:
        if value != slugify(value):
            raise ValueError(f"idea name must be lowercase letters, digits and '_': {value!r}")
        return value


class IdeaFailure(BaseModel):
    index: int
    error: str


class IdeasRecord(BaseModel):
    """OUT/ideas.json."""

    template: str
    model: str
    requested: int
    ideas: list[Idea] = Field(default_factory=list)
    failures: list[IdeaFailure] = Field(default_factory=list)
    stage: StageStatus | None = None  # None while ideas are still being generated


# ---- novelty ----------------------------------------------------------------------------
class PaperHit(BaseModel):
    """One search result from the literature (Semantic Scholar or OpenAlex)."""

    title: str
    authors: list[str] = Field(default_factory=list)
    year: int | None = None
    venue: str = ""
    abstract: str = ""
    citation_count: int | None = None
    doi: str | None = None
    url: str | None = None
    source: str = ""
    bibtex: str | None = None


class NoveltyStep(BaseModel):
    """One round of the model's novelty judgement (the schema it is asked to follow)."""

    thought: str = Field(description="what the search results show about the idea's novelty")
    decision: Literal["novel", "not_novel", "search"] = Field(
        description="novel / not_novel when sure; search to run another literature query")
    query: str = Field(default="", description="the next search query when decision is search")


class NoveltySearch(BaseModel):
    query: str
    n_results: int
    titles: list[str] = Field(default_factory=list)


class NoveltyResult(BaseModel):
    """OUT/<idea>/novelty.json. status 'unchecked' when the literature could not be searched."""

    idea_name: str
    status: Literal["novel", "not_novel", "unchecked"]
    novel: bool | None = None
    reason: str = ""
    searches: list[NoveltySearch] = Field(default_factory=list)
    source: str | None = None
    stage: StageStatus | None = None


# ---- experiments ------------------------------------------------------------------------
class ExperimentAttempt(BaseModel):
    """One model turn that ended in a run (or in a rejected edit / a stop decision)."""

    attempt: int
    action: Literal["run", "stop", "abandon", "invalid"]
    edits_applied: list[str] = Field(default_factory=list)  # files changed
    edit_error: str | None = None
    exit_code: int | None = None
    timed_out: bool = False
    ok: bool = False
    wall_time_s: float = 0.0
    stdout_tail: str = ""
    stderr_tail: str = ""
    incidents: list[dict[str, Any]] = Field(default_factory=list)
    sandboxed: bool | None = None
    error: str | None = None  # what was sent back to the model
    edit_blocks: list[dict[str, Any]] = Field(default_factory=list)  # each block's outcome (scientist.edits)
    cut_off: bool = False  # the reply hit the output limit: asked to go on, not charged to the fixes


class ExperimentRun(BaseModel):
    """run_<index>: the attempts it took and, when it succeeded, its final_info.json."""

    index: int
    description: str = ""
    attempts: list[ExperimentAttempt] = Field(default_factory=list)
    ok: bool = False
    final_info: dict[str, Any] | None = None
    code_snapshot: str | None = None  # the experiment.py that produced it, relative to the idea dir


class RunResults(BaseModel):
    """OUT/<idea>/results/run_<i>.json: what the harness recorded when run i ended, outside the
    sandbox's reach; the only evidence the paper's numbers are checked against."""

    run: str  # "run_1"
    final_info: dict[str, Any] | None = None
    stdout: str = ""  # the tail the harness captured
    code: str = ""  # experiment.py as it ran
    source: Literal["harness", "folder"] = "harness"  # folder: read from an idea folder (bench validity --code)
    recorded_at: str = Field(default_factory=utc_now)


class ExperimentsRecord(BaseModel):
    """OUT/<idea>/experiments.json."""

    command: list[str]
    time_limit_s: float | None = None
    baseline: ExperimentRun | None = None
    runs: list[ExperimentRun] = Field(default_factory=list)
    stop_reason: Literal["completed", "max_runs", "max_fixes", "abandoned", "no_baseline", "model_error"] | None = None
    abandon_reason: str | None = None
    model_error: str | None = None  # the call that failed for good (the runs before it are kept)
    stage: StageStatus | None = None

    @property
    def n_runs_ok(self) -> int:
        return sum(r.ok for r in self.runs)


# ---- plots ------------------------------------------------------------------------------
class PlotAttempt(BaseModel):
    attempt: int
    edits_applied: list[str] = Field(default_factory=list)
    edit_error: str | None = None
    exit_code: int | None = None
    timed_out: bool = False
    ok: bool = False
    stderr_tail: str = ""
    incidents: list[dict[str, Any]] = Field(default_factory=list)
    figures: list[str] = Field(default_factory=list)
    edit_blocks: list[dict[str, Any]] = Field(default_factory=list)  # each block's outcome (scientist.edits)
    cut_off: bool = False  # the reply hit the output limit: asked to go on, not charged to the fixes


class PlotResult(BaseModel):
    """OUT/<idea>/plots.json."""

    attempts: list[PlotAttempt] = Field(default_factory=list)
    figures: list[str] = Field(default_factory=list)  # file names under code/, each checked to exist
    figure_notes: dict[str, str] = Field(default_factory=dict)
    stage: StageStatus | None = None


class FigureNotes(BaseModel):
    """The model's description of each figure (the schema it is asked to follow)."""

    descriptions: dict[str, str] = Field(description="figure file name -> what the figure shows")


# ---- write-up ---------------------------------------------------------------------------
class Citation(BaseModel):
    key: str
    title: str
    query: str
    source: str = ""


class CitationQuery(BaseModel):
    """The model's next literature query for the paper (the schema it is asked to follow)."""

    thought: str = ""
    done: bool = Field(description="true when no more citations are needed")
    query: str = Field(default="", description="search query for a paper to cite")


class CitationChoice(BaseModel):
    """Which search results to cite (the schema it is asked to follow)."""

    selected: list[int] = Field(default_factory=list, description="indices of the results to cite; [] for none")


class CompileRound(BaseModel):
    round: int
    ok: bool
    pdf: bool
    errors: list[str] = Field(default_factory=list)
    edit_error: str | None = None


class PaperDraft(BaseModel):
    sections: dict[str, str] = Field(default_factory=dict)
    citations: list[Citation] = Field(default_factory=list)
    citation_status: Literal["ok", "unavailable", "none"] = "none"
    removed_cites: list[str] = Field(default_factory=list)
    missing_figures: list[str] = Field(default_factory=list)
    # the refinement pass over the full draft: per section, the edit blocks' outcomes
    refinements: list[dict[str, Any]] = Field(default_factory=list)


class CompiledPaper(BaseModel):
    """OUT/<idea>/writeup.json."""

    draft: PaperDraft = Field(default_factory=PaperDraft)
    rounds: list[CompileRound] = Field(default_factory=list)
    compiled: bool = False
    clean: bool = False  # compiled with no LaTeX errors left
    tex_path: str | None = None
    pdf_path: str | None = None
    stage: StageStatus | None = None


# ---- review -----------------------------------------------------------------------------
class ReviewStageRecord(BaseModel):
    """OUT/<idea>/review.json."""

    reviewer_model: str
    review: dict[str, Any] | None = None
    overall: float | None = None
    decision: str | None = None
    p_accept: float | None = None
    calibrated: bool = False
    panel: list[str] = Field(default_factory=list)  # the reviewer models; overall is their mean
    members: list[dict[str, Any]] = Field(default_factory=list)  # each member's review and score
    calibrator_transfer: bool = False  # calibrator forced onto a reviewer it was not fit on
    self_review: bool = False  # the model under test reviewed its own paper (explicitly asked for)
    prompt_injection: list[dict[str, Any]] = Field(default_factory=list)  # findings stripped before review
    stage: StageStatus | None = None


# ---- outcomes ---------------------------------------------------------------------------
class IdeaOutcome(BaseModel):
    """OUT/<idea>/outcome.json: what the benchmark scores."""

    idea_name: str
    title: str
    novel: bool | None = None
    experiments_passed: bool = False
    n_runs_ok: int = 0
    paper_compiled: bool = False
    pdf_path: str | None = None
    tex_path: str | None = None
    idea_dir: str
    review: dict[str, Any] | None = None
    overall: float | None = None
    p_accept: float | None = None
    stages: dict[str, StageStatus] = Field(default_factory=dict)
    incidents: list[dict[str, Any]] = Field(default_factory=list)
    cost_usd: float = 0.0
    wall_time_s: float = 0.0
    infra_error: str | None = None  # a stage failed for the infrastructure, not the model: retried on rerun


class RunManifest(BaseModel):
    """OUT/manifest.json: the configuration (enough to resume) and a summary of every idea."""

    model: str
    template: str
    n_ideas: int
    config: dict[str, Any] = Field(default_factory=dict)
    started_at: str = Field(default_factory=utc_now)
    updated_at: str = Field(default_factory=utc_now)
    finished: bool = False
    ideas_stage: StageStatus | None = None
    outcomes: dict[str, dict[str, Any]] = Field(default_factory=dict)  # idea name -> short summary
    cost_usd: float = 0.0
