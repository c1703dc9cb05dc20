"""Run directory writes, the manifest round trip used by --resume, and the command line."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from scientist_helpers import FIXTURES, science_script

from scientist.cli import register
from scientist.pipeline import (
    PipelineConfig,
    config_from_manifest,
    reset_stage,
    update_manifest,
)
from scientist.records import StageStatus
from scientist.rundir import RunDir, read_model, write_json
from scientist.sandbox import SandboxLimits


def test_write_json_is_atomic_and_readable(tmp_path):
    path = tmp_path / "a" / "stage.json"
    write_json(path, StageStatus(status="ok", seconds=1.5))
    assert read_model(path, StageStatus).seconds == 1.5
    assert path.stat().st_mode & 0o777 == 0o644
    with pytest.raises(TypeError):
        write_json(path, {"bad": object()})  # fails half-way through json.dump
    assert read_model(path, StageStatus).status == "ok"  # the old record is intact
    assert [p.name for p in path.parent.iterdir()] == ["stage.json"]  # no temp file left behind
    assert read_model(tmp_path / "missing.json", StageStatus) is None


def test_manifest_round_trip_for_resume(tmp_path):
    cfg = PipelineConfig(model="gpt-4o", template="grokking", n_ideas=3, out_dir=tmp_path, max_runs=2,
                         sandbox_limits=SandboxLimits(wall_time_s=77, memory_mb=1000), experiment_args=["--smoke"],
                         litellm_kwargs={"mock_response": Exception("not serializable")},
                         client_factory=lambda m: None)
    update_manifest(cfg)
    back = config_from_manifest(tmp_path, max_runs=4)
    assert (back.model, back.template, back.n_ideas, back.experiment_args) == ("gpt-4o", "grokking", 3, ["--smoke"])
    assert back.sandbox_limits == SandboxLimits(wall_time_s=77, memory_mb=1000)
    assert back.max_runs == 4 and back.client_factory is None and back.out_dir == tmp_path
    with pytest.raises(FileNotFoundError, match="manifest"):
        config_from_manifest(tmp_path / "nothing")


def test_reset_stage_forgets_later_stages(tmp_path):
    d = RunDir(tmp_path).idea("x")
    for name in ("novelty", "experiments", "plots", "writeup", "review", "outcome"):
        write_json(d.root / f"{name}.json", {})
    assert reset_stage(tmp_path, "x", "plots") == ["plots", "writeup", "review"]
    assert sorted(p.name for p in d.root.iterdir()) == ["experiments.json", "novelty.json"]
    with pytest.raises(ValueError, match="unknown stage"):
        reset_stage(tmp_path, "x", "ideas")


@pytest.fixture
def cli() -> click.Group:
    @click.group()
    def main() -> None:
        pass

    register(main)
    return main


def test_cli_run_needs_model_template_out(cli):
    result = CliRunner().invoke(cli, ["scientist", "run", "--model", "gpt-4o"])
    assert result.exit_code == 2 and "--model, --template and --out are required" in result.output
    help_text = CliRunner().invoke(cli, ["scientist", "run", "--help"]).output
    for option in ("--resume", "--ideas", "--max-runs", "--max-fixes", "--calibrator", "--unsafe-no-sandbox"):
        assert option in help_text


def test_cli_resume_of_a_finished_run_makes_no_call(cli, tmp_path: Path):
    # a finished run: manifest, ideas.json with no idea -> nothing to do, nothing to call
    cfg = PipelineConfig(model="gpt-4o", template="grokking", out_dir=tmp_path)
    update_manifest(cfg)
    write_json(tmp_path / "ideas.json", {"template": "grokking", "model": "gpt-4o", "requested": 1, "ideas": [],
                                         "failures": [{"index": 0, "error": "x"}],
                                         "stage": {"status": "failed", "error": "no idea"}})
    result = CliRunner().invoke(cli, ["scientist", "run", "--resume", str(tmp_path)])
    # nothing to redo, but the run's one idea failed: exit 1, counted in the last line (issue 13)
    assert result.exit_code == 1, result.output
    assert result.output.strip().splitlines()[-1].startswith("1 of 1 idea(s) failed")
    assert "resuming" in result.output and json.loads((tmp_path / "manifest.json").read_text())["finished"] is True


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex not installed")
def test_cli_replay_run_to_reviewed_pdf(cli, tmp_path: Path):
    """`bench scientist run` itself, with recorded replies, on the tiny template, to a reviewed PDF."""
    replay = tmp_path / "replay.json"
    replay.write_text(json.dumps(science_script()))
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, [
        "scientist", "run", "--model", "gpt-4o", "--template", str(FIXTURES / "tiny_template"), "--out", str(out),
        "--max-runs", "3", "--reflections", "1", "--no-novelty", "--citation-rounds", "0", "--time-limit", "60",
        "--replay", str(replay)])
    assert result.exit_code == 0, result.output
    assert "replaying recorded replies" in result.output and "step_size_sweep" in result.output
    outcome = json.loads((out / "step_size_sweep" / "outcome.json").read_text())
    assert {k: v["status"] for k, v in outcome["stages"].items()} == {
        "novelty": "skipped", "experiments": "ok", "plots": "ok", "writeup": "ok", "review": "ok"}
    assert outcome["paper_compiled"] and (out / "step_size_sweep" / "paper" / "paper.pdf").exists()
    assert outcome["n_runs_ok"] == 2 and outcome["overall"] == 5.0
