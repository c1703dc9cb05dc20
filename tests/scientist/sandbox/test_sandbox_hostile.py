"""The hostile-experiment suite: programs written the way a careless or over-eager model writes them.

Each must be contained (the limit holds, nothing outlives the run, nothing leaks) and recorded as an
incident of the right kind.
"""
from __future__ import annotations

import hashlib
import json
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from scientist.sandbox.disk import tree_bytes

MB = 1024 * 1024
PROJECT = Path(__file__).resolve().parents[3]


def _kinds(result, source=None):
    return {i.kind for i in result.incidents if source is None or i.source == source}


def test_relaunching_itself_is_capped_by_the_process_limit(run_hostile, processes_in):
    result, workdir = run_hostile("relaunch_loop", wall_time_s=4, pids=12, memory_mb=1024)
    assert "process_limit" in _kinds(result, "kernel")
    assert result.timed_out and "timeout" in _kinds(result)
    assert result.wall_time_s < 7
    assert processes_in(workdir) == []


def test_fork_bomb_is_capped_and_killed(run_hostile, processes_in):
    result, workdir = run_hostile("fork_bomb", wall_time_s=3, pids=24, memory_mb=512)
    refused = [i for i in result.incidents if i.kind == "process_limit" and i.source == "kernel"]
    assert refused and "refused by the pids cgroup" in refused[0].detail
    assert result.timed_out and not result.ok
    assert processes_in(workdir) == []


def test_checkpoint_every_step_is_stopped_at_the_disk_limit(run_hostile):
    result, workdir = run_hostile("checkpoint_flood", wall_time_s=30, disk_mb=32)
    stop = [i for i in result.incidents if i.kind == "disk_limit" and i.fatal]
    assert stop and not result.ok and not result.timed_out
    if result.enforcement["disk"].startswith("per-run tmpfs"):  # the kernel refuses the writes: no overshoot
        assert stop[0].source == "kernel" and "No space left on device" in result.stderr_tail
        assert tree_bytes(workdir / "checkpoints") <= 32 * MB
    else:  # polled: a fast writer overshoots by (write speed x poll interval); it is still stopped
        assert stop[0].source == "harness" and result.exit_code is None
        assert tree_bytes(workdir / "checkpoints") < 32 * MB + 256 * MB


def test_one_huge_checkpoint_stops_at_the_file_size_limit(run_hostile):
    result, workdir = run_hostile("checkpoint_flood", "--single", wall_time_s=30, disk_mb=32)
    assert (workdir / "checkpoints" / "model.ckpt").stat().st_size == 32 * MB  # EFBIG: kernel-enforced
    assert "disk_limit" in _kinds(result, "output")
    assert "File too large" in result.stderr_tail and result.exit_code == 1


def test_allocating_past_the_memory_limit_is_oom_killed(run_hostile):
    result, _ = run_hostile("memory_hog", wall_time_s=30, memory_mb=256)
    mem = [i for i in result.incidents if i.kind == "memory"]
    assert mem and mem[0].source == "kernel" and mem[0].fatal
    assert "survived" not in result.stdout_tail
    assert result.peak_memory_mb is not None and result.peak_memory_mb <= 256 * 1.02


def test_without_cgroups_memory_falls_back_to_rlimits_with_a_warning(run_hostile, monkeypatch):
    from scientist.sandbox import cgroups, runner

    monkeypatch.setattr(runner.cgroups, "create_run_cgroup",
                        lambda memory_mb, pids: cgroups.RunCgroup(dirs={}, warnings=["no cgroups (test)"]))
    result, _ = run_hostile("memory_hog", wall_time_s=30, memory_mb=1024)
    assert result.enforcement["memory"].startswith("RLIMIT_AS")
    assert any("memory limit NOT enforced" in w for w in result.warnings)
    assert any("process limit NOT enforced" in w for w in result.warnings)  # we run as root: NPROC is void
    assert "memory" in _kinds(result, "output") and "survived" not in result.stdout_tail


def test_sleeping_past_the_timeout_kills_the_daemonized_child_too(run_hostile, processes_in):
    result, workdir = run_hostile("sleeper_daemon", "alive.log", wall_time_s=2)
    assert result.timed_out and result.exit_code is None and "timeout" in _kinds(result, "harness")
    assert result.wall_time_s < 4
    log = workdir / "alive.log"
    assert log.exists()  # the daemon did run
    size = log.stat().st_size
    time.sleep(0.5)
    assert log.stat().st_size == size  # and is dead: it wrote every 0.1 s
    assert processes_in(workdir) == []


def test_api_keys_in_the_environment_and_home_are_not_readable(run_hostile, tmp_path, monkeypatch):
    canary = "sk-CANARY-7f3a9"
    home = tmp_path / "home"
    home.mkdir()
    (home / ".netrc").write_text(f"machine api.openai.com password {canary}\n")
    monkeypatch.setenv("OPENAI_API_KEY", canary)
    monkeypatch.setenv("HOME", str(home))
    result, workdir = run_hostile("steal_secrets", str(home / ".netrc"), str(PROJECT / "pyproject.toml"),
                                  wall_time_s=30)
    assert canary not in result.stdout_tail + result.stderr_tail
    assert not any(canary in p.read_text(errors="replace") for p in workdir.rglob("*") if p.is_file())
    secret = [i.detail for i in result.incidents if i.kind == "secret_access"]
    assert any("OPENAI_API_KEY" in d for d in secret)
    assert any(str(home / ".netrc") in d for d in secret)
    assert "harness_tamper" in _kinds(result)  # the project's own config is not there either
    assert result.exit_code == 1  # KeyError: the key is simply absent


