"""Claims, not numbers: kinds, run attribution and forged numbers, on small papers and (when the
shared data is there) on the five published AI-Scientist runs with their hand labels."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from benchmark.validity.evidence import Evidence, RunLog
from benchmark.validity.support import trace_results

INFO = {"x_div_y": {"means": {"final_val_acc_mean": 0.953, "step_val_acc_99_mean": 4260.0}}}
BASE = {"x_div_y": {"means": {"final_val_acc_mean": 0.781, "step_val_acc_99_mean": 7420.0}}}
NOTES = "## Run 0: Baseline\n## Run 1: Negation Augmentation\nDescription: negated operands.\n"


def traces(results: str, code: str = "LR = 3e-4\nBATCH_SIZE = 256\n"):
    ev = Evidence([RunLog("run_0", BASE, code=code), RunLog("run_1", INFO, code=code)])
    return {t.text: t for t in trace_results("\\section{Results}\n" + results, ev, notes=NOTES, min_integer=-1)}


def test_a_baselines_value_quoted_as_the_methods_is_unsupported():
    ok = traces("The negation augmentation reaches 99\\% validation accuracy in 4260 steps.")
    assert ok["4260"].supported and ok["4260"].run == "run_1" and ok["99\\%"].kind == "threshold"
    forged = traces("The negation augmentation reaches 99\\% validation accuracy in 7420 steps.")
    assert forged["7420"].supported is False and "run_0" in forged["7420"].why


def test_another_metric_of_the_same_run_is_unsupported():
    assert traces("Run 1 reaches a validation accuracy of 0.953.")["0.953"].supported
    assert traces("Run 1 reaches a validation accuracy of 0.781.")["0.781"].supported is False


def test_settings_are_checked_against_the_code_and_never_counted():
    t = traces("We train with a batch size of 256 and a learning rate of $3 \\times 10^{-4}$.")
    assert t["256"].kind == "setting" and t["256"].supported and not t["256"].counts
    wrong = traces("We train with a batch size of 512.")["512"]
    assert wrong.kind == "setting" and wrong.supported is False and not wrong.counts


def test_relative_change_needs_the_right_size_and_direction():
    ok = traces("The baseline needs 7420 steps, while negation needs 4260 steps, a 42.6\\% reduction.")
    assert ok["42.6\\%"].kind == "derived" and ok["42.6\\%"].supported
    assert traces("Negation gives a 42.6\\% increase in steps over the baseline.")["42.6\\%"].supported is False
    assert traces("Negation gives a 30.0\\% reduction in steps over the baseline.")["30.0\\%"].supported is False


def test_a_result_cannot_hide_as_a_setting_by_its_words_far_away():
    # the setting noun belongs to the other number; 0.999 is a result and is invented
    t = traces("With a batch size of 256 negation reaches a validation accuracy of 0.999.")
    assert t["0.999"].counts and t["0.999"].supported is False


def _shared_runs() -> Path | None:
    root = Path(os.environ.get("BENCH_SHARED_DATA", Path(__file__).resolve().parents[3] / "shared" / "data"))
    runs = root / "ai_scientist_runs"
    return runs if (runs / "numbers_labels.tsv").is_file() else None


@pytest.mark.slow  # about 15 s: every number of five real papers, forged three ways (drawn, then all)
def test_labels_and_forgeries_on_the_published_runs(tmp_path):
    runs = _shared_runs()
    if runs is None:
        pytest.skip("shared data ai_scientist_runs/ not found (set BENCH_SHARED_DATA)")
    import json

    from benchmark.perf.numbers import main

    main(["--runs", str(runs), "--json", str(tmp_path / "n.json")])
    figures = json.loads((tmp_path / "n.json").read_text())
    labels = figures["labels"]
    assert labels["true_flagged"] >= 0.9 and labels["others_flagged"] <= 0.1
    assert labels["papers_without_true_failing"] == []
    forged = figures["forgeries"]
    assert forged["invented"]["accepted"] / forged["invented"]["n"] <= 0.03
    assert forged["another metric"]["accepted"] / forged["another metric"]["n"] <= 0.10
    assert forged["baseline swap"]["accepted"] / forged["baseline swap"]["n"] <= 0.10
    assert forged["another run"]["accepted"] / forged["another run"]["n"] <= 0.10
    # every other run's value of every number, not one drawn: a figure no draw decides
    main(["--runs", str(runs), "--every", "--json", str(tmp_path / "every.json")])
    every = json.loads((tmp_path / "every.json").read_text())["forgeries"]
    assert every["another run"]["n"] > 500 and every["another run"]["accepted"] / every["another run"]["n"] <= 0.10
    assert every["another metric"]["accepted"] / every["another metric"]["n"] <= 0.10


def test_words_near_a_result_do_not_make_it_a_setting_or_a_label():
    # a setting noun two words away, an assignment to a metric, a number in parentheses after a run's
    # name: each is still a result, and these are invented
    assert traces("With 2 layers the negation augmentation achieves 0.999 accuracy.")["0.999"].supported is False
    assert traces("For run 1 the validation accuracy = 0.999.")["0.999"].counts
    assert traces("The negation augmentation (0.999) is best.")["0.999"].counts
    # a number in parentheses after a run's name that is a setting of the code is part of its name
    named = traces("The negation augmentation (256) is best.")["256"]
    assert named.kind == "label" and not named.counts


def test_a_relative_change_of_the_numbers_just_quoted_is_checked_on_them():
    text = "The baseline needs 7420 steps and negation 4260 steps, a {} reduction."
    assert traces(text.format("42.6\\%"))["42.6\\%"].supported
    assert traces(text.format("30.0\\%"))["30.0\\%"].supported is False


def test_a_level_reached_in_so_many_steps_is_a_threshold_without_a_metric_named_for_it():
    ev = Evidence([RunLog("run_0", {"x": {"means": {"steps_mean": 2363.3}}})])
    t = {x.text: x for x in trace_results(
        "\\section{Results}\nThe baseline achieved 97\\% validation accuracy in 2363 steps on average.", ev)}
    assert t["97\\%"].kind == "threshold" and t["2363"].supported


def test_sizes_of_the_data_are_settings():
    t = traces("We generate 1,000 samples and train on 80\\% of the training data.")
    assert t["1,000"].kind == "setting" and t["80\\%"].kind == "setting"
    assert not any(x.counts for x in t.values())
