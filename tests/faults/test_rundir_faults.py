"""Run-directory faults: two processes on one --out, a rerun with other settings, reserved idea
names, concurrent manifest updates, a kill inside the experiments stage."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from scientist.records import Idea, IdeaOutcome, StageStatus
from scientist.rundir import RESERVED_NAMES, RunDir, RunDirBusy, RunDirError, check_settings, run_lock

REPO = Path(__file__).resolve().parents[2]
TINY = REPO / "tests" / "scientist" / "fixtures" / "tiny_template"


def _hold_lock(out: Path) -> subprocess.Popen:
    code = ("import sys, time; from pathlib import Path; from scientist.rundir import run_lock\n"
            f"with run_lock(Path({str(out)!r})):\n    print('held', flush=True); time.sleep(120)\n")
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=REPO, stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_a_second_process_on_one_out_is_refused_with_the_holders_pid(tmp_path):
    holder = _hold_lock(tmp_path)
    try:
        with pytest.raises(RunDirBusy, match=f"pid {holder.pid}"):
            with run_lock(tmp_path):
                pass
    finally:
        holder.send_signal(signal.SIGKILL)  # kill -9: no cleanup runs in the holder
        holder.wait()
    with run_lock(tmp_path):  # the kernel dropped the dead holder's lock: no stale lock file blocks
        assert (tmp_path / ".lock").read_text().strip() == str(os.getpid())


@pytest.fixture
def cli() -> click.Group:
    from benchmark.cli import main

    return main


def _scientist_run(cli, out: Path, replay: Path, *extra: str):
    return CliRunner().invoke(cli, ["scientist", "run", "--model", "gpt-4o", "--template", str(TINY), "--out", str(out),
                                    "--no-novelty", "--replay", str(replay), *extra])


def test_the_cli_refuses_a_busy_out_with_exit_2(cli, tmp_path):
    replay = tmp_path / "replay.json"
    replay.write_text("{}")
    holder = _hold_lock(tmp_path / "out")
    try:
        result = _scientist_run(cli, tmp_path / "out", replay)
    finally:
        holder.kill()
        holder.wait()
    assert result.exit_code == 2, result.output
    assert f"in use by another run (pid {holder.pid})" in result.output and "Traceback" not in result.output


def test_rerun_with_other_settings_is_refused_unless_force_new(cli, tmp_path):
    replay = tmp_path / "replay.json"
    replay.write_text("{}")  # no recorded reply at all: idea generation fails at once
    out = tmp_path / "out"
    first = _scientist_run(cli, out, replay)
    assert first.exit_code == 1, first.output  # finished, every idea failed: counted, not 0
    assert "no recorded reply left for 'ideas'" in (out / "ideas.json").read_text()  # its own message, no retries
    assert "1 of 1 idea(s) failed" in first.output.strip().splitlines()[-1]
    other = _scientist_run(cli, out, replay, "--max-runs", "2")
    assert other.exit_code == 2 and "other settings (max_runs: 5 -> 2)" in other.output
    assert len(other.output.strip().splitlines()) == 2 or "Traceback" not in other.output
    forced = _scientist_run(cli, out, replay, "--max-runs", "2", "--force-new")
    assert forced.exit_code == 1
    (previous,) = (out / "previous").iterdir()  # the first run moved aside, not deleted
    assert json.loads((previous / "settings.json").read_text())["max_runs"] == 5
    assert json.loads((out / "settings.json").read_text())["max_runs"] == 2


def test_check_settings_records_once_and_compares(tmp_path):
    check_settings(tmp_path, {"model": "a", "n": 1})
    check_settings(tmp_path, {"model": "a", "n": 1})  # same settings: a resume
    with pytest.raises(RunDirError, match="n: 1 -> 2"):
        check_settings(tmp_path, {"model": "a", "n": 2})


def test_reserved_names_cannot_be_idea_directories(tmp_path):
    from scientist.stages.ideas import _unique_name

    for name in ("baseline", "model_cache"):
        assert name in RESERVED_NAMES
        with pytest.raises(RunDirError, match="reserved"):
            RunDir(tmp_path).idea(name)
        assert _unique_name(name, set()) == f"{name}_2"  # a model's idea called "baseline" is renamed
    assert RunDir(tmp_path).idea("baseline_2").root == tmp_path / "baseline_2"


def test_concurrent_manifest_updates_lose_no_outcome(tmp_path):
    from scientist.pipeline import PipelineConfig, update_manifest

    cfg = PipelineConfig(model="gpt-4o", template="grokking", n_ideas=24, out_dir=tmp_path)
    update_manifest(cfg)
    barrier = threading.Barrier(24)

    def finish(i: int) -> None:
        outcome = IdeaOutcome(idea_name=f"idea_{i}", title="t", idea_dir="x", stages={"review": StageStatus(status="ok")},
                              cost_usd=0.5)
        barrier.wait()
        update_manifest(cfg, outcome=outcome)

    threads = [threading.Thread(target=finish, args=(i,)) for i in range(24)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert len(manifest["outcomes"]) == 24 and manifest["cost_usd"] == 12.0


def test_concurrent_manifest_updates_from_processes(tmp_path):
    code = ("import sys; from pathlib import Path\n"
            "from scientist.pipeline import PipelineConfig, update_manifest\n"
            "from scientist.records import IdeaOutcome, StageStatus\n"
            f"cfg = PipelineConfig(model='gpt-4o', template='grokking', out_dir=Path({str(tmp_path)!r}))\n"
            "for j in range(15):\n"
            "    update_manifest(cfg, outcome=IdeaOutcome(idea_name=f'p{sys.argv[1]}_{j}', title='t', idea_dir='x', stages={}))\n")
    procs = [subprocess.Popen([sys.executable, "-c", code, str(i)], cwd=REPO) for i in range(4)]
    assert [p.wait(timeout=120) for p in procs] == [0] * 4
    assert len(json.loads((tmp_path / "manifest.json").read_text())["outcomes"]) == 60


def test_a_kill_inside_the_experiments_stage_resumes_after_the_last_completed_run(tmp_path):
    from scientist.stages import experiments as exp
    from scientist.sandbox import SandboxLimits

    idea = Idea(name="lr_sweep", title="Larger steps", experiment="Raise LR.", interestingness=3, feasibility=9,
                novelty=2)

    def edit(search: str, replace: str, say: str) -> str:
        return f"{say}\n\nexperiment.py\n<<<<<<< SEARCH\n{search}\n=======\n{replace}\n>>>>>>> REPLACE\n\nACTION: RUN\n"

    class Killed(BaseException):  # like SIGKILL: nothing in the stage may catch it
        pass

    rd = RunDir(tmp_path / "out")
    d = rd.idea(idea.name)
    settings = exp.ExperimentSettings(max_runs=3, max_fixes=1, limits=SandboxLimits(wall_time_s=30, memory_mb=1024),
                                      unsafe_no_sandbox=True)
    replies = iter([edit("LR = 0.1", "LR = 0.3", "Run 1: lr 0.3."), edit("LR = 0.3", "LR = 0.4", "Run 2: lr 0.4.")])

    def first_session(messages, purpose):  # noqa: ANN001
        reply = next(replies, None)
        if reply is None:
            raise Killed()  # the process dies while asking for run 3
        return reply

    from reviewer.llm.scripted import ScriptedModelClient

    with pytest.raises(Killed):
        exp.perform_experiments(idea, d, TINY, rd.baseline, ScriptedModelClient(first_session, max_retries=0),
                                "You are a scientist.", settings)
    run2 = d.run(2) / "final_info.json"
    stamp = run2.stat().st_mtime_ns
    seen: list[str] = []

    def second_session(messages, purpose):  # noqa: ANN001
        seen.append(messages[-1]["content"])
        return edit("LR = 0.4", "LR = 0.45", "Run 3: lr 0.45.")

    record = exp.perform_experiments(idea, d, TINY, rd.baseline, ScriptedModelClient(second_session, max_retries=0),
                                     "You are a scientist.", settings)
    assert [r.index for r in record.runs] == [1, 2, 3] and record.n_runs_ok == 3
    assert len(seen) == 1 and "restarted after an interruption" in seen[0] and "run_3" in seen[0]
    assert run2.stat().st_mtime_ns == stamp  # run 2 was not done twice
    assert json.loads((d.run(3) / "final_info.json").read_text())["lr"]["means"] == 0.45  # continued from run 2's code
