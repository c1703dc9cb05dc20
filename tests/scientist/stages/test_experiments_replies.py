"""The experiments stage reading replies as frontier models write them: the published stop word,
plot.py edited during the experiments, a new helper module used by a real sandboxed run, a reply
cut off at the output limit (asked to go on, not charged), and run notes free of edit debris."""
from __future__ import annotations

import json
from pathlib import Path

import litellm
from scientist_helpers import FIXTURES

from scientist.records import Idea
from scientist.rundir import RunDir
from scientist.sandbox import SandboxLimits
from scientist.stages import experiments as exp

TEMPLATE = FIXTURES / "tiny_template"
IDEA = Idea(name="lr_sweep", title="Larger steps on a quadratic", experiment="Raise LR.",
            interestingness=3, feasibility=9, novelty=2)


def block(name: str, search: str, replace: str) -> str:
    return f"{name}\n```python\n<<<<<<< SEARCH\n{search}=======\n{replace}>>>>>>> REPLACE\n```\n"


def run_stage(tmp_path: Path, client, max_fixes: int = 1):  # type: ignore[no-untyped-def]
    rd = RunDir(tmp_path / "out")
    d = rd.idea(IDEA.name)
    settings = exp.ExperimentSettings(max_runs=2, max_fixes=max_fixes,
                                      limits=SandboxLimits(wall_time_s=30.0, memory_mb=1024))
    return exp.perform_experiments(IDEA, d, TEMPLATE, rd.baseline, client, "You are a scientist.", settings), d


def test_stop_words():
    assert exp.parse_action("ALL_COMPLETED") == "stop"
    assert exp.parse_action("The sweep is done.\n\n**ALL_COMPLETED**\n") == "stop"
    assert exp.parse_action("I will reply ALL_COMPLETED once the sweep is done.") == "invalid"  # a mention
    assert exp.parse_action("ALL_COMPLETED\nACTION: RUN") == "run"  # an ACTION line wins


def test_new_module_plot_edit_and_the_published_stop_word(tmp_path, scripted_client):
    reply = ("Run 1: the step size comes from a new module.\n\n"
             + block("schedule.py", "", "LR = 0.3\n")
             + block("experiment.py", "LR = 0.1\n", "from schedule import LR\n")
             + "\nACTION: RUN\n")
    client, script = scripted_client({"experiments": [reply, "ALL_COMPLETED"]})
    record, d = run_stage(tmp_path, client)
    assert record.stop_reason == "completed" and [r.ok for r in record.runs] == [True]
    assert json.loads((d.run(1) / "final_info.json").read_text())["lr"]["means"] == 0.3  # the new file ran
    assert (d.code / "schedule.py").read_text() == "LR = 0.3\n"
    outcomes = record.runs[0].attempts[0].edit_blocks
    assert outcomes[0]["how"] == "new_file" and outcomes[1]["status"] == "applied"
    later = script.prompts("experiments")[1]
    assert "<schedule.py>\nLR = 0.3" in later and "<plot.py>" in later  # both shown to the model from then on


def test_plot_py_can_be_edited_during_the_experiments(tmp_path, scripted_client):
    plot = (TEMPLATE / "plot.py").read_text()
    first = next(ln for ln in plot.splitlines() if ln.strip()) + "\n"
    reply = ("Run 1.\n" + block("experiment.py", "LR = 0.1\n", "LR = 0.2\n")
             + block("plot.py", first, first + "# run_1: lr 0.2\n") + "ACTION: RUN\n")
    client, _ = scripted_client({"experiments": [reply, "ACTION: STOP"]})
    record, d = run_stage(tmp_path, client)
    assert record.runs[0].ok and "# run_1: lr 0.2" in (d.code / "plot.py").read_text()


def test_a_cut_off_reply_is_asked_to_go_on_and_not_charged(tmp_path, scripted_client):
    cut = ("Run 1.\n" + block("experiment.py", "LR = 0.1\n", "LR = 0.2\n")
           + "experiment.py\n```python\n<<<<<<< SEARCH\nSTEPS = 20\n=======\nSTE")
    rest = "The rest.\n" + block("experiment.py", "STEPS = 20\n", "STEPS = 30\n") + "ACTION: RUN\n"
    at_limit = litellm.ModelResponse(choices=[{"index": 0, "finish_reason": "length",
                                               "message": {"role": "assistant", "content": "I will now chan"}}])
    client, script = scripted_client({"experiments": [cut, at_limit, rest, "ACTION: STOP"]})
    record, d = run_stage(tmp_path, client, max_fixes=0)  # no fix allowed: only a continuation can get through
    (run,) = record.runs
    assert [a.cut_off for a in run.attempts] == [True, True, False] and run.ok
    assert run.attempts[0].exit_code is None  # nothing ran on a cut-off reply
    code = (d.run(1) / "experiment.py").read_text()
    assert "LR = 0.2" in code and "STEPS = 30" in code  # the complete block of the cut reply was kept
    follow_up = script.prompts("experiments")[1]
    assert "cut off at the output limit" in follow_up and "Edit blocks 1 (experiment.py) were applied" in follow_up
    assert "Continue" in follow_up and "fix(es) left" not in follow_up


def test_run_notes_keep_no_file_name_line_nor_fence(tmp_path, scripted_client):
    reply = ("Run 1: learning rate 0.3.\n\nexperiment.py\n```python\n<<<<<<< SEARCH\nLR = 0.1\n=======\nLR = 0.3\n"
             ">>>>>>> REPLACE\n```\n\nACTION: RUN\n")
    client, _ = scripted_client({"experiments": [reply, "ACTION: STOP"]})
    record, d = run_stage(tmp_path, client)
    notes = d.notes.read_text()
    assert "## Run 1: learning rate 0.3.\n" in notes
    assert "```" not in notes and "\nexperiment.py\n" not in notes
