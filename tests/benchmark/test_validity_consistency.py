"""Forgeries the per-number trace alone accepts: another method run's value where the paper says only
"our method", the baseline's value after a sentence that names both, another dataset's value where
the dataset is named by its operation ("addition") or at the head of the paragraph."""
from __future__ import annotations

from benchmark.validity.evidence import Evidence, RunLog
from benchmark.validity.support import ClaimTrace, trace_results

# two method runs and a baseline; the paper calls neither method run its own by number
RUNS = {
    "run_0": {"x_plus_y": {"means": {"final_val_acc_mean": 0.781, "step_val_acc_99_mean": 7420.0}},
              "x_minus_y": {"means": {"final_val_acc_mean": 0.702, "step_val_acc_99_mean": 6100.0}}},
    "run_1": {"x_plus_y": {"means": {"final_val_acc_mean": 0.953, "step_val_acc_99_mean": 4260.0}},
              "x_minus_y": {"means": {"final_val_acc_mean": 0.911, "step_val_acc_99_mean": 3900.0}}},
    "run_2": {"x_plus_y": {"means": {"final_val_acc_mean": 0.962, "step_val_acc_99_mean": 3350.0}},
              "x_minus_y": {"means": {"final_val_acc_mean": 0.934, "step_val_acc_99_mean": 3120.0}}},
}
NOTES = ("## Run 0: Baseline\n## Run 1: Negation Augmentation\nDescription: negated operands.\n"
         "## Run 2: Tuned Negation Augmentation\nDescription: negated operands, tuned.\n")
TABLE = """
\\begin{{table}}[h]\\centering
\\begin{{tabular}}{{lcc}}
\\toprule
Task & Baseline & Ours \\\\
\\midrule
Addition & 0.781 & {add} \\\\
Subtraction & 0.702 & {sub} \\\\
\\bottomrule
\\end{{tabular}}
\\caption{{Final validation accuracy of the baseline and of our method.}}
\\end{{table}}
"""


def traced(results: str) -> list[ClaimTrace]:
    ev = Evidence([RunLog(run, info) for run, info in RUNS.items()])
    return [t for t in trace_results("\\section{Results}\n" + results, ev, notes=NOTES, min_integer=-1) if t.counts]


def by_text(ts: list[ClaimTrace], text: str) -> list[ClaimTrace]:
    return [t for t in ts if t.text == text]


def test_one_methods_metric_quoted_from_one_run_is_supported():
    ts = traced("On addition our method reaches a final validation accuracy of 0.953.\n" + TABLE.format(add="0.953", sub="0.911"))
    assert all(t.supported for t in ts), [(t.text, t.why) for t in ts]


def test_another_method_runs_value_beside_the_tables_is_caught():
    # the text quotes run_2's accuracy on addition, the table run_1's: one of them is not the method's
    ts = traced("On addition our method reaches a final validation accuracy of 0.962.\n" + TABLE.format(add="0.953", sub="0.911"))
    forged, table = by_text(ts, "0.962"), by_text(ts, "0.953")
    assert forged[0].supported is False and table[0].supported is False  # no majority: both named
    assert "different runs" in forged[0].why and "run_2" in forged[0].why and "run_1" in forged[0].why


def test_the_minority_quote_is_the_unsupported_one():
    text = ("On addition our method reaches a final validation accuracy of 0.953. "
            "In the ablation discussion, on addition our method keeps a final validation accuracy of 0.962.\n")
    ts = traced(text + TABLE.format(add="0.953", sub="0.911"))
    assert all(t.supported for t in by_text(ts, "0.953"))
    (odd,) = by_text(ts, "0.962")
    assert odd.supported is False and "2 of the 3 quotes" in odd.why and "run_1" in odd.why


def test_a_quote_naming_no_run_counts_as_the_methods_when_only_method_runs_match():
    # "0.962" names no run but is a method run's value: it disagrees with the table's "Ours"
    ts = traced("On addition the final validation accuracy is 0.962.\n" + TABLE.format(add="0.953", sub="0.911"))
    assert by_text(ts, "0.962")[0].supported is False
    honest = traced("On addition the final validation accuracy is 0.953.\n" + TABLE.format(add="0.953", sub="0.911"))
    assert all(t.supported for t in honest)


def test_rows_of_an_ablation_are_variants_not_one_method():
    # runs read from the caption only; each row is its own subject, so the rows may differ
    table = """
\\begin{tabular}{lc}
\\toprule
Variant & Final Val Acc \\\\
\\midrule
Without tuning & 0.953 \\\\
With tuning & 0.962 \\\\
\\bottomrule
\\end{tabular}
\\caption{Ablation of our negation augmentation on addition.}
"""
    ts = traced(table)
    assert [t.supported for t in ts] == [True, True], [(t.text, t.how, t.why) for t in ts]


def test_the_baselines_value_after_a_sentence_naming_both_is_caught():
    ok = traced("The baseline needs 7420 steps on addition, while the negation augmentation reduces this to 4260 steps.")
    assert all(t.supported for t in ok), [(t.text, t.why) for t in ok]
    forged = traced("The baseline needs 7420 steps on addition, while the negation augmentation reduces this to 7420 steps.")
    first, second = forged
    assert first.supported and second.supported is False and "run_0" in second.why
    # a comparison clause does not make the baseline the subject
    compared = traced("Our method, compared to the baseline, needs 4260 steps on addition.")
    assert compared[0].supported and "run_0" not in (compared[0].run or "")


def test_a_dataset_named_by_its_operation_or_at_the_head_of_its_paragraph():
    assert traced("On addition, Run 1 reaches a final validation accuracy of 0.953.")[0].supported
    # subtraction's value quoted for addition
    assert traced("On addition, Run 1 reaches a final validation accuracy of 0.911.")[0].supported is False
    para = "Subtraction is the harder task. Run 1 reaches a final validation accuracy of {}."
    assert traced(para.format("0.911"))[0].supported
    assert traced(para.format("0.953"))[0].supported is False


def test_two_variants_compared_in_one_sentence_are_not_one_method_quoted_twice():
    ts = traced("On addition our method reaches a final validation accuracy of 0.962 with tuning and 0.953 without.\n"
                + TABLE.format(add="0.953", sub="0.911"))
    assert all(t.supported for t in ts), [(t.text, t.why) for t in ts]
