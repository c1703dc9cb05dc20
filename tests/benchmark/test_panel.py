"""The reviewer panel: declared, never the model under test by default, one per board."""
from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

import benchmark.runner as runner
from benchmark.leaderboard.board import build_leaderboard, to_markdown, write_leaderboard
from benchmark.panel import DEFAULT_REVIEWER, PanelError, make_panel
from benchmark.results_db import PanelMismatch
from benchmark.runner import BenchConfig, run_benchmark

from bench_fakes import FakeIdea, fake_config, fake_generate, fake_run_idea


def test_default_panel_is_never_the_model(monkeypatch):
    monkeypatch.delenv("BENCH_REVIEWER", raising=False)
    assert make_panel("gpt-4o").reviewers == [DEFAULT_REVIEWER]
    monkeypatch.setenv("BENCH_REVIEWER", "anthropic/claude-3-5-sonnet, openai/gpt-4o-mini")
    assert make_panel("gpt-4o").reviewers == ["anthropic/claude-3-5-sonnet", "openai/gpt-4o-mini"]
    with pytest.raises(PanelError, match="--self-review"):
        make_panel("gpt-4o", ["gpt-4o"])  # reviewing itself must be asked for by name
    own = make_panel("gpt-4o", self_review=True)
    assert own.reviewers == ["gpt-4o"] and "SELF-REVIEW" in own.label()
    with pytest.raises(PanelError):
        make_panel("gpt-4o", ["x"], self_review=True)


def test_pipeline_reviews_with_the_panel_not_the_model(monkeypatch):
    from scientist.pipeline import PipelineConfig

    monkeypatch.delenv("BENCH_REVIEWER", raising=False)
    assert PipelineConfig(model="m", template="grokking").reviewers() == [DEFAULT_REVIEWER]  # was: "m"
    assert PipelineConfig(model="m", template="grokking", reviewer_models=["a", "b"]).reviewers() == ["a", "b"]
    assert PipelineConfig(model="m", template="grokking", self_review=True).reviewers() == ["m"]


def _run(tmp_path, model: str, reviewers: list[str], self_review: bool = False):
    bench = BenchConfig(model=model, templates=["grokking"], out_dir=tmp_path / model, n_ideas=1,
                        reviewers=reviewers, self_review=self_review)
    return run_benchmark(bench, generate_ideas_fn=fake_generate, run_idea_fn=fake_run_idea,
                         idea_model=FakeIdea, config_fn=fake_config)


def test_two_models_judged_by_different_reviewers_are_on_separate_boards(tmp_path):
    _run(tmp_path, "model-a", ["judge-x"])
    _run(tmp_path, "model-b", ["judge-y", "judge-z"])
    _run(tmp_path, "model-c", ["judge-x"])
    _run(tmp_path, "model-d", [], self_review=True)
    rows = build_leaderboard([tmp_path])
    by_model = {r.model: r for r in rows}
    assert by_model["model-a"].panel_key == by_model["model-c"].panel_key != by_model["model-b"].panel_key
    assert by_model["model-d"].self_review and not by_model["model-a"].self_review
    md = to_markdown(rows)
    boards = md.split("## Why papers")[0].split("## Board: ")[1:]
    assert len(boards) == 3
    x_board = next(b for b in boards if b.startswith("reviewer panel: judge-x;"))
    assert "| model-a |" in x_board and "| model-c |" in x_board and "model-b" not in x_board
    assert any(b.startswith("reviewer panel: judge-y + judge-z;") and "| model-b |" in b for b in boards)
    assert any("SELF-REVIEW" in b.splitlines()[0] and "| model-d [SELF-REVIEW] |" in b for b in boards)
    page = write_leaderboard(rows, tmp_path / "board")["html"].read_text()
    assert page.count('<p class="panel">') == 3 and "judge-y + judge-z" in page


def test_a_rerun_with_another_panel_is_refused(tmp_path):
    _run(tmp_path, "model-a", ["judge-x"])
    with pytest.raises(PanelMismatch, match="another reviewer panel"):
        _run(tmp_path, "model-a", ["judge-y"])


