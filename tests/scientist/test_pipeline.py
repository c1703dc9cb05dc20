"""The whole pipeline, end to end to a compiled and reviewed PDF, with a scripted model that
makes real edits; then resume, re-run of a stage, and graceful failure."""
from __future__ import annotations

import json
import shutil

import pytest
from scientist_helpers import FIXTURES, review_json, science_script

from scientist.pipeline import (
    PipelineConfig,
    config_from_manifest,
    generate_ideas,
    reset_stage,
    run_idea,
    run_pipeline,
)
from scientist.records import IdeaOutcome, RunManifest
from scientist.sandbox import SandboxLimits

TEMPLATE = FIXTURES / "tiny_template"
needs_tex = pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex not installed")

def make_config(tmp_path, scripted_client, recorded_literature, script=None, **kw):  # type: ignore[no-untyped-def]
    client, sc = scripted_client(script or science_script())
    cfg = PipelineConfig(
        model="gpt-4o", template=str(TEMPLATE), n_ideas=1, out_dir=tmp_path / "out", max_runs=3, max_fixes=1,
        idea_reflections=1, writeup_fix_rounds=1, citation_rounds=2,
        sandbox_limits=SandboxLimits(wall_time_s=60, memory_mb=2048), client_factory=lambda m: client,
        literature=recorded_literature, **kw)
    return cfg, sc


@needs_tex
def test_end_to_end_to_reviewed_pdf_then_resume(tmp_path, scripted_client, recorded_literature):
    events: list[tuple[str, str, str | None]] = []
    cfg, script = make_config(tmp_path, scripted_client, recorded_literature,
                              on_event=lambda i, s, st: events.append((i, s, st.status if st else None)))
    (outcome,) = run_pipeline(cfg)

    d = tmp_path / "out" / "step_size_sweep"
    assert {k: v.status for k, v in outcome.stages.items()} == {
        "novelty": "ok", "experiments": "ok", "plots": "ok", "writeup": "ok", "review": "ok"}
    assert outcome.novel is True and outcome.experiments_passed and outcome.n_runs_ok == 2
    assert outcome.paper_compiled and outcome.pdf_path == str(d / "paper" / "paper.pdf")
    assert (d / "paper" / "paper.pdf").read_bytes().startswith(b"%PDF")
    assert outcome.overall == 5.0 and outcome.review["decision"] == "Reject"
    assert outcome.cost_usd > 0 and outcome.wall_time_s > 0 and outcome.incidents == []
    # the run directory holds every record
    for name in ("idea.json", "novelty.json", "experiments.json", "notes.txt", "plots.json", "writeup.json",
                 "review.json", "outcome.json", "code/run_0/final_info.json", "code/run_2/final_info.json",
                 "code/loss.png", "paper/template.tex", "paper/references.bib", "paper/loss.png"):
        assert (d / name).exists(), name
    assert json.loads((d / "code/run_2/final_info.json").read_text())["lr"]["means"] == 0.45
    assert "LR 0.45" in (d / "code/plot.py").read_text()
    notes = (d / "notes.txt").read_text()
    assert "larger steps converge faster" in notes and "loss.png: Loss per step, log scale" in notes
    tex = (d / "paper/template.tex").read_text()
    assert "Step Sizes and Convergence on Quadratics" in tex and "made2099up" not in tex
    assert "\\citep{robbins1951stochastic,power2022grokking}" in tex  # searched cite kept, invented one dropped
    assert "@Article{power2022grokking," in (d / "paper/references.bib").read_text()
    writeup = json.loads((d / "writeup.json").read_text())
    assert writeup["draft"]["removed_cites"] == ["made2099up"] and writeup["clean"] is True
    assert "power2022grokking" in script.prompts("writeup")[0]  # sections are told the real keys
    assert "0.45" in script.prompts("writeup")[0]  # and the real results
    assert IdeaOutcome.model_validate_json((d / "outcome.json").read_text()) == outcome
    manifest = RunManifest.model_validate_json((tmp_path / "out" / "manifest.json").read_text())
    assert manifest.finished and manifest.outcomes["step_size_sweep"]["paper_compiled"] is True
    assert manifest.ideas_stage.status == "ok" and manifest.cost_usd >= outcome.cost_usd
    assert [e[1] for e in events if e[2] is not None] == ["ideas", "novelty", "experiments", "plots", "writeup", "review"]

    # resume: nothing left to do, so no model call and the same outcome
    calls = len(script.requests)
    again = run_pipeline(config_from_manifest(tmp_path / "out", client_factory=cfg.client_factory,
                                              literature=recorded_literature))
    assert len(script.requests) == calls and again[0].stages == outcome.stages

    # re-run the review alone
    script.queues["review"] = [review_json(overall=7, decision="Accept")]
    assert reset_stage(tmp_path / "out", "step_size_sweep", "review") == ["review"]
    rerun = run_idea(cfg, generate_ideas(cfg)[0])
    assert rerun.overall == 7.0 and rerun.stages["experiments"] == outcome.stages["experiments"]


