"""The edit step reads the files it edits through a size cap: a 2 GB sparse experiment.py (what a
sandboxed run can leave behind with one truncate) is refused with a reason, never read whole,
never written back; the harness's peak memory stays small."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from scientist.edits import MAX_FILE_BYTES
from scientist.rundir import IdeaDir
from scientist.stages import experiments

SIZE = 2 * 1024 ** 3
REPLY = "experiment.py\n```python\n<<<<<<< SEARCH\nLR = 1\n=======\nLR = 2\n>>>>>>> REPLACE\n```\nACTION: RUN\n"


def sparse_idea(root: Path) -> IdeaDir:
    idea = IdeaDir(root)
    idea.code.mkdir(parents=True)
    code = idea.code / "experiment.py"
    code.write_text("LR = 1\n")
    os.truncate(code, SIZE)  # apparent size 2 GB, no blocks behind it
    idea.notes.write_text("# notes\n")
    return idea


def test_a_sparse_two_gigabyte_file_is_refused_with_a_reason_and_left_alone(tmp_path):
    idea = sparse_idea(tmp_path / "idea")
    report = experiments.apply_experiment_edits(REPLY, idea, [])
    [outcome] = report.blocks
    assert outcome.status == "refused" and outcome.cause == "too_large"
    assert str(SIZE) in outcome.message and str(MAX_FILE_BYTES) in outcome.message
    assert report.changed == []
    st = os.stat(idea.code / "experiment.py")
    assert st.st_size == SIZE and st.st_blocks * 512 < 1024 * 1024  # not rewritten, still sparse
    shown = experiments.shown(idea.code / "experiment.py")
    assert shown.startswith("[experiment.py is not shown") and str(SIZE) in shown


def test_the_edit_step_on_the_sparse_file_peaks_under_300_mb(tmp_path):
    """Peak RSS (VmHWM) of a fresh interpreter that runs the edit step and builds the prompt's file view."""
    idea = sparse_idea(tmp_path / "idea")
    script = textwrap.dedent(f"""
        import resource, sys
        from pathlib import Path
        from scientist.rundir import IdeaDir
        from scientist.stages import experiments
        idea = IdeaDir(Path({str(idea.root)!r}))
        report = experiments.apply_experiment_edits({REPLY!r}, idea, [])
        assert report.blocks[0].cause == "too_large", report
        experiments.shown(idea.code / "experiment.py")
        # VmHWM belongs to this address space; ru_maxrss keeps the forking parent's peak across exec
        print(next(l.split()[1] for l in open("/proc/self/status") if l.startswith("VmHWM:")))  # KiB
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parents[2])
    assert proc.returncode == 0, proc.stderr[-2000:]
    peak_mb = int(proc.stdout.split()[-1]) / 1024
    print(f"edit step on a {SIZE >> 30} GB sparse experiment.py: peak RSS {peak_mb:.0f} MB")
    assert peak_mb < 300
