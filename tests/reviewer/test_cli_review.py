import os

import pytest
from click.testing import CliRunner

from benchmark.cli import main


@pytest.mark.parametrize("setup, message", [
    (lambda d: d / "missing.pdf", "no such file"),
    (lambda d: d, "is a directory"),
    (lambda d: d / "empty.pdf", "file is empty"),
    (lambda d: d / "random.pdf", "not a PDF"),
])
def test_bad_input_exits_2_with_one_line_and_no_traceback(tmp_path, setup, message):
    (tmp_path / "empty.pdf").write_bytes(b"")
    (tmp_path / "random.pdf").write_bytes(os.urandom(2048))
    result = CliRunner().invoke(main, ["review", str(setup(tmp_path)), "--model", "local/smollm2"])
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_unknown_local_model_is_a_clean_error(tmp_path):
    paper = tmp_path / "p.txt"
    paper.write_text("A study of things. " * 50)
    result = CliRunner().invoke(main, ["review", str(paper), "--model", "local/gpt-99"])
    assert result.exit_code == 2 and "unknown embedded model" in result.output  # bad input (issue 13 exit codes)
