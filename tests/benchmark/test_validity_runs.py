"""Which run a stretch of text names: explicitly, by the notes' and the paper's names, the
baseline, or the paper's own method."""
from __future__ import annotations

from benchmark.validity.checks import ValidityConfig, check_numbers
from benchmark.validity.evidence import RunLog
from benchmark.validity.runs import run_names

RUNS = frozenset(f"run_{i}" for i in range(5))
NOTES = """## Run 0: Baseline
## Run 1: Operand Reversal Augmentation
Description: Run 1 implemented operand reversal for addition.
## Run 2: Negation Augmentation
## Run 3: Combined Operand Reversal and Negation Augmentation
Description: Run 3 combined both, each with a 15% probability.
## Run 4: Increased Probability of Augmentations
Description: Run 4 combined both, each with a 30% probability (increased from 15% in Run 3).
"""


def names():
    return run_names(RUNS, notes=NOTES, paper="We compare Fixed Weighting (Run 1) with the rest.",
                     title="Data Augmentation and Grokking", excluded={"accuraci", "step"})


def test_explicit_runs_and_ranges():
    n = names()
    assert n.mention("Runs 2 and 4 reach it").runs == {"run_2", "run_4"}
    assert n.mention("run_3 is best").runs == {"run_3"}
    assert n.mention("Run 9 is not a run").runs == frozenset()


def test_names_from_the_notes_and_the_paper_and_their_settings():
    n = names()
    assert n.mention("the negation strategy").runs == {"run_2", "run_3"}  # both titles name it
    assert n.mention("operand reversal alone").runs == {"run_1", "run_3"}
    assert n.mention("Combined (30%)").runs == {"run_4"}  # the setting its notes give it
    assert n.mention("Combined (15%)").runs == {"run_3"}
    assert n.mention("fixed weighting").runs == {"run_1"}  # the paper's own "(Run 1)"
    assert n.mention("the baseline model").runs == {"run_0"}


def test_the_papers_method_is_any_run_but_the_baseline():
    n = names()
    assert n.mention("our method").runs == RUNS - {"run_0"}
    assert n.mention("data augmentation").runs == RUNS - {"run_0"}  # its title's words
    assert n.mention("without augmentation, the baseline").runs == {"run_0"}


def test_numbers_match_fails_on_results_only():
    runs = [RunLog("run_0", {"acc": {"means": 0.78}}, code="BATCH_SIZE = 256\n")]
    config = ValidityConfig()
    wrong_setting = check_numbers("\\section{Results}\nWith a batch size of 512 the accuracy is 0.78.", runs, config)
    assert wrong_setting.passed and wrong_setting.unsupported == []
    setting = next(t for t in wrong_setting.claims if t.text == "512")
    assert setting.kind == "setting" and setting.supported is False
    wrong_result = check_numbers("\\section{Results}\nWith a batch size of 256 the accuracy is 0.81.", runs, config)
    assert not wrong_result.passed and wrong_result.unsupported == ["0.81"] and wrong_result.results == 1
    assert "1 of 1 results (100%)" in wrong_result.reason