def test_host_services_and_the_outside_network_are_unreachable(run_hostile):
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    connections = []

    def accept() -> None:
        while not stop.is_set():
            try:
                connections.append(server.accept())
            except OSError:
                pass

    stop = threading.Event()
    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        result, _ = run_hostile("network_probe", str(server.getsockname()[1]), wall_time_s=30)
    finally:
        stop.set()
        thread.join()
        server.close()
    assert connections == []
    assert "connected to" not in result.stdout_tail
    details = " ".join(i.detail for i in result.incidents if i.kind == "network_attempt")
    assert "refused" in details and "unreachable" in details and "DNS" in details


def test_pip_install_fails_and_is_recorded(run_hostile):
    import importlib.util

    result, workdir = run_hostile("pip_install", wall_time_s=60)
    assert "package_install" in _kinds(result)
    assert "No module named 'fancy_optimizer_xyz'" in result.stderr_tail and result.exit_code == 1
    assert importlib.util.find_spec("fancy_optimizer_xyz") is None


def test_overwriting_the_harness_or_the_timeout_fails_and_the_timeout_holds(run_hostile, tmp_path):
    harness = tmp_path / "harness"
    harness.mkdir()
    config = harness / "limits.json"
    config.write_text(json.dumps({"timeout": 2}))
    workdir = tmp_path / "run"
    workdir.mkdir()
    local = workdir / "timeout.json"  # the template's time-out file, bound read-only inside the run directory
    local.write_text(json.dumps({"timeout": 2}))
    project_file = PROJECT / "scientist" / "sandbox" / "limits.py"
    before = hashlib.sha256(project_file.read_bytes()).hexdigest()
    result, _ = run_hostile("tamper", str(config), "timeout.json", str(project_file), "/etc/passwd",
                            readonly_binds=[harness, local], wall_time_s=2, cpu_time_s=30)
    assert json.loads(config.read_text()) == {"timeout": 2}
    assert json.loads(local.read_text()) == {"timeout": 2}
    assert hashlib.sha256(project_file.read_bytes()).hexdigest() == before
    tamper = " ".join(i.detail for i in result.incidents if i.kind == "harness_tamper")
    assert str(config) in tamper and str(local) in tamper and str(project_file) in tamper
    assert "rlimits" in tamper and "/sys/fs/cgroup" in tamper
    assert any("/etc/passwd" in i.detail for i in result.incidents if i.kind == "write_outside_workdir")
    assert result.timed_out and result.wall_time_s < 4


def test_leaking_file_descriptors_stops_at_the_open_file_limit(run_hostile):
    result, workdir = run_hostile("fd_leak", wall_time_s=30, open_files=64)
    assert "open_files" in _kinds(result, "output") and result.exit_code == 1
    assert len(list((workdir / "logs").iterdir())) < 64


def test_spinning_forever_stops_at_the_cpu_time_limit(run_hostile):
    result, _ = run_hostile("cpu_burn", wall_time_s=30, cpu_time_s=1)
    cpu = [i for i in result.incidents if i.kind == "cpu_time"]
    assert cpu and cpu[0].source == "kernel" and cpu[0].fatal
    assert not result.timed_out and result.signal == 24  # SIGXCPU, well before the wall-time limit


def _bare_and_sandboxed(run_hostile, tmp_path, *flags):
    bare = tmp_path / "bare"
    bare.mkdir()
    script = Path(__file__).parent / "hostile" / "train_ok.py"
    subprocess.run([sys.executable, str(script), "run_0", *flags], cwd=bare, check=True, capture_output=True,
                   timeout=300)
    result, workdir = run_hostile("train_ok", "run_0", *flags, wall_time_s=300)
    assert result.ok and result.sandboxed and result.incidents == [] and result.warnings == []
    assert "final loss" in result.stdout_tail
    ours, theirs = workdir / "run_0", bare / "run_0"
    assert sorted(p.name for p in ours.iterdir()) == sorted(p.name for p in theirs.iterdir())
    for produced in theirs.iterdir():  # byte for byte: the same results, the same files
        assert (ours / produced.name).read_bytes() == produced.read_bytes(), produced.name
    return result


def test_a_normal_numpy_experiment_runs_and_produces_the_same_outputs(run_hostile, tmp_path):
    result = _bare_and_sandboxed(run_hostile, tmp_path, "--numpy-only")
    assert result.exit_code == 0 and result.peak_memory_mb is not None and result.peak_memory_mb > 0


@pytest.mark.slow
def test_a_normal_torch_experiment_runs_and_produces_the_same_outputs(run_hostile, tmp_path):
    _bare_and_sandboxed(run_hostile, tmp_path)
