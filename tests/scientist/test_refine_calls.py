"""--refine-calls N of `bench run` and `bench scientist run`: the write-up's refinement calls,
validated by click, reaching the pipeline's config and from there the write-up; left out, nothing
changes."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from scientist_helpers import FIXTURES, science_script

from benchmark.cli import main
from scientist.pipeline import PipelineConfig
from scientist.stages.writeup import WriteupSettings


def _bench_run(out: Path, *extra: str) -> list[str]:
    return ["run", "m", "--templates", "grokking", "--no-preflight", "--out", str(out), *extra]


def _scientist_run(out: Path, *extra: str) -> list[str]:
    return ["scientist", "run", "--model", "gpt-4o", "--template", "grokking", "--out", str(out), "--gpus", "none",
            *extra]


@pytest.mark.parametrize("command", [_bench_run, _scientist_run])
@pytest.mark.parametrize("value,message", [("-1", "-1 is not in the range x>=0"), ("many", "'many' is not a valid integer")])
def test_a_bad_refine_calls_is_a_click_error_before_anything_runs(tmp_path, command, value, message):
    res = CliRunner().invoke(main, command(tmp_path / "out", "--refine-calls", value))
    assert res.exit_code == 2 and "Invalid value for '--refine-calls'" in res.output and message in res.output
    assert "Traceback" not in res.output and not (tmp_path / "out").exists()


def test_help_states_the_write_ups_own_default():
    for args in (["run", "--help"], ["scientist", "run", "--help"]):
        text = " ".join(CliRunner().invoke(main, args).output.split())
        assert f"[default: {WriteupSettings.refine_calls}]" in text


def test_bench_run_passes_refine_calls_to_every_ideas_config(tmp_path, monkeypatch):
    import benchmark.runner as runner

    seen = []

    def fake_run(bench, **_kw):
        seen.append(bench)
        return runner.RunSummary(db_path=Path(bench.out_dir) / "results.sqlite")

    monkeypatch.setattr(runner, "run_benchmark", fake_run)
    for out, extra in (("given", ["--refine-calls", "0"]), ("default", [])):
        res = CliRunner().invoke(main, _bench_run(tmp_path / out, *extra))
        assert "Traceback" not in res.output, res.output
    given, default = seen
    assert runner.pipeline_config(given, "grokking", 0).writeup_refine_calls == 0
    assert "writeup_refine_calls" not in default.pipeline_overrides  # not given: the run's settings are as before
    assert runner.pipeline_config(default, "grokking", 0).writeup_refine_calls == WriteupSettings.refine_calls


def test_bench_scientist_run_passes_refine_calls_to_the_pipeline(tmp_path, monkeypatch):
    import scientist.pipeline as pipeline

    seen: list[PipelineConfig] = []
    monkeypatch.setattr(pipeline, "run_pipeline", lambda cfg: seen.append(cfg) or [])
    CliRunner().invoke(main, _scientist_run(tmp_path / "given", "--refine-calls", "3"))
    CliRunner().invoke(main, _scientist_run(tmp_path / "default"))
    assert [cfg.writeup_refine_calls for cfg in seen] == [3, WriteupSettings.refine_calls]
    # recorded settings name it only when it differs from the default: earlier runs continue unchanged
    assert seen[0].settings()["writeup_refine_calls"] == 3 and "writeup_refine_calls" not in seen[1].settings()


@pytest.mark.skipif(shutil.which("pdflatex") is None or shutil.which("bwrap") is None,
                    reason="needs pdflatex and bubblewrap")
def test_the_pipeline_makes_at_most_that_many_refinement_calls(tmp_path, scripted_client, offline_literature):
    from scientist.pipeline import run_pipeline
    from scientist.sandbox import SandboxLimits

    client, script = scripted_client(science_script())
    cfg = PipelineConfig(model="gpt-4o", template=str(FIXTURES / "tiny_template"), out_dir=tmp_path / "out",
                         max_runs=3, max_fixes=1, idea_reflections=1, writeup_fix_rounds=1, citation_rounds=0,
                         sandbox_limits=SandboxLimits(wall_time_s=60, memory_mb=2048),
                         client_factory=lambda m: client, literature=offline_literature, writeup_refine_calls=1)
    (outcome,) = run_pipeline(cfg)
    assert outcome.stages["writeup"].status == "ok", outcome.stages
    assert len(script.prompts("writeup_refine")) == 1
    from scientist.stages.writeup import section_names

    tex = (tmp_path / "out" / "step_size_sweep" / "paper" / "template.tex").read_text()
    assert len([n for n in section_names(tex) if n.lower() != "title"]) > 1  # the default would have made more