def test_model_failure_is_recorded_never_raised(tmp_path, scripted_client, offline_literature):
    script = science_script()
    script["experiments"] = ["I would rather not edit anything."] * 3
    cfg, _ = make_config(tmp_path, scripted_client, offline_literature, script=script)
    (outcome,) = run_pipeline(cfg)
    st = {k: (v.status, v.error) for k, v in outcome.stages.items()}
    assert st["novelty"][0] == "skipped" and "offline" in st["novelty"][1]
    assert outcome.novel is None
    assert st["experiments"][0] == "failed" and "no run succeeded" in st["experiments"][1]
    assert st["plots"] == ("skipped", "experiments failed") and st["writeup"][0] == "skipped"
    assert st["review"] == ("skipped", "no compiled paper")
    assert not outcome.paper_compiled and outcome.pdf_path is None


def test_crash_inside_a_stage_resumes_that_stage(tmp_path, scripted_client, recorded_literature, monkeypatch):
    cfg, script = make_config(tmp_path, scripted_client, recorded_literature)
    from scientist import pipeline

    def crash(*a, **k):
        raise KeyboardInterrupt  # what a kill looks like from inside: not a model failure

    monkeypatch.setattr(pipeline.plot_stage, "make_plots", crash)
    with pytest.raises(KeyboardInterrupt):
        run_pipeline(cfg)
    d = tmp_path / "out" / "step_size_sweep"
    assert (d / "experiments.json").exists() and not (d / "plots.json").exists()
    monkeypatch.undo()
    n_experiment_calls = script.used["experiments"]
    resumed = config_from_manifest(tmp_path / "out", client_factory=cfg.client_factory, literature=recorded_literature,
                                   writeup_fix_rounds=0, citation_rounds=0)
    resumed.calibrator = None
    # stop after plots: the write-up is not what this test is about
    monkeypatch.setattr(pipeline.writeup_stage, "perform_writeup", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("no latex today")))
    (outcome,) = run_pipeline(resumed)
    assert script.used["experiments"] == n_experiment_calls  # finished stage not re-run
    assert outcome.stages["plots"].status == "ok"
    assert outcome.stages["writeup"].status == "failed" and "no latex today" in outcome.stages["writeup"].error


@pytest.mark.slow  # about 75 s on 2 busy cores: torch in the sandbox, matplotlib, pdflatex
@needs_tex
def test_end_to_end_on_the_grokking_template(tmp_path, scripted_client, offline_literature):
    """The real template, its --smoke configuration, a real edit, a real sandbox, a real PDF."""
    # the same recorded replies `bench scientist run --replay` takes
    client, script = scripted_client(json.loads((FIXTURES / "grokking_replay.json").read_text()))
    cfg = PipelineConfig(model="gpt-4o", template="grokking", n_ideas=1, out_dir=tmp_path / "out", max_runs=1,
                         max_fixes=1, idea_reflections=0, writeup_fix_rounds=1,
                         experiment_args=["--smoke", "--seeds", "1"],
                         sandbox_limits=SandboxLimits(wall_time_s=120, memory_mb=4096),
                         client_factory=lambda m: client, literature=offline_literature)
    (outcome,) = run_pipeline(cfg)
    d = tmp_path / "out" / "weak_weight_decay"
    assert {k: v.status for k, v in outcome.stages.items()} == {
        "novelty": "skipped", "experiments": "ok", "plots": "ok", "writeup": "ok", "review": "ok"}, outcome.stages
    config = json.loads((d / "code/run_1/all_results.json").read_text())["config"]
    assert config["weight_decay"] == 0.1  # the model's edit is what ran
    assert json.loads((d / "code/run_0/all_results.json").read_text())["config"]["weight_decay"] == 1.0
    assert "final_val_acc" in json.loads((d / "code/run_1/final_info.json").read_text())
    assert {"accuracy.png", "loss.png"} <= set(json.loads((d / "plots.json").read_text())["figures"])
    assert outcome.paper_compiled and (d / "paper/paper.pdf").stat().st_size > 10_000
    assert outcome.overall == 3.0
    experiments = json.loads((d / "experiments.json").read_text())
    assert experiments["command"] == ["python", "experiment.py", "--out_dir=run_i", "--smoke", "--seeds", "1"]
    assert experiments["stop_reason"] == "max_runs"
    assert "Placeholder" not in (d / "paper/template.tex").read_text()
    assert "Grokking Under Weak Weight Decay" in (d / "paper/template.tex").read_text()
