"""Locating a SEARCH text: exact, then each tolerance, each still required to find one place."""
from __future__ import annotations

import pytest

from scientist.edits.match import NoMatch, locate

CODE = """def train(cfg):
    for step in range(cfg.steps):
        loss = model(x)
        loss.backward()

    return loss


def evaluate(cfg):
    for step in range(cfg.steps):
        loss = model(x)
    return loss
"""


def apply(content: str, search: str, replace: str) -> tuple[str, str, str]:
    m = locate(content, search, replace)
    return content[:m.start] + m.replace + content[m.end:], m.how, m.note


def test_exact_match_once():
    new, how, _ = apply(CODE, "        loss.backward()\n", "        loss.backward()\n        opt.step()\n")
    assert how == "exact" and "opt.step()" in new


def test_the_first_of_several_exact_places_is_taken_and_said():
    new, how, note = apply(CODE, "    for step in range(cfg.steps):\n        loss = model(x)\n",
                           "    for step in range(cfg.steps // 2):\n        loss = model(x)\n")
    assert how == "first_of_n" and "2 times" in note and "line 2" in note
    assert new.index("cfg.steps // 2") < new.index("def evaluate")  # the first place, in train()


def test_a_search_reindented_uniformly_is_placed_and_the_replace_shifted_alike():
    new, how, note = apply(CODE, "loss = model(x)\nloss.backward()\n", "loss = model(x) * 2\nloss.backward()\n")
    assert how == "reindented" and "'        '" in note
    assert "        loss = model(x) * 2\n        loss.backward()\n" in new


def test_trailing_whitespace_is_ignored_only_where_it_identifies_one_place():
    new, how, _ = apply(CODE, "        loss.backward()   \n\n    return loss\n", "        pass\n\n    return loss\n")
    assert how == "trailing_whitespace" and "        pass\n\n    return loss\n" in new and "backward" not in new


def test_elided_blank_lines_are_matched():
    new, how, _ = apply(CODE, "    return loss\ndef evaluate(cfg):\n", "    return loss\n\n\ndef evaluate(cfg, n=1):\n")
    assert how == "blank_lines" and "def evaluate(cfg, n=1):" in new and new.count("def evaluate") == 1


def test_a_tolerant_match_in_two_places_is_refused_as_ambiguous():
    text = "a = 1  \nb = 2\n\na = 1 \nb = 2\n"
    with pytest.raises(NoMatch) as err:
        locate(text, "a = 1\nb = 2\n", "a = 3\nb = 2\n")
    assert err.value.cause == "ambiguous"


def test_a_spurious_leading_blank_line_is_dropped():
    # the file starts with "def train": no blank line precedes it
    new, how, note = apply(CODE, "\ndef train(cfg):\n    for step in range(cfg.steps):\n",
                           "\ndef train(cfg, n=1):\n    for step in range(cfg.steps):\n")
    assert how == "reindented" and "leading blank line dropped" in note
    assert "def train(cfg, n=1):" in new and "def train(cfg):" not in new


def test_the_last_line_without_newline():
    new, how, _ = apply("x = 1\ny = 2", "y = 2\n", "y = 3\n")
    assert new == "x = 1\ny = 3\n" and how == "end_of_file"


def test_no_match_names_the_nearest_lines():
    with pytest.raises(NoMatch) as err:
        locate(CODE, "def evaluate(config):\n    pass\n", "x\n")
    assert err.value.cause == "no_match" and "    9| def evaluate(cfg):" in str(err.value)


def test_a_changed_line_inside_the_search_is_no_match_not_a_guess():
    with pytest.raises(NoMatch):
        locate(CODE, "        loss = model(y)\n        loss.backward()\n", "x\n")


def test_an_exact_match_must_be_whole_lines_not_the_tail_of_one():
    with pytest.raises(NoMatch):
        locate("max = 1\nmin = 0\n", "x = 1\n", "x = 2\n")
    new, how, _ = apply("max = 1\nx = 1\n", "x = 1\n", "x = 2\n")
    assert new == "max = 1\nx = 2\n" and how == "exact"


def test_a_sentence_quoted_from_a_paragraph_is_placed_inside_its_line():
    para = "Intro. Layer-wise rates help \\cite{a}. More text.\n"
    new, how, _ = apply(para, "Layer-wise rates help \\cite{a}.", "Layer-wise rates help \\cite{a,b}.")
    assert new == "Intro. Layer-wise rates help \\cite{a,b}. More text.\n" and how == "within_line"
    with pytest.raises(NoMatch):  # the same sentence twice: not one place
        locate(para + para, "Layer-wise rates help \\cite{a}.", "x")


def test_hostile_repetition_is_refused_quickly_not_scanned_line_by_line():
    import time

    content = "x = 1\n" * 150_000  # what a run could leave in a file it may write
    search = "x = 1\n" * 300 + "    zzz\n"
    started = time.monotonic()
    with pytest.raises(NoMatch):
        locate(content, search, "y\n")
    assert time.monotonic() - started < 3.0
