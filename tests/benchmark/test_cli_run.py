"""`bench run` wiring: options reach the runner, the DB fills, the board reads it (fake pipeline)."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

from click.testing import CliRunner

import benchmark.runner as runner
from benchmark.cli import main
from benchmark.results_db import ResultsDB

from bench_fakes import FakeIdea, fake_generate, fake_run_idea


@dataclass
class FakePipelineConfig:  # the fields the runner may set; unknown ones must be filtered out
    model: str
    template: str
    n_ideas: int = 1
    out_dir: Path = Path("x")
    reviewer_models: list[str] | None = None
    max_runs: int = 5
    check_novelty: bool = True
    max_tokens: int | None = None
    experiment_args: list[str] | None = None
    idea_reflections: int = 2


def test_bench_run_then_leaderboard(tmp_path, monkeypatch):
    seen = []

    def run_idea(cfg, idea):
        seen.append((cfg.template, tuple(cfg.reviewer_models), cfg.max_runs, cfg.check_novelty, cfg.max_tokens,
                     tuple(cfg.experiment_args), cfg.idea_reflections))
        return fake_run_idea(cfg, idea)

    monkeypatch.setenv("FAKE_CRASH_FIXED", "1")
    monkeypatch.setattr(runner, "_pipeline", lambda: SimpleNamespace(
        PipelineConfig=FakePipelineConfig, generate_ideas=fake_generate, run_idea=run_idea))
    monkeypatch.setattr(runner, "_idea_model", lambda: FakeIdea)
    out = tmp_path / "res"
    result = CliRunner().invoke(main, ["run", "fake/model", "--templates", "grokking,char_lm", "--ideas", "2",
                                       "--reviewer", "judge", "--reviewer", "judge2", "--max-runs", "2", "--no-novelty",
                                       "--no-preflight",
                                       "--max-tokens", "512", "--experiment-args", "--smoke --seeds 1", "--pipeline-option", "idea_reflections=0",
                                       "--out", str(out)])
    assert result.exit_code == 0, result.output
    smoke = ("--smoke", "--seeds", "1")
    panel = ("judge", "judge2")
    assert sorted(seen) == [("char_lm", panel, 2, False, 512, smoke, 0)] * 2 + [("grokking", panel, 2, False, 512, smoke, 0)] * 2
    assert "reviewer panel: judge + judge2" in result.output
    with ResultsDB(out) as db:
        assert [(r["template"], r["status"]) for r in db.runs()] == [("char_lm", "done"), ("grokking", "done")]
        assert json.loads(db.runs()[0]["config_json"])["check_novelty"] is False
    board = CliRunner().invoke(main, ["leaderboard", "--results", str(out), "--out", str(tmp_path / "b"),
                                      "--json", str(tmp_path / "b" / "rows.json")])
    assert board.exit_code == 0, board.output
    rows = json.loads((tmp_path / "b" / "rows.json").read_text())
    assert [(r["template"], r["ideas"], r["completed"], r["valid"]) for r in rows] == \
        [("char_lm", 2, 1, 1), ("grokking", 2, 1, 1)]


def test_unknown_pipeline_option_is_an_error(tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "_pipeline", lambda: SimpleNamespace(
        PipelineConfig=FakePipelineConfig, generate_ideas=fake_generate, run_idea=fake_run_idea))
    result = CliRunner().invoke(main, ["run", "m", "--templates", "grokking", "--pipeline-option", "idea_reflection=0",
                                       "--out", str(tmp_path)])
    assert result.exit_code == 2 and "PipelineConfig has no field(s) idea_reflection" in result.output
    assert not (tmp_path / "results.sqlite").exists() or not ResultsDB(tmp_path).runs()  # nothing recorded


def test_address_needs_ray_executor(tmp_path):
    result = CliRunner().invoke(main, ["run", "m", "--templates", "grokking", "--address", "auto",
                                       "--out", str(tmp_path)])
    assert result.exit_code == 2 and "--address needs --executor ray" in result.output
