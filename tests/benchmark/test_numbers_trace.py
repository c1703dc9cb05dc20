"""numbers_match against the harness's records only: forged evidence, rounding, percent, sign,
metric words, a dense real log, and `bench validity` on an AI-Scientist idea folder."""
from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from benchmark.validity.checks import check_idea_dir
from benchmark.validity.evidence import Evidence
from benchmark.validity.support import trace_results
from scientist.records import RunResults

from bench_paper_folder import VALID_TEX, make_paper

INFO = {"final_val_acc": {"means": 0.959, "stderrs": 0.004, "final_info_dict": [0.957, 0.961]},
        "final_val_loss": {"means": 0.1234, "stderrs": 0.01, "final_info_dict": [0.12, 0.127]}}


def accepts(sentence: str, info: dict = INFO, code: str = "") -> bool:
    evidence = Evidence([RunResults(run="run_1", final_info=info, code=code)])
    traces = trace_results("\\section{Results}\n" + sentence, evidence, min_integer=-1)
    assert traces, sentence
    return all(t.supported is not False for t in traces)


def numbers_reason(idea: Path) -> tuple[bool, str]:
    check = next(c for c in check_idea_dir(idea).checks if c.name == "numbers_match")
    return check.passed, check.reason


def test_numbers_the_experiment_planted_are_not_evidence(tmp_path):
    tex = VALID_TEX.replace("0.953 (95.3\\%)", "0.981 (98.1\\%)")
    idea = make_paper(tmp_path, tex=tex)
    code = idea / "code"
    (code / "run_9").mkdir()  # a run the harness never executed
    (code / "run_9" / "final_info.json").write_text(json.dumps({"x_div_y": {"means": {"final_val_acc_mean": 0.981}}}))
    (code / "run_1" / "notes.log").write_text("final_val_acc 0.981\n")
    (code / "results.log").write_text("validation accuracy 0.981 98.1\n")
    passed, reason = numbers_reason(idea)
    assert not passed and "0.981, 98.1\\%" in reason  # the old check read every file under code/ and accepted it


def test_rounding_or_truncation_at_the_quoted_precision():
    assert accepts("The validation accuracy is 0.96.")
    assert accepts("The validation accuracy is 0.95.")  # 0.959 truncated at the last digit written
    assert not accepts("The validation accuracy is 0.94.") and not accepts("The validation accuracy is 0.97.")
    assert accepts("The validation accuracy is 0.959.") and not accepts("The validation accuracy is 0.958.")


def test_percent_only_where_the_paper_writes_one():
    assert accepts("The validation accuracy is 95.9\\%.")
    assert not accepts("The validation accuracy is 95.9.")  # a bare 95.9 is not 0.959
    assert not accepts("The validation accuracy is 0.959\\%.")  # nor is 0.959% 


def test_sign_matters():
    assert not accepts("The validation accuracy is -0.959.")


def test_words_around_the_number_pick_the_metric():
    assert accepts("The validation loss is 0.123, and the validation accuracy is 0.959.")
    assert not accepts("The validation loss is 0.959.")  # accuracy's value under loss's name
    assert accepts("We reach 0.959 $\\pm$ 0.004 in this setting.")  # no metric named: a mean, its stderr
    assert not accepts("We reach 0.957 in this setting.")  # a per-seed value needs its metric's name
    assert accepts("Seed 1 reaches a validation accuracy of 0.957.")


def test_a_final_info_stuffed_with_metrics_does_not_support_bare_numbers():
    import random

    rng = random.Random(1)
    stuffed = {f"metric_{i}": {"means": round(rng.uniform(0, 3), 2)} for i in range(3000)}
    assert not accepts("Our method obtains 1.37 in this setting.", info=stuffed)  # every 0.01 step is logged
    stuffed["val_acc"] = {"means": 0.959}
    assert accepts("The validation accuracy is 0.96.", info=stuffed)  # a number that names its metric still can


def test_table_cells_use_their_row_and_column():
    table = ("\\begin{tabular}{lcc} Run & Val. accuracy & Val. loss \\\\ ours & 0.959 & 0.123 \\\\ \\end{tabular}")
    swapped = ("\\begin{tabular}{lcc} Run & Val. accuracy & Val. loss \\\\ ours & 0.123 & 0.959 \\\\ \\end{tabular}")
    assert accepts(table) and not accepts(swapped)


def test_hyperparameters_need_their_name():
    code = "LEARNING_RATE = 3e-4\nBATCH_SIZE = 512\n"
    assert accepts("We train with a learning rate of $3 \\times 10^{-4}$.", code=code)
    assert not accepts("The validation accuracy is 0.0003.", code=code)


def test_bench_validity_on_an_ai_scientist_idea_folder(tmp_path):
    from benchmark.cli import main

    paper = make_paper(tmp_path / "ours").joinpath("paper")
    folder = tmp_path / "ai_scientist_idea"
    (folder / "run_1").mkdir(parents=True)
    nested = {"x_div_y": {"means": {"final_val_acc_mean": 0.95312, "step_val_acc_99_mean": 4260.0,
                                    "final_train_loss_mean": 0.00121},
                          "stderrs": {"final_val_acc_stderr": 0.004},
                          "final_info_dict": {"final_val_acc": [0.95, 0.956]}}}
    (folder / "run_1" / "final_info.json").write_text(json.dumps(nested))
    (folder / "run_0").mkdir()
    (folder / "run_0" / "final_info.json").write_text(json.dumps({"x_div_y": {"means": {"step_val_acc_99_mean": 7420.0}}}))
    (folder / "experiment.py").write_text("LEARNING_RATE = 1e-3\nVAL_ACC_THRESHOLD = 0.99\n")
    shutil.rmtree(paper.parent / "results")  # only the idea folder is evidence here
    out = tmp_path / "validity.json"
    result = CliRunner().invoke(main, ["validity", str(paper), "--code", str(folder), "--json", str(out)])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert data["valid"] is True and {c["name"] for c in data["checks"]} >= {"numbers_match", "no_injection"}
    numbers = next(c for c in data["checks"] if c["name"] == "numbers_match")
    # every number of Results as written, the small integers ("3 seeds", the year) with them
    assert numbers["quoted"] == ["0.953", "95.3\\%", "4,260", "99\\%", "7,420", "3", "2024", "1.2 \\times 10^{-3}",
                                 "10^{-3}"]
    assert numbers["unsupported"] == [] and set(data["checks"][0]) >= {"name", "passed", "reason"}
    (paper / "template.tex").write_text(VALID_TEX.replace("0.953 (95.3\\%)", "0.981 (98.1\\%)"))
    result = CliRunner().invoke(main, ["validity", str(paper), "--code", str(folder), "--json", str(out)])
    assert result.exit_code == 1 and "not valid" in result.output
    numbers = next(c for c in json.loads(out.read_text())["checks"] if c["name"] == "numbers_match")
    assert numbers["unsupported"] == ["0.981", "98.1\\%"]
