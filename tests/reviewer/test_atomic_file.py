"""The one atomic writer: a killed writer leaves at most a temp file, and a later run removes it
without touching a live writer's temp file or any finished file."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from reviewer.atomic_file import TEMP_SUFFIX, remove_stale_temps, write_text_atomic


def test_write_replaces_whole_file_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "r.json"
    write_text_atomic(target, "old")
    write_text_atomic(target, "new")
    assert target.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]


def test_kill_9_mid_write_leaves_a_temp_that_the_next_run_removes(tmp_path: Path) -> None:
    target = tmp_path / "p1.json"
    write_text_atomic(target, '{"done": true}')
    # A writer that is killed between writing its temp file and renaming it.
    code = ("import os, sys, time, tempfile; from reviewer import atomic_file as a\n"
            "os.replace = lambda *x: (print('written', flush=True), time.sleep(60))\n"
            f"a.write_text_atomic(__import__('pathlib').Path({str(tmp_path / 'p2.json')!r}), 'x' * 100)\n")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "written"
    live = list(tmp_path.glob(f".*{TEMP_SUFFIX}"))
    assert len(live) == 1 and str(proc.pid) in live[0].name
    assert remove_stale_temps(tmp_path) == 0  # its writer is alive: kept
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert remove_stale_temps(tmp_path) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p1.json"]
    assert target.read_text() == '{"done": true}'
