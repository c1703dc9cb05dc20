"""One leaderboard row: what a model achieved on a template, as a typed record."""
from __future__ import annotations

from pydantic import BaseModel, Field

JSON_KEYS = ("model", "template", "ideas", "novel", "experiments_passed", "completed", "valid",
             "mean_score", "max_score", "cost_usd")


class LeaderboardRow(BaseModel):
    model: str
    template: str
    source: str = "bench run"
    panel: str = "reviewer panel: unknown (recorded before panels were)"  # who judged the papers: one per board
    panel_key: str = "unknown"
    self_review: bool = False  # the model judged its own papers (explicit --self-review)
    infra_errors: int = 0  # ideas stopped by the infrastructure: shown apart, not counted, retried on rerun
    infra_runs: int = 0  # seeds whose idea generation the infrastructure stopped: not counted either
    seeds: int = 1
    failed_runs: int = 0  # seeds that crashed or did not finish every idea
    ideas: float | None = None
    novel: float | None = None  # None: novelty was never checked
    experiments_passed: float | None = None
    completed: float | None = None
    valid: float | None = None  # None: validity cannot be checked (imported reviews)
    ideas_stderr: float | None = None
    novel_stderr: float | None = None
    experiments_passed_stderr: float | None = None
    completed_stderr: float | None = None
    valid_stderr: float | None = None
    n_scored: int = 0  # papers behind mean_score
    mean_score: float | None = None
    mean_score_ci: tuple[float, float] | None = None
    max_score: float | None = None
    mean_score_all: float | None = None  # every reviewed paper, valid or not
    n_reviewed: int = 0
    mean_p_accept: float | None = None
    accept_rate: float | None = None  # share of scored papers whose review says Accept
    cost_usd: float | None = None  # per seed
    cost_usd_stderr: float | None = None
    cost_per_idea: float | None = None
    cost_per_idea_ci: tuple[float, float] | None = None
    cost_per_valid_paper: float | None = None
    wall_time_s: float | None = None  # per seed: idea generation plus every idea's stages
    incidents: float | None = None  # per seed
    check_failures: dict[str, int] = Field(default_factory=dict)  # validity check -> papers failing it
    run_notes: list[str] = Field(default_factory=list)  # why runs failed or came up short (first lines)
    scores: list[float] = Field(default_factory=list, exclude=True)  # for the plots
    scores_all: list[float] = Field(default_factory=list, exclude=True)