def test_cli_refuses_model_as_its_own_reviewer_and_prints_the_panel(tmp_path, monkeypatch):
    from benchmark.cli import main

    result = CliRunner().invoke(main, ["run", "m", "--templates", "grokking", "--reviewer", "m",
                                       "--out", str(tmp_path)])
    assert result.exit_code == 2 and "--self-review" in result.output
    from test_cli_run import FakePipelineConfig

    monkeypatch.setattr(runner, "_pipeline", lambda: SimpleNamespace(
        PipelineConfig=FakePipelineConfig, generate_ideas=fake_generate, run_idea=fake_run_idea))
    monkeypatch.setattr(runner, "_idea_model", lambda: FakeIdea)
    monkeypatch.setenv("FAKE_CRASH_FIXED", "1")
    monkeypatch.delenv("BENCH_REVIEWER", raising=False)
    result = CliRunner().invoke(main, ["run", "m", "--templates", "grokking", "--ideas", "1", "--no-preflight",
                                       "--out", str(tmp_path / "r")])
    assert result.exit_code == 0, result.output
    assert f"reviewer panel: {DEFAULT_REVIEWER} [smoke-test reviewer, 135M parameters]; calibrator: none" in result.output
    from benchmark.results_db import ResultsDB

    with ResultsDB(tmp_path / "r") as db:
        (run,) = db.runs()
    assert json.loads(run["config_json"])["panel"]["reviewers"] == [DEFAULT_REVIEWER]
    assert build_leaderboard([tmp_path / "r"])[0].panel.startswith(f"reviewer panel: {DEFAULT_REVIEWER}")


def test_calibrator_fit_on_another_reviewer_is_refused_before_the_run(tmp_path):
    from benchmark.cli import main
    from reviewer.eval.calibration import Calibrator

    cal = tmp_path / "cal.json"
    name = "gpt-4o-2024-05-13_temp_0_1_fewshot_1_reflect_5_ensemble_5_pages_all"
    Calibrator(configs=[name], columns=[f"{name}::Overall"], feature_set="overall", link="logistic", C=1.0,
               impute=[5.0], mean=[5.0], scale=[1.0], coef=[1.0], intercept=0.0, threshold=0.5).save(cal)
    result = CliRunner().invoke(main, ["run", "m", "--templates", "grokking", "--reviewer", "local/smollm2",
                                       "--calibrator", str(cal), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2, result.output
    assert "calibrator fit on reviewer gpt-4o-2024-05-13" in result.output and "local-smollm2" in result.output


def test_review_stage_refuses_or_marks_a_calibrator_of_another_reviewer(tmp_path):
    from reviewer.eval.calibration import CalibrationError, Calibrator
    from reviewer.llm.scripted import ScriptedModelClient
    from scientist.stages.review import review_panel

    from test_injection_in_run import review_json

    pdf = tmp_path / "paper.txt"  # the review stage reads any paper file the one review path reads
    pdf.write_text("We study adaptive weight decay on modular arithmetic and report every run we made. " * 20)
    name = "gpt-4o-2024-05-13_temp_0_1_pages_all"
    cal = tmp_path / "cal.json"
    Calibrator(configs=[name], columns=[f"{name}::Overall"], feature_set="overall", link="logistic", C=1.0,
               impute=[5.0], mean=[5.0], scale=[1.0], coef=[1.0], intercept=0.0, threshold=0.5).save(cal)
    calls: list[str] = []

    def client_for(model: str) -> ScriptedModelClient:
        return ScriptedModelClient(lambda m, p: calls.append(p) or review_json(6), model="gpt-4o")

    with pytest.raises(CalibrationError, match="cannot score reviews by judge-x_temp_0_1"):
        review_panel(pdf, "p", client_for, ["judge-x"], calibrator=cal)
    assert calls == []  # refused before any review was paid for
    forced = review_panel(pdf, "p", client_for, ["judge-x"], calibrator=cal, force_calibrator=True)
    assert forced.calibrator_transfer and forced.calibrated and forced.p_accept is not None
    same = review_panel(pdf, "p", client_for, ["gpt-4o"], calibrator=cal)  # fit on this reviewer: applied
    assert same.calibrated and not same.calibrator_transfer and same.members[0]["decision"] == "Accept"
    assert "FORCED TRANSFER" in make_panel("m", ["judge-x"], calibrator=cal, force_calibrator=True).label()


def test_a_board_judged_by_the_embedded_model_is_labelled_smoke_test() -> None:
    from benchmark.panel import make_panel

    label = make_panel("gpt-4o", ["local/smollm2"]).label()
    assert "smoke-test reviewer" in label and "135M" in label
    assert "smoke-test" not in make_panel("local/smollm2", ["gpt-4o"]).label()
