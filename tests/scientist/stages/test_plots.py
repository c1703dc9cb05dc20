"""The plots stage: plot.py edited and run in the sandbox, figures checked to exist."""
from __future__ import annotations

import json

from scientist_helpers import FIXTURES

from scientist.stages import plots
from scientist.execution import copy_template_code
from scientist.records import ExperimentRun, ExperimentsRecord, Idea
from scientist.rundir import RunDir
from scientist.sandbox import SandboxLimits

IDEA = Idea(name="p", title="Plots", experiment="e", interestingness=1, feasibility=1, novelty=1)


def setup(tmp_path):  # type: ignore[no-untyped-def]
    d = RunDir(tmp_path / "out").idea(IDEA.name)
    copy_template_code(FIXTURES / "tiny_template", d.code)
    for i, losses in ((0, [4.0, 1.0]), (1, [4.0, 0.5])):
        (d.run(i)).mkdir()
        (d.run(i) / "all_results.json").write_text(json.dumps({"losses": losses}))
    d.notes.write_text("# notes\n")
    record = ExperimentsRecord(command=["python"], baseline=ExperimentRun(index=0, ok=True, final_info={"l": 1}),
                               runs=[ExperimentRun(index=1, ok=True, description="LR 0.3", final_info={"l": 0.5})])
    return d, record


def settings(**kw):  # type: ignore[no-untyped-def]
    return plots.PlotSettings(max_fixes=kw.pop("max_fixes", 2), limits=SandboxLimits(wall_time_s=60), **kw)


def block(search: str, replace: str) -> str:
    return f"plot.py\n<<<<<<< SEARCH\n{search}\n=======\n{replace}\n>>>>>>> REPLACE\n"


def test_failed_plot_fed_back_then_figures_checked(tmp_path, scripted_client):
    d, record = setup(tmp_path)
    client, script = scripted_client({"plots": [
        block('labels = {"run_0": "Baseline"}', 'labels = {"run_0": "Baseline", "run_1": LR 0.3}'),
        block('"run_1": LR 0.3}', '"run_1": "LR 0.3"}'),
        json.dumps({"descriptions": {"loss.png": "Loss of both runs.", "other.png": "not a figure of ours"}}),
    ]})
    result = plots.make_plots(IDEA, d, record, client, "sys", settings())
    assert [a.ok for a in result.attempts] == [False, True]
    assert "SyntaxError" in result.attempts[0].stderr_tail
    assert result.figures == ["loss.png"] and (d.code / "loss.png").stat().st_size > 1000
    assert result.figure_notes == {"loss.png": "Loss of both runs."}
    assert "- loss.png: Loss of both runs." in d.notes.read_text()
    first = script.prompts("plots")[0]
    assert "run_1: 'LR 0.3'" in first and "python plot.py" in first  # the runs and the command are stated
    assert "SyntaxError" in script.prompts("plots")[1]
    assert plots.judge(result) == ("ok", None)


def test_no_figure_is_a_failure_after_bounded_fixes(tmp_path, scripted_client):
    d, record = setup(tmp_path)
    no_save = block('plt.savefig("loss.png")', 'print("forgot to save")')
    client, script = scripted_client({"plots": [no_save, "Nothing to change."]})
    result = plots.make_plots(IDEA, d, record, client, "sys", settings(max_fixes=1))
    assert len(result.attempts) == 2 and not result.figures and not (d.code / "loss.png").exists()
    assert "wrote no figure" in script.prompts("plots")[1]
    status, why = plots.judge(result)
    assert status == "failed" and "no figure after 2 attempt(s)" in why


def test_list_figures_ignores_old_and_empty_files(tmp_path):
    (tmp_path / "old.png").write_bytes(b"x")
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "notes.txt").write_text("x")
    assert plots.list_figures(tmp_path) == ["old.png"]
    assert plots.list_figures(tmp_path, since=(tmp_path / "old.png").stat().st_mtime + 10) == []
