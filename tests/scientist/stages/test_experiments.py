"""The experiments stage on a tiny template, with real sandboxed runs and scripted replies."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from scientist_helpers import FIXTURES

from scientist.stages import experiments as exp
from scientist.records import Idea
from scientist.rundir import RunDir
from scientist.sandbox import SandboxLimits

TEMPLATE = FIXTURES / "tiny_template"
IDEA = Idea(name="lr_sweep", title="Larger steps on a quadratic", experiment="Raise LR, then go further.",
            interestingness=3, feasibility=9, novelty=2)


def edit(search: str, replace: str, action: str = "RUN", name: str = "experiment.py", say: str = "Change.") -> str:
    return f"{say}\n\n{name}\n<<<<<<< SEARCH\n{search}\n=======\n{replace}\n>>>>>>> REPLACE\n\nACTION: {action}\n"


def run_stage(tmp_path: Path, client, max_runs=3, max_fixes=2, wall_time_s=30.0):  # type: ignore[no-untyped-def]
    rd = RunDir(tmp_path / "out")
    d = rd.idea(IDEA.name)
    settings = exp.ExperimentSettings(max_runs=max_runs, max_fixes=max_fixes,
                                      limits=SandboxLimits(wall_time_s=wall_time_s, memory_mb=1024))
    record = exp.perform_experiments(IDEA, d, TEMPLATE, rd.baseline, client, "You are a scientist.", settings)
    return record, d


def test_parse_action():
    assert exp.parse_action("text\nACTION: RUN\n") == "run"
    assert exp.parse_action("**ACTION:** stop") == "stop"
    assert exp.parse_action("ACTION: RUN\nthen later\nACTION: ABANDON") == "abandon"
    assert exp.parse_action("x.py\n<<<<<<< SEARCH\na\n=======\nb\n>>>>>>> REPLACE") == "run"
    assert exp.parse_action("I think we are finished.") == "invalid"  # free text decides nothing


def test_real_edits_runs_a_fix_and_stop(tmp_path, scripted_client):
    client, script = scripted_client({"experiments": [
        edit("LR = 0.1", "LR = 0.3", say="Run 1: learning rate 0.3."),
        edit("LR = 0.3", "LR = 0.4\nSTEPS = undefined_name", say="Run 2: learning rate 0.4."),
        edit("STEPS = undefined_name", "STEPS = 20", say="Run 2: learning rate 0.4, fixed."),
        "The results are clear; more runs would not change the conclusion.\nACTION: STOP",
    ]})
    record, d = run_stage(tmp_path, client)
    assert record.stop_reason == "completed" and exp.judge(record) == ("ok", None)
    assert record.baseline.ok and record.baseline.final_info["lr"]["means"] == 0.1
    assert [r.ok for r in record.runs] == [True, True] and record.n_runs_ok == 2
    assert json.loads((d.run(1) / "final_info.json").read_text())["lr"]["means"] == 0.3  # the edit really ran
    assert json.loads((d.run(2) / "final_info.json").read_text())["lr"]["means"] == 0.4
    second = record.runs[1].attempts
    assert [a.ok for a in second] == [False, True] and "NameError" in second[0].stderr_tail
    assert second[0].sandboxed is True and second[0].exit_code != 0
    assert "LR = 0.3" in (d.run(1) / "experiment.py").read_text()  # code snapshot of the run
    notes = d.notes.read_text()
    assert "## Run 0: Baseline" in notes and "## Run 1: learning rate 0.3.\n" in notes
    assert '"lr": 0.4' in notes
    prompts = script.prompts("experiments")
    assert "NameError" in prompts[2] and "fix(es) left" in prompts[2]  # the error went back to the model
    system = script.requests[0][1][0]["content"]
    assert "harness runs this command and" in system and "owns the time limit" in system and "30 seconds" in system
    assert (d.root / "logs" / "run_2_attempt_1.json").exists()


def test_harness_edit_rejected_then_abandon(tmp_path, scripted_client):
    client, script = scripted_client({"experiments": [
        edit('"means": 0.1', '"means": 0.9', name="run_0/final_info.json"),  # the baseline it is compared with
        edit("LR = 0.1", "LR = 5.0", say="Run 1: huge step."),
        "The loss diverges at every step size above 1/2: the idea cannot work.\nACTION: ABANDON",
    ]})
    record, d = run_stage(tmp_path, client)
    rejected = record.runs[0].attempts[0]
    assert "may not be edited" in rejected.edit_error and rejected.exit_code is None  # nothing ran
    assert "may not be edited" in script.prompts("experiments")[1]
    assert json.loads((d.run(0) / "final_info.json").read_text())["lr"]["means"] == 0.1
    assert record.stop_reason == "abandoned" and "diverges" in record.abandon_reason
    status, why = exp.judge(record)
    assert status == "abandoned" and "diverges" in why
    assert record.runs[0].ok  # the run before the decision still counts


def test_timeout_reported_and_fixes_bounded(tmp_path, scripted_client):
    slow = edit("SLEEP_S = 0.0", "SLEEP_S = 60.0", say="Run 1: wait.")
    client, script = scripted_client({"experiments": [slow, "No edit block, no action line.", slow]})
    record, d = run_stage(tmp_path, client, max_fixes=1, wall_time_s=4.0)
    (run,) = record.runs
    assert [a.timed_out for a in run.attempts] == [True, False]
    assert run.attempts[1].action == "invalid"
    assert record.stop_reason == "max_fixes" and not d.run(1).exists()
    assert "time limit of 4 s" in script.prompts("experiments")[1]
    assert any(i["kind"] == "timeout" for i in run.attempts[0].incidents)
    status, why = exp.judge(record)
    assert status == "failed" and "no run succeeded" in why
    assert len(client.usage.calls) == 2  # max_fixes=1: two attempts at run 1, then stop


def test_broken_template_fails_at_baseline(tmp_path, scripted_client):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "experiment.py").write_text("raise SystemExit('no data')\n")
    client, script = scripted_client({})
    rd = RunDir(tmp_path / "out")
    record = exp.perform_experiments(IDEA, rd.idea(IDEA.name), broken, rd.baseline, client, "",
                                     exp.ExperimentSettings(limits=SandboxLimits(wall_time_s=20)))
    assert record.stop_reason == "no_baseline" and script.requests == []
    status, why = exp.judge(record)
    assert status == "failed" and "baseline" in why and "no data" in why


@pytest.mark.parametrize("reply, expected", [
    ("Plan.\nexperiment.py\n<<<<<<< SEARCH\na\n=======\nb\n>>>>>>> REPLACE\nACTION: RUN", "Plan."),
])
def test_prose_strips_blocks_and_action(reply, expected):
    assert exp.prose(reply) == expected


def test_a_run_cannot_rewrite_earlier_results_or_the_harness(tmp_path, scripted_client):
    tamper = edit("    time.sleep(SLEEP_S)",
                  "    time.sleep(SLEEP_S)\n    open('run_0/final_info.json', 'w').write('{\"lr\": {\"means\": 99}}')")
    client, script = scripted_client({"experiments": [tamper, "Giving up.\nACTION: ABANDON"]})
    record, d = run_stage(tmp_path, client, max_runs=1, max_fixes=1)
    attempt = record.runs[0].attempts[0]
    assert not attempt.ok and "Read-only file system" in attempt.stderr_tail
    assert json.loads((d.run(0) / "final_info.json").read_text())["lr"]["means"] == 0.1
    assert "Read-only file system" in script.prompts("experiments")[1]


def test_model_error_keeps_the_runs_made_before_it(tmp_path, scripted_client):
    client, _ = scripted_client({"experiments": [edit("LR = 0.1", "LR = 0.2")]})  # then the script is empty
    record, d = run_stage(tmp_path, client)
    assert record.stop_reason == "model_error" and "no reply left" in record.model_error
    assert record.n_runs_ok == 1 and (d.run(1) / "final_info.json").exists()
    status, why = exp.judge(record)
    assert status == "ok" and why.startswith("kept 1 run(s); then the model call failed")
