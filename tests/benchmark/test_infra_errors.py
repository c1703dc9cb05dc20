"""bubblewrap removed from PATH: `bench run` refuses to start (exit 3, one line); when it goes
missing mid-run, the idea is an infrastructure error, not the model's failure: shown apart on the
board, not counted, and retried by the next run with the same --out."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from benchmark.leaderboard.board import build_leaderboard, to_markdown
from benchmark.results_db import ResultsDB

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed")

IDEA = {"name": "weak_weight_decay", "title": "Grokking Under Weak Weight Decay",
        "experiment": "Lower AdamW weight decay from 1.0 to 0.1.", "interestingness": 6, "feasibility": 9,
        "novelty": 4}


def path_without_bwrap(tmp_path: Path) -> str:
    """PATH as it is, with every folder holding bwrap replaced by a copy of links to all but bwrap."""
    dirs = []
    for i, d in enumerate(os.environ["PATH"].split(os.pathsep)):
        if d and (Path(d) / "bwrap").exists():
            clone = tmp_path / f"bin{i}"
            clone.mkdir()
            for entry in Path(d).iterdir():
                if entry.name != "bwrap":
                    (clone / entry.name).symlink_to(entry)
            d = str(clone)
        dirs.append(d)
    return os.pathsep.join(dirs)


def test_preflight_refuses_without_bwrap(tmp_path, monkeypatch):
    from benchmark.cli import main

    monkeypatch.setenv("PATH", path_without_bwrap(tmp_path))
    assert shutil.which("bwrap") is None and shutil.which("pdflatex")
    result = CliRunner().invoke(main, ["run", "openai/never-called", "--templates", "grokking",
                                       "--reviewer", "openai/judge", "--out", str(tmp_path / "out")])
    assert result.exit_code == 3, result.output
    lines = [line for line in result.output.splitlines() if "error" in line]
    assert len(lines) == 1 and "preflight: sandbox: bubblewrap (bwrap) is not on PATH" in lines[0]
    assert not (tmp_path / "out" / "results.sqlite").exists()  # nothing started


def test_bwrap_missing_mid_run_is_an_infra_error_not_counted_and_retried(tmp_path, monkeypatch):
    from reviewer.llm.scripted import ScriptedModelClient
    from scientist.stages.literature import LiteratureClient

    from benchmark.runner import BenchConfig, run_benchmark

    def script(messages, purpose):
        return json.dumps(IDEA) if purpose == "ideas" else RuntimeError(f"unexpected call {purpose}")

    def offline(url, headers, timeout):  # noqa: ANN001
        raise OSError("offline")

    started: list[str] = []
    out = tmp_path / "results"
    bench = BenchConfig(
        model="scripted/gpt-4o", templates=["grokking"], out_dir=out, n_ideas=1, max_runs=1, max_fixes=0,
        check_novelty=False, reviewers=["scripted/judge"],
        pipeline_overrides={
            "client_factory": lambda _name: ScriptedModelClient(script, model="gpt-4o", max_retries=0),
            "experiment_args": ["--smoke", "--seeds", "1"], "idea_reflections": 0,
            "literature": LiteratureClient(cache_dir=tmp_path / "lit", fetch=offline),
            "on_event": lambda idea, stage, status: started.append(stage) if status is None else None,
        })
    monkeypatch.setenv("PATH", path_without_bwrap(tmp_path))
    first = run_benchmark(bench)
    assert (first.finished, first.errors, first.infra_errors) == (0, 0, 1)
    with ResultsDB(out) as db:
        (idea,) = db.ideas()
        (run,) = db.runs()
        assert idea["status"] == "infra_error" and idea["infra_error"].startswith("experiments: sandbox: SandboxUnavailable")
        assert run["status"] == "infra_error"
    (row,) = build_leaderboard([out])
    assert (row.infra_errors, row.ideas, row.failed_runs, row.seeds) == (1, None, 0, 0)  # not against the model
    assert "Not counted: scripted/gpt-4o / grokking: 1 idea(s)" in to_markdown([row])
    assert started.count("experiments") == 1

    second = run_benchmark(bench)  # still no bwrap: the stage is tried again, not read back as failed
    assert second.infra_errors == 1 and started.count("experiments") == 2
    experiments = json.loads((out / "grokking" / "seed_0" / IDEA["name"] / "experiments.json").read_text())
    assert experiments["stage"]["error"].startswith("SandboxUnavailable")


def test_preflight_calls_the_model_and_each_reviewer_once():
    from reviewer.llm.scripted import ScriptedModelClient

    from benchmark.preflight import PreflightError, preflight

    calls: list[str] = []

    def client_for(name: str) -> ScriptedModelClient:
        def reply(messages, purpose):
            calls.append(f"{name}:{purpose}")
            return RuntimeError("401 invalid api key") if name == "bad/reviewer" else "OK"
        return ScriptedModelClient(reply, model="gpt-4o", max_retries=0)

    report = preflight("m", ["good/reviewer"], unsafe_no_sandbox=True, client_for=client_for)
    assert calls == ["m:preflight", "good/reviewer:preflight"] and report.models["model m"] == "OK"
    with pytest.raises(PreflightError, match="reviewer bad/reviewer did not answer a test call"):
        preflight("m", ["good/reviewer", "bad/reviewer"], unsafe_no_sandbox=True, client_for=client_for)


def test_only_the_harness_words_make_an_infra_error():
    from scientist.failures import infra_kind

    assert infra_kind("SandboxUnavailable: bubblewrap (bwrap) is not on PATH") == "sandbox"
    assert infra_kind("the model call failed: ModelUnavailable: gpt-4o: APIConnectionError after 6 attempt(s)") == "provider"
    assert infra_kind("no idea: ModelAuthError: gpt-4o: the provider refused the credentials") == "auth"
    assert infra_kind("no PDF: pdflatex is not installed") == "tool_missing"
    assert infra_kind("OSError: [Errno 28] No space left on device: 'run_1/x'") == "disk_full"
    # the model's own code or output quoting those words is still the model's failure
    assert infra_kind("no run succeeded within the fixes allowed: The run failed with exit code 1.\n"
                      "Output (end):\nSandboxUnavailable: No space left on device") is None
    assert infra_kind("no figure after 2 attempt(s): raise SandboxUnavailable('x')") is None
    assert infra_kind("ModelRequestError: gpt-4o: request rejected (BadRequestError)") is None
