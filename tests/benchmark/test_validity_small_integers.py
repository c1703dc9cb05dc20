"""Integers up to ten and years used to pass unchecked: a forged "0 steps" was accepted. They are
results where the words right by them name a measurement, and counts (never counted) otherwise."""
from __future__ import annotations

from benchmark.validity.evidence import Evidence, RunLog
from benchmark.validity.support import trace_results

INFO = {"x_div_y": {"means": {"final_val_acc_mean": 0.953, "step_val_acc_99_mean": 4260.0}}}
BASE = {"x_div_y": {"means": {"final_val_acc_mean": 0.781, "step_val_acc_99_mean": 2010.0}}}
NOTES = "## Run 0: Baseline\n## Run 1: Negation Augmentation\nDescription: negated operands.\n"


def traces(results: str) -> dict:
    ev = Evidence([RunLog("run_0", BASE, code="SEEDS = 3\n"), RunLog("run_1", INFO, code="SEEDS = 3\n")])
    return {t.text: t for t in trace_results("\\section{Results}\n" + results, ev, notes=NOTES)}


def test_a_forged_small_integer_result_is_checked():
    t = traces("The negation augmentation reaches 99\\% validation accuracy in 0 steps.")
    assert t["0"].kind == "result" and t["0"].supported is False
    # at the quoted precision: 0.953 written as a whole number is 1
    assert traces("Run 1 reaches a validation accuracy of 1.")["1"].supported
    assert traces("Run 1 reaches a validation accuracy of 0.")["0"].supported is False


def test_a_year_like_result_is_checked_and_a_year_is_not():
    assert traces("The baseline needs 2010 steps.")["2010"].supported
    assert traces("The baseline needs 2011 steps.")["2011"].supported is False
    t = traces("Since grokking was reported in 2022, the negation augmentation reaches 0.953 accuracy on all 4 tasks.")
    assert t["2022"].kind == "count" and t["4"].kind == "count" and t["0.953"].supported


def test_counts_items_and_seeds_are_not_results():
    t = traces("We average over 3 seeds. The findings are: 1. Negation reaches 0.953 accuracy. "
               "2. Accuracy is stable.")
    assert not any(x.counts for k, x in t.items() if k != "0.953"), {k: x.kind for k, x in t.items()}


def test_a_small_integer_in_a_column_of_measurements_is_a_result():
    table = ("\\begin{tabular}{lcc}\\toprule Method & Steps to 99\\% Val Acc & Seeds \\\\ \\midrule "
             "Baseline & 2010 & 3 \\\\ Negation & 7 & 3 \\\\ \\bottomrule\\end{tabular}")
    t = trace_results("\\section{Results}\n" + table, Evidence([RunLog("run_0", BASE), RunLog("run_1", INFO)]),
                      notes=NOTES)
    seven = next(x for x in t if x.text == "7")
    seeds = [x for x in t if x.text == "3"]
    assert seven.kind == "result" and seven.supported is False
    assert seeds and not any(x.counts for x in seeds)
