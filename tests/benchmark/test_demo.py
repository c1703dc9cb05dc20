"""`bench demo`: the shipped template, scripted scientist replies (labelled as such), real sandbox,
pdflatex, validity checks and board; the reviewer is the embedded model (slow test) or, in the
fast test, a scripted reviewer so that the rest is checked in seconds."""
from __future__ import annotations

import json
import shutil
import sqlite3

import pytest
from click.testing import CliRunner
from scientist_helpers import review_json

from benchmark.demo import run as demo
from benchmark.demo.responder import SCRIPTED_MODEL, DemoResponder, load_replies

needs_tools = pytest.mark.skipif(shutil.which("pdflatex") is None or shutil.which("bwrap") is None,
                                 reason="needs pdflatex and bubblewrap")


def test_replies_are_labelled_scripted_and_quote_only_real_results(tmp_path):
    replies = load_replies()
    assert "NOT a model's output" in replies["_about"]
    assert "scripted replies" in replies["writeup"]["Abstract"]  # the paper says so itself
    run = tmp_path / "x" / "code" / "run_1"
    run.mkdir(parents=True)
    (run / "final_info.json").write_text(json.dumps({"blobs": {"means": {"val_acc_mean": 0.91234}}}))
    responder = DemoResponder(tmp_path, replies)
    assert responder.fill("acc {{run_1:blobs/val_acc:.3f}}") == "acc 0.912"
    err = responder([{"role": "user", "content": 'Write the "Results" section.'}], "writeup")
    assert isinstance(err, RuntimeError) and "does not exist" in str(err)  # run_0 has no results: no number invented


def test_preflight_names_the_extra_to_install(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "llama_cpp" else real(name, *a))
    if shutil.which("bwrap") is None or shutil.which("pdflatex") is None:
        pytest.skip("the sandbox or pdflatex is missing first")
    with pytest.raises(demo.DemoUnavailable, match=r"pip install 'ai-scientist-bench\[embedded\]'"):
        demo.preflight("local/smollm2")


@needs_tools
@pytest.mark.timeout(300)
def test_demo_with_a_scripted_reviewer_makes_every_artefact(tmp_path, monkeypatch):
    from reviewer.llm.scripted import ScriptedModelClient

    scripted_reviewer = ScriptedModelClient(lambda m, p: review_json(overall=4), model="gpt-4o")
    real_factory = demo.client_factory

    def factory(results, cache):  # type: ignore[no-untyped-def]
        make = real_factory(results, cache)
        return lambda model: make(model) if model == SCRIPTED_MODEL else scripted_reviewer

    monkeypatch.setattr(demo, "client_factory", factory)
    monkeypatch.setattr(demo, "preflight", lambda reviewer: None)
    result = demo.run_demo(tmp_path / "demo", reviewer="openai/test-reviewer")
    assert result.finished, result.error
    kinds = [what for what, _ in result.artefacts]
    for needed in ("ideas (scripted replies)", "run_2 results (real, sandboxed)", "figure (real plot.py run)",
                   "paper PDF (real pdflatex)", "review (real embedded model)"):
        assert needed in kinds, kinds
    assert all(path.exists() for _, path in result.artefacts)
    assert result.valid is True, result.validity
    assert result.board_html is not None and SCRIPTED_MODEL in result.board_html.read_text()
    assert (result.board_html.parent / "why_not_valid.html").is_file()  # beside the board, from the run's results
    db = sqlite3.connect(tmp_path / "demo" / "results" / "results.sqlite")
    # a template given by path: named by its folder in the database and the results tree
    assert [tuple(r) for r in db.execute("SELECT model, template FROM runs")] == [(SCRIPTED_MODEL, "logreg_demo")]
    assert (tmp_path / "demo" / "results" / "logreg_demo" / "seed_0" / "ideas.json").is_file()
    with pytest.raises(FileExistsError):
        demo.run_demo(tmp_path / "demo")  # never over earlier results without --force


@pytest.mark.slow
@pytest.mark.timeout(1500)
def test_bench_demo_end_to_end_with_the_embedded_reviewer(tmp_path):
    pytest.importorskip("llama_cpp")
    from benchmark.cli import main

    res = CliRunner().invoke(main, ["demo", "--out", str(tmp_path / "d")], catch_exceptions=False)
    assert "SCRIPTED replies" in res.output
    assert res.exit_code == 0, res.output
    assert "paper PDF (real pdflatex)" in res.output and "leaderboard.html" in res.output
    review = json.loads(next((tmp_path / "d" / "results").rglob("review.json")).read_text())
    assert "smoke-test reviewer" in json.dumps(review)  # the embedded model's reviews say what they are
