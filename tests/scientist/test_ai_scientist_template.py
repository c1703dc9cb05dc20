"""A template in the AI Scientist's layout (experiment.py with only --out_dir, final_info.json
nested per dataset, a \\section{} skeleton with placeholder bodies and its own .sty/.bst,
references embedded with filecontents, ideas.json beside seed_ideas.json), written for this
project (benchmark/demo/template), through the whole pipeline with recorded replies: real
bubblewrap, real pdflatex + bibtex, real validity checks."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from scientist_helpers import review_json

from benchmark.demo.responder import DemoResponder, load_replies
from benchmark.demo.run import copy_template
from scientist.pipeline import PipelineConfig, run_pipeline
from scientist.sandbox import SandboxLimits
from scientist.templates import load_template, template_label
from scientist.templates.final_info import read_metrics

needs_tools = pytest.mark.skipif(shutil.which("pdflatex") is None or shutil.which("bwrap") is None,
                                 reason="needs pdflatex and bubblewrap")


@pytest.fixture
def template(tmp_path: Path) -> Path:
    return copy_template(tmp_path / "logreg")


def _cli(*args: str):  # type: ignore[no-untyped-def]
    from benchmark.cli import main

    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_loaded_by_path_in_the_ai_scientist_layout(template):
    t = load_template(str(template))
    assert t.layout == "ai_scientist" and not t.builtin and t.name == "logreg" == template_label(template)
    assert t.run_args(smoke=True) == []  # no manifest: experiment.py gets --out_dir only
    assert [i["Name"] for i in t.previous_ideas] == ["feature_count"]  # ideas.json is read
    (template / "prompt.json").unlink()
    (template / "seed_ideas.json").unlink()
    t = load_template(str(template))  # tolerated, with generic texts
    assert t.seed_ideas == [] and t.system_prompt and t.task_description


def test_nested_final_info_becomes_dataset_slash_metric():
    info = {"blobs": {"means": {"val_acc_mean": 0.9, "loss_mean": 0.2, "curve_mean": [1, 2]},
                      "final_info_dict": {"val_acc": [0.8, 1.0], "curve": [[1], [2]]}},
            "parity": {"means": {"val_acc_mean": 0.5}, "stderrs": {"val_acc_stderr": 0.01}},
            "config": {"lr": "0.1"}}
    table = read_metrics(info)
    assert table.layout == "nested"
    assert table.means() == {"blobs/val_acc": 0.9, "blobs/loss": 0.2, "parity/val_acc": 0.5}
    assert table.metrics["blobs/val_acc"].per_seed == [0.8, 1.0] and table.metrics["blobs/val_acc"].stderr is None
    assert table.metrics["parity/val_acc"].stderr == 0.01
    assert set(table.ignored) == {"blobs/means/curve_mean", "config"}
    with pytest.raises(ValueError, match="no numeric metric"):
        read_metrics({"x": {"means": {"a_mean": "n/a"}}})


@needs_tools
@pytest.mark.timeout(300)
def test_whole_pipeline_on_the_ai_scientist_layout(template, tmp_path, offline_literature):
    from benchmark.validity.checks import check_idea_dir
    from reviewer.llm.scripted import ScriptedModelClient

    out = tmp_path / "out"
    responder = DemoResponder(out, load_replies())
    scientist = ScriptedModelClient(responder, model="gpt-4o", max_retries=0)
    reviewer = ScriptedModelClient(lambda m, p: review_json(overall=4), model="gpt-4o", max_retries=0)
    cfg = PipelineConfig(
        model="gpt-4o", template=str(template), n_ideas=1, out_dir=out, max_runs=3, max_fixes=1,
        idea_reflections=1, writeup_fix_rounds=1, citation_rounds=0, check_novelty=False, smoke=True,
        reviewer_models=["reviewer-x"], sandbox_limits=SandboxLimits(wall_time_s=60, memory_mb=2048),
        client_factory=lambda m: reviewer if m == "reviewer-x" else scientist, literature=offline_literature)
    (outcome,) = run_pipeline(cfg)
    d = out / "step_size_logistic"
    assert {k: v.status for k, v in outcome.stages.items()} == {
        "novelty": "skipped", "experiments": "ok", "plots": "ok", "writeup": "ok", "review": "ok"}, outcome.stages

    experiments = json.loads((d / "experiments.json").read_text())
    assert experiments["command"] == ["python", "experiment.py", "--out_dir=run_i"]  # no --seeds, no --smoke
    assert experiments["baseline"]["ok"] and outcome.n_runs_ok == 2
    run2 = json.loads((d / "code/run_2/final_info.json").read_text())
    assert set(run2) == {"blobs", "parity"} and "val_acc_mean" in run2["blobs"]["means"]  # nested, as written
    # the model, the notes and the numbers all use <dataset>/<metric>
    exp_prompts = [m[-1]["content"] for p, m in scientist.requests if p == "experiments"]
    assert "blobs/val_acc" in exp_prompts[1] and "parity/final_train_loss" in exp_prompts[1]
    notes = (d / "notes.txt").read_text()
    assert '"blobs/val_acc"' in notes and "no linear model separates it" in notes
    assert '"run_2": "Step 2.0"' in (d / "code/plot.py").read_text()  # the plot edit applied
    assert "val_acc.png: Bar chart of validation accuracy" in notes  # and the figures described
    ideas_prompt = next(m[-1]["content"] for p, m in scientist.requests if p == "ideas")
    assert "Input Dimension and Sample Efficiency" in ideas_prompt  # ideas.json: not to be repeated

    tex = (d / "paper/template.tex").read_text()
    assert "HERE" not in tex.split("\\begin{document}")[1]  # every placeholder body replaced
    assert "\\label{sec:results}" in tex and "\\bibliographystyle{tinyplain}" in tex
    means = read_metrics(run2).means()
    assert f"{means['blobs/val_acc']:.3f}" in tex  # the harness's number, not an invented one
    bbl = (d / "paper/template.bbl").read_text()  # the template's own .bst ran, on the embedded references
    # natbib's author-year labels, so that \citet renders "Cox (1958)", not "(author?)"
    assert "\\bibitem[{Cox(1958)}]{cox1958regression}" in bbl and "]{robbins1951stochastic}" in bbl
    assert (d / "paper/paper.pdf").read_bytes().startswith(b"%PDF")

    report = check_idea_dir(d, tex_path=outcome.tex_path, pdf_path=outcome.pdf_path,
                            template_tex=template / "latex" / "template.tex")
    assert report.valid, report.summary()

    # a forged number in Results is caught by the same checks
    forged = tex.replace(f"{means['blobs/val_acc']:.3f}", "0.999")
    (d / "paper/template.tex").write_text(forged)
    report = check_idea_dir(d, tex_path=outcome.tex_path, pdf_path=outcome.pdf_path,
                            template_tex=template / "latex" / "template.tex")
    assert not report.valid and "numbers_match" in report.summary()


@needs_tools
def test_template_baseline_by_path_in_the_sandbox(template, tmp_path):
    res = _cli("template", "baseline", str(template), "--out", str(tmp_path / "b"))
    assert res.exit_code == 0, res.output
    assert "blobs/val_acc" in res.output and "val_acc.png" in res.output
    rec = json.loads((tmp_path / "b" / "baseline.json").read_text())
    assert rec["experiment"]["command"][-2:] == ["--out_dir", "run_0"] and rec["experiment"]["sandboxed"]
    # our templates' flags are refused with a reason, not passed to an experiment.py that lacks them
    res = _cli("template", "baseline", str(template), "--out", str(tmp_path / "c"), "--seeds", "2")
    assert res.exit_code == 2 and "takes only --out_dir" in res.output


def test_unknown_template_path_is_a_usage_error(tmp_path):
    res = _cli("template", "baseline", str(tmp_path / "nowhere"))
    assert res.exit_code == 2 and "not a folder, nor a template name (available: " in res.output


@needs_tools
def test_scientist_run_takes_a_template_path(template, tmp_path, monkeypatch):
    replies = load_replies()
    replay = tmp_path / "replay.json"
    replay.write_text(json.dumps({"ideas": replies["ideas"]}))  # nothing for later stages: they fail, recorded
    monkeypatch.chdir(tmp_path)
    res = _cli("scientist", "run", "--model", "gpt-4o", "--template", "logreg", "--out", str(tmp_path / "o"),
               "--replay", str(replay), "--no-novelty", "--max-runs", "1", "--max-fixes", "0")
    assert "Traceback" not in res.output, res.output
    manifest = json.loads((tmp_path / "o" / "manifest.json").read_text())
    assert manifest["config"]["template"] == str(template.resolve())  # kept absolute, for --resume from anywhere
    ideas = json.loads((tmp_path / "o" / "ideas.json").read_text())
    assert [i["name"] for i in ideas["ideas"]] == ["step_size_logistic"]
    run0 = json.loads((tmp_path / "o" / "baseline" / "run_0" / "final_info.json").read_text())
    assert "blobs" in run0  # the baseline ran the unmodified experiment.py --out_dir=run_0
