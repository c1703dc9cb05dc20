"""A live `bench reviewer eval` killed with SIGKILL mid-review leaves no preparation worker behind,
and the rerun finishes every paper (real CLI, real worker processes, the local OpenAI stub)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from benchmark.perf.faults import REPO, Stub, _env, eval_command, make_dataset, valid_records


def _descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.slow
def test_killed_eval_leaves_no_worker_and_resumes(tmp_path):
    data = make_dataset(tmp_path / "data", 24)
    out = tmp_path / "out"
    env = _env(BENCH_CACHE_DIR=str(tmp_path / "cache"))
    with Stub(tmp_path / "stub", latency=0.5) as stub:
        cmd = eval_command(data, out, stub.api_base, "--prepare-workers", "2", concurrency=2)
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 240
        while len(stub.requests()) < 3:
            assert proc.poll() is None and time.monotonic() < deadline, "the eval ended or never called"
            time.sleep(0.1)
        workers = _descendants(proc.pid)
        assert len(workers) >= 2  # the forkserver and its preparation workers
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        gone_by = time.monotonic() + 20
        while any(_alive(p) for p in workers) and time.monotonic() < gone_by:
            time.sleep(0.2)
        assert not [p for p in workers if _alive(p)], "preparation workers outlived the killed eval"
        assert len(valid_records(out)) < 24
        rerun = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert len(valid_records(out)) == 24
    assert json.loads((out / "timing.json").read_text())["prepare_workers"] == 2
